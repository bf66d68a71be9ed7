"""Append-only, hash-chained tables (audit trail, CDAP journal...).

Each chained row carries a per-chain sequence number, the hash of the previous row and its
own hash over (sequence, previous hash, canonical payload). Appends are serialised per chain
by updating the chain's head row first (a row lock on PostgreSQL, the write lock on SQLite),
so concurrent writers never fork the chain. `verify_chain` walks the rows and names the first
one that does not match; a purge moves the chain's anchor so verification still starts clean.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from functools import lru_cache

from sqlalchemy import DateTime, Integer, String, Text, bindparam, cast, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from .database import one_row
from .extensions import db

GENESIS = "0" * 64


class ChainHead(db.Model):
    __tablename__ = "chain_heads"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default=GENESIS)
    # After a purge: the sequence and hash of the last purged row, where verification starts.
    anchor_seq: Mapped[int] = mapped_column(Integer, default=0)
    anchor_hash: Mapped[str] = mapped_column(String(64), default=GENESIS)
    purged_until: Mapped[datetime | None] = mapped_column(DateTime)


class ChainedMixin:
    """Columns every chained row has. Subclasses set CHAIN_NAME and list CHAIN_FIELDS."""
    CHAIN_NAME: str = ""
    CHAIN_FIELDS: tuple[str, ...] = ()

    seq: Mapped[int] = mapped_column(Integer, unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))

    def chain_payload(self) -> dict:
        return payload_of(self.CHAIN_FIELDS, {name: getattr(self, name) for name in self.CHAIN_FIELDS})


def payload_of(fields: tuple[str, ...], values: dict) -> dict:
    """The hashed payload of a row: its chained fields, datetimes as ISO text."""
    out = {}
    for name in fields:
        value = values.get(name)
        if isinstance(value, datetime):
            value = value.isoformat(timespec="microseconds")
        out[name] = value
    return out


def canonical_payload(payload: dict) -> str:
    """The text `compute_hash` hashes after « seq|prev_hash| »."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def hash_of(seq: int, prev_hash: str, canonical: str) -> str:
    """SHA-256 of « seq|prev_hash|canonical » (the PostgreSQL append computes the same in SQL)."""
    return hashlib.sha256(f"{seq}|{prev_hash}|{canonical}".encode()).hexdigest()


def compute_hash(seq: int, prev_hash: str, payload: dict) -> str:
    return hash_of(seq, prev_hash, canonical_payload(payload))


HEADS = ChainHead.__table__


def _lock_head_row(name: str) -> tuple[int, str]:
    """Take the chain's lock by writing to its head row (creating the head on first use) and
    return its (seq, last_hash), in one round trip once the head exists."""
    session = db.session
    lock = (update(HEADS).where(HEADS.c.name == name).values(seq=HEADS.c.seq)
            .returning(HEADS.c.seq, HEADS.c.last_hash))
    found = session.execute(lock).first()
    if found is None:
        try:
            with session.begin_nested():
                session.execute(HEADS.insert().values(name=name, seq=0, last_hash=GENESIS, anchor_seq=0,
                                                      anchor_hash=GENESIS))
        except IntegrityError:
            pass  # a concurrent first append created the head; the UPDATE below waits for its lock
        found = session.execute(lock).one()
    return found[0], found[1]


def _lock_head(name: str) -> ChainHead:
    _lock_head_row(name)
    return db.session.get(ChainHead, name, populate_existing=True)


def append(row: ChainedMixin) -> ChainedMixin:
    """Add `row` to its chain within the current transaction; the caller commits."""
    seq, last_hash = _lock_head_row(row.CHAIN_NAME)
    row.seq = seq + 1
    row.prev_hash = last_hash
    row.row_hash = compute_hash(row.seq, row.prev_hash, row.chain_payload())
    db.session.add(row)
    db.session.flush()
    db.session.execute(update(HEADS).where(HEADS.c.name == row.CHAIN_NAME)
                       .values(seq=row.seq, last_hash=row.row_hash))
    return row


