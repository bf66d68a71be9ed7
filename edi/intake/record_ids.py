"""Record identifiers already met in the file being applied: a later occurrence is rejected.

The identifiers of a file are kept in a temporary table of the applying transaction, not in
the worker's memory (a million identifiers took ~90 MB of Python objects, and the worker's memory
must not grow with the file). On PostgreSQL a batch of new identifiers costs one copy into that
table; otherwise (SQLite, or a batch repeating one) one copy into a batch table and one
set-based insert, plus a statement finding the repeated ones when there are some. PostgreSQL
does that work on its own core while the next batch is read.
"""
from __future__ import annotations

from sqlalchemy import text

from portal.database import copy_rows, unless_unique_violation
from portal.extensions import db

SEEN = "edi_identifiants_vus"
BATCH = "edi_identifiants_lot"
PAIR_COLUMNS, PAIR_TYPES = ("rang", "identifiant"), ("int4", "varchar")


class SeenIdentifiers:
    """`repeated(pairs)` -> ranks whose identifier appeared at a lower rank of the same file
    (in this batch or an earlier one). Works in the current session's transaction."""

    def __init__(self, schema: str | None = None) -> None:
        """`schema`: an attached SQLite database whose tables outlive the transaction (the
        staging file of edi.intake.sqlite_lot); temporary tables otherwise."""
        conn = db.session.connection()
        self.postgresql = conn.dialect.name == "postgresql"
        temp = "TEMPORARY TABLE IF NOT EXISTS" if schema is None else "TABLE IF NOT EXISTS"
        drop = " ON COMMIT DROP" if self.postgresql else ""
        self.seen_table = SEEN if schema is None else f"{schema}.{SEEN}"
        self.batch_table = BATCH if schema is None else f"{schema}.{BATCH}"
        # PostgreSQL: byte order for the identifiers' primary key. Only equality matters here,
        # and the database's collation (strcoll) cost a fifth of this table's insertions.
        text_type = 'VARCHAR COLLATE "C"' if self.postgresql else "VARCHAR"
        conn.execute(text(f"CREATE {temp} {self.seen_table} (identifiant {text_type} PRIMARY KEY, rang INTEGER NOT NULL){drop}"))
        conn.execute(text(f"CREATE {temp} {self.batch_table} (rang INTEGER NOT NULL, identifiant {text_type} NOT NULL){drop}"))
        conn.execute(text(f"DELETE FROM {self.seen_table}"))  # a table kept from an earlier file of this transaction

    def all_new_in(self, loaded: dict[str, str]) -> bool:
        """PostgreSQL: the identifiers of a batch already in a table of the transaction
        (`loaded`: its `table` and its `identifiant` and `rang` columns) added in one
        INSERT ... SELECT, in a savepoint; False (nothing added) when one of them was met before
        or repeats in the batch: the caller then gives `repeated` the batch's pairs."""
        statement = text(f"INSERT INTO {self.seen_table} (identifiant, rang) "
                         f"SELECT {loaded['identifiant']}, {loaded['rang']} FROM {loaded['table']}")
        conn = db.session.connection()
        added, _none = unless_unique_violation(lambda: conn.execute(statement))
        return added

    def repeated(self, pairs: list[tuple[int, str]], try_copy: bool = True) -> set[int]:
        """`try_copy=False`: the batch is already known to repeat an identifier (all_new_in
        said so); the copy that only succeeds without one is not tried."""
        conn = db.session.connection()
        if self.postgresql and try_copy and self._all_new(pairs):
            return set()
        # TRUNCATE on PostgreSQL: a DELETE would leave the dead rows of every earlier batch.
        seen, batch = self.seen_table, self.batch_table
        conn.execute(text(f"{'TRUNCATE' if self.postgresql else 'DELETE FROM'} {batch}"))
        copy_rows(batch, PAIR_COLUMNS, PAIR_TYPES, pairs)
        if self.postgresql:
            added = conn.execute(text(
                f"INSERT INTO {seen} (identifiant, rang) SELECT identifiant, rang FROM {batch} "
                "ORDER BY rang ON CONFLICT (identifiant) DO NOTHING")).rowcount
        else:
            added = conn.execute(text(f"INSERT OR IGNORE INTO {seen} (identifiant, rang) "
                                      f"SELECT identifiant, rang FROM {batch} ORDER BY rang")).rowcount
        if added == len(pairs):  # the common case: every identifier is new
            return set()
        # One index probe per row of the batch (a join could scan the whole file's table for
        # every batch: temporary tables have no statistics).
        return set(conn.execute(text(
            f"SELECT b.rang FROM {batch} b WHERE (SELECT s.rang FROM {seen} s "
            "WHERE s.identifiant = b.identifiant) <> b.rang")).scalars())

    def _all_new(self, pairs: list[tuple[int, str]]) -> bool:
        """The common case on PostgreSQL: the batch copied straight into the table of seen
        identifiers, in a savepoint. A repeated identifier breaks its primary key; the savepoint
        is then rolled back and the batch goes the general way. (Half the server time of the
        general way, which copies the batch twice.)"""
        copied, _none = unless_unique_violation(lambda: copy_rows(SEEN, PAIR_COLUMNS, PAIR_TYPES, pairs))
        return copied
