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

from sqlalchemy import DateTime, Integer, String, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

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


def compute_hash(seq: int, prev_hash: str, payload: dict) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(f"{seq}|{prev_hash}|{canonical}".encode()).hexdigest()


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
def _append_statements(model: type[ChainedMixin], dialect: str) -> tuple:
    """(lock, insert, move) of `append_values`, built once per chained table and dialect. On
    PostgreSQL the insert and the move of the head are one statement (a data-modifying CTE)."""
    table = model.__table__
    lock = (update(HEADS).where(HEADS.c.name == model.CHAIN_NAME).values(seq=HEADS.c.seq)
            .returning(HEADS.c.seq, HEADS.c.last_hash))
    columns = [c.name for c in table.columns if c.name != "id"]
    insert = table.insert().values({name: bindparam(name) for name in columns}).returning(table.c.id)
    move = (update(HEADS).where(HEADS.c.name == model.CHAIN_NAME)
            .values(seq=bindparam("seq"), last_hash=bindparam("row_hash")))
    if dialect == "postgresql":
        inserted = insert.cte("inserted")
        return lock, None, move.returning(select(inserted.c.id).scalar_subquery()).add_cte(inserted)
    return lock, insert, move


def append_values(model: type[ChainedMixin], values: dict) -> int:
    """`append` for a row given as column values, with prebuilt Core statements (no ORM object,
    no unit of work: for the hot paths, e.g. each CDAP consultation). Same lock, same hash: lock
    the head, insert the row, move the head (the last two in one statement on PostgreSQL).
    Returns the new row's id; the caller commits."""
    conn = db.session.connection()
    lock, insert, move = _append_statements(model, conn.dialect.name)
    found = conn.execute(lock).first()
    if found is None:  # first row of the chain: create its head (race handled there)
        found = _lock_head_row(model.CHAIN_NAME)
    seq, last_hash = found[0], found[1]
    row = {c.name: None for c in model.__table__.columns if c.name != "id"}
    row.update(values, seq=seq + 1, prev_hash=last_hash)
    row["row_hash"] = compute_hash(row["seq"], last_hash, payload_of(model.CHAIN_FIELDS, row))
    if insert is None:
        return conn.execute(move, row).scalar_one()
    row_id = conn.execute(insert, row).scalar_one()
    conn.execute(move, row)
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