@lru_cache(maxsize=None)
def _append_statements(model: type[ChainedMixin], dialect: str, also=None) -> tuple:
    """The statements of `append_values`, built once per chained table and dialect.

    PostgreSQL: one statement (data-modifying CTEs) that locks the head row (``FOR UPDATE``:
    after waiting for a concurrent append, it reads the head that append left), inserts the
    row with the next sequence, the head's hash and its own hash computed by PostgreSQL
    (``sha256`` of the same text as `hash_of`, the payload's canonical JSON bound from
    Python), and moves the head; it returns the row's id, or nothing when the chain has no head
    yet. The chain's lock is then held for that statement and the commit only (#22).
    Elsewhere: (lock, insert, move), three statements.

    `also` (see `append_values`): on PostgreSQL its statement is one more data-modifying CTE of
    the same statement, whose source is the inserted row (so it writes nothing when no row was
    appended); elsewhere it is returned fourth, its source a one-row select."""
    table = model.__table__
    columns = [c for c in table.columns if c.name not in ("id", "seq", "prev_hash", "row_hash")]
    if dialect == "postgresql":
        head = (select(HEADS.c.seq, HEADS.c.last_hash).where(HEADS.c.name == model.CHAIN_NAME)
                .with_for_update().cte("head"))
        seq = head.c.seq + 1
        hashed = func.convert_to(cast(seq, Text) + "|" + head.c.last_hash + "|" + bindparam("canonical", type_=Text),
                                 "UTF8")
        # typed parameters (an untyped NULL would be text); strings as text, whose assignment to
        # a varchar(n) column refuses an overlong value as an INSERT … VALUES does
        row = select(*[cast(bindparam(c.name, type_=c.type), Text if isinstance(c.type, String) else c.type)
                       for c in columns], seq, head.c.last_hash,
                     func.encode(func.sha256(hashed), "hex"))
        inserted = (table.insert()
                    .from_select([*(c.name for c in columns), "seq", "prev_hash", "row_hash"], row)
                    .returning(table.c.id, table.c.seq, table.c.row_hash).cte("inserted"))
        # The head's row is found in the statement's snapshot, which may predate the append the
        # lock waited for; PostgreSQL then updates the row's latest version (the one locked) if
        # it still matches. So the join condition must hold on both: not `seq = inserted.seq - 1`,
        # which only the latest meets (the head would not move, the next append reuse the seq).
        move = (update(HEADS).where(HEADS.c.name == model.CHAIN_NAME, HEADS.c.seq < inserted.c.seq)
                .values(seq=inserted.c.seq, last_hash=inserted.c.row_hash).returning(inserted.c.id))
        if also is not None:
            move = move.add_cte(also(inserted, dialect).cte("also"))
        return None, None, move, None
    lock = (update(HEADS).where(HEADS.c.name == model.CHAIN_NAME).values(seq=HEADS.c.seq)
            .returning(HEADS.c.seq, HEADS.c.last_hash))
    insert = (table.insert().values({c.name: bindparam(c.name) for c in table.columns if c.name != "id"})
              .returning(table.c.id))
    move = (update(HEADS).where(HEADS.c.name == model.CHAIN_NAME)
            .values(seq=bindparam("seq"), last_hash=bindparam("row_hash")))
    return lock, insert, move, also(one_row(), dialect) if also is not None else None


