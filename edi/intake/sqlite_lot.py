"""SQLite (`make run`): the staging database of one LOYERS file, so that applying it holds
SQLite's only write lock for a bounded number of statements (issue #18, docs/operations.md).

While the file is read, each checked batch goes into a database file of its own, ATTACHed to
the session's connection: the rows to apply with their dwelling already found (CDAP's staging
table), the records with anomalies as edi_enregistrements will hold them, the pairs found
unknown, the identifiers met. Those transactions only *read* the main database (plain BEGIN,
`portal.database.main_database_read_only`): no lock on it. The final transaction then checks
that nothing it depends on changed (`stale`) and copies the staged rows with two INSERT ...
SELECT. The attachment lasts one checkout of a pooled connection (detached when it goes back,
portal.database), so each transaction attaches the file again (`attach`, cheap).

A worker killed meanwhile leaves only this file, removed when the file is processed again.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from portal.database import ATTACHED_PREFIX
from portal.extensions import db

from .. import adapters
from .record_ids import BATCH, SEEN
from .staging import STAGING, staged_columns


def lots_dir() -> Path:
    """Next to the database file, one directory per database: files are named by the EDI
    file's id, which another database (tests, a second instance) also has."""
    database = db.engine.url.database
    if not database or database == ":memory:":
        path = Path(tempfile.gettempdir()) / f"extranet-edi-lots-{os.getpid()}"
    else:
        database = Path(database).resolve()
        path = database.parent / f"{database.name}.edi-lots"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


class SqliteLot:
    def __init__(self, fichier_id: int):
        self.alias = f"{ATTACHED_PREFIX}{int(fichier_id)}"
        self.prefix = f"fichier-{int(fichier_id)}-"
        self.directory = lots_dir()
        fd, name = tempfile.mkstemp(prefix=self.prefix, suffix=".sqlite", dir=self.directory)
        os.close(fd)
        self.path = name
        self.loyers = f"{self.alias}.loyers"          # CDAP's staging table
        self.inconnus = f"{self.alias}.inconnus"      # pairs found unknown: (code, numero)
        self.records = f"{self.alias}.enregistrements"  # edi_enregistrements to be
        self.columns = staged_columns("LOYERS")

    def attach(self) -> None:
        """Attach the file to the session's connection (in its transaction, begun if need be)."""
        conn = db.session.connection()
        for _seq, name, file in conn.exec_driver_sql("PRAGMA database_list").all():
            if name != self.alias:
                continue
            if os.path.realpath(file or "") == os.path.realpath(self.path):
                return
            # Left attached by an earlier attempt, inside a transaction that encloses both (the
            # tests' harness): it cannot be detached before that ends, so it is reused.
            Path(self.path).unlink(missing_ok=True)
            self.path = file
            return
        conn.exec_driver_sql(f"ATTACH DATABASE ? AS {self.alias}", (self.path,))

    def create(self) -> None:
        """The empty tables of a new attempt (in the attached file), and the files of an earlier
        attempt at this file removed (a killed worker's)."""
        mine = {os.path.realpath(self.path), os.path.realpath(self.path) + "-journal"}
        for old in self.directory.glob(self.prefix + "*"):
            if os.path.realpath(old) not in mine:
                old.unlink(missing_ok=True)
        conn = db.session.connection()
        adapters.create_loyers_stage(self.loyers)
        for table in (self.inconnus, self.records, f"{self.alias}.{SEEN}", f"{self.alias}.{BATCH}"):
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
        conn.exec_driver_sql(f"CREATE TABLE {self.inconnus} (code TEXT, numero TEXT)")
        conn.exec_driver_sql(f"CREATE TABLE {self.records} AS SELECT {', '.join(self.columns)} "
                             f"FROM main.{STAGING.name} WHERE 0")

    def add_unknown(self, pairs: list[tuple]) -> None:
        if pairs:
            db.session.connection().exec_driver_sql(
                f"INSERT INTO {self.inconnus} (code, numero) VALUES (?, ?)", pairs)

    def copy_records(self) -> None:
        """The staged records with anomalies into edi_enregistrements (one statement)."""
        names = ", ".join(self.columns)
        db.session.connection().exec_driver_sql(
            f"INSERT INTO main.{STAGING.name} ({names}) SELECT {names} FROM {self.records} "
            "WHERE true ORDER BY rowid")

    def close(self) -> None:
        for suffix in ("", "-journal"):
            Path(self.path + suffix).unlink(missing_ok=True)