def append_values(model: type[ChainedMixin], values: dict, *, also=None, also_params: dict | None = None) -> int:
    """`append` for a row given as column values, with prebuilt Core statements (no ORM object,
    no unit of work: for the hot paths, e.g. each CDAP consultation). Same lock, same hash: one
    statement on PostgreSQL, three elsewhere (`_append_statements`). Returns the new row's id;
    the caller commits.

    `also`: a write that goes with the row (e.g. the CDAP usage counters), given as a function
    of (source, dialect name) that returns a DML statement writing only if `source` has a row,
    with bound parameters `also_params` (named apart from the row's columns); it is called once
    per dialect, its statement kept (so it must be one SQLAlchemy caches). On PostgreSQL it runs
    in the append's own statement, so it costs no round trip (#22) and writes only if the row is
    appended."""
    conn = db.session.connection()
    lock, insert, move, companion = _append_statements(model, conn.dialect.name, also)
    extra = also_params or {}
    row = {c.name: None for c in model.__table__.columns if c.name != "id"}
    row.update(values)
    canonical = canonical_payload(payload_of(model.CHAIN_FIELDS, row))
    if insert is None:
        row_id = conn.execute(move, {**row, **extra, "canonical": canonical}).scalar()
        if row_id is not None:
            return row_id
        _lock_head_row(model.CHAIN_NAME)  # first row of the chain: create its head (race handled there)
        return conn.execute(move, {**row, **extra, "canonical": canonical}).scalar_one()
    found = conn.execute(lock).first()
    if found is None:
        found = _lock_head_row(model.CHAIN_NAME)
    seq, last_hash = found[0], found[1]
    row.update(seq=seq + 1, prev_hash=last_hash)
    row["row_hash"] = hash_of(row["seq"], last_hash, canonical)
    row_id = conn.execute(insert, row).scalar_one()
    conn.execute(move, row)
    if companion is not None:
        conn.execute(companion, extra)
    return row_id


@dataclass
class ChainReport:
    ok: bool
    checked: int
    first_broken_seq: int | None = None
    first_broken_id: int | None = None
    reason: str = ""


def verify_chain(model: type[ChainedMixin], batch: int = 5000) -> ChainReport:
    """Walk the chain in order; report the first row whose link or hash does not match."""
    head = db.session.get(ChainHead, model.CHAIN_NAME, populate_existing=True)
    expected_prev = head.anchor_hash if head else GENESIS
    expected_seq = (head.anchor_seq if head else 0) + 1
    checked = 0
    last_seq = 0
    while True:
        rows = db.session.scalars(
            select(model).where(model.seq >= expected_seq).order_by(model.seq).limit(batch)
        ).all()
        if not rows:
            break
        for row in rows:
            if row.seq != expected_seq:
                return ChainReport(False, checked, expected_seq, row.id, f"ligne manquante avant la séquence {row.seq}")
            if row.prev_hash != expected_prev:
                return ChainReport(False, checked, row.seq, row.id, "chaînage rompu (hash précédent différent)")
            if compute_hash(row.seq, row.prev_hash, row.chain_payload()) != row.row_hash:
                return ChainReport(False, checked, row.seq, row.id, "contenu modifié (hash différent)")
            expected_prev = row.row_hash
            expected_seq += 1
            last_seq = row.seq
            checked += 1
        for row in rows:  # free memory on long chains, without detaching the caller's objects
            db.session.expunge(row)
    if head is not None and head.seq != max(last_seq, head.anchor_seq):
        return ChainReport(False, checked, last_seq + 1, None, "lignes supprimées en fin de chaîne")
    return ChainReport(True, checked)


def purge_before(model: type[ChainedMixin], cutoff: datetime, time_column: str = "at") -> int:
    """Delete rows older than `cutoff` from the start of the chain and move the anchor."""
    column = getattr(model, time_column)
    head = _lock_head(model.CHAIN_NAME)
    last = db.session.scalars(
        select(model).where(column < cutoff).order_by(model.seq.desc()).limit(1)
    ).first()
    if last is None:
        return 0
    count = db.session.query(model).filter(model.seq <= last.seq).delete(synchronize_session=False)
    head.anchor_seq = last.seq
    head.anchor_hash = last.row_hash
    head.purged_until = cutoff
    db.session.flush()
    return count
