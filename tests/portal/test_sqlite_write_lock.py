"""SQLite (`make run`): which transactions take the only write lock at BEGIN (issue #18).

A web request that may write (POST...) and the worker take it at once (BEGIN IMMEDIATE), so
that their write cannot be refused for a stale snapshot. A GET, a script or a test process
reads without it: taking it for reads made the pages and every poll of a job's state compete
with the worker, whose claim then starved past its time limit (the reverted merge 8637ce9,
tests/edi/test_reliability_hosts.py)."""
from __future__ import annotations

import sqlite3

import pytest
from flask import Flask
from sqlalchemy import create_engine, text

from portal.database import configure_engine_events


@pytest.fixture
def engine_and_path(tmp_path):
    path = tmp_path / "verrou.sqlite"
    engine = create_engine(f"sqlite:///{path}")
    configure_engine_events(engine)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    yield engine, path
    engine.dispose()


def other_writer_can_begin(path) -> bool:
    """Another process's writer, not waiting: does it get the write lock now?"""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return False
    finally:
        other.close()


@pytest.mark.parametrize("method, writer_waits", [
    ("GET", False), ("HEAD", False), ("POST", True), ("PUT", True), ("DELETE", True)])
def test_a_request_takes_the_write_lock_only_if_it_may_write(engine_and_path, method, writer_waits):
    engine, path = engine_and_path
    with Flask(__name__).test_request_context("/", method=method), engine.connect() as conn:
        conn.execute(text("SELECT count(*) FROM t")).scalar()  # the transaction has begun
        assert other_writer_can_begin(path) is not writer_waits
        conn.rollback()
    assert other_writer_can_begin(path)


def test_outside_a_request_reads_take_no_write_lock_unless_immediate(engine_and_path, tmp_path):
    engine, path = engine_and_path
    with engine.connect() as conn:  # a script, the tests' polling of a job
        conn.execute(text("SELECT count(*) FROM t")).scalar()
        assert other_writer_can_begin(path)
    worker = create_engine(f"sqlite:///{path}")
    configure_engine_events(worker, immediate=True)  # the Celery worker
    try:
        with worker.connect() as conn:
            conn.execute(text("SELECT count(*) FROM t")).scalar()
            assert not other_writer_can_begin(path)
    finally:
        worker.dispose()


def test_the_worker_reads_without_the_write_lock_in_main_database_read_only(engine_and_path):
    """The staging of a large EDI file (edi.intake.sqlite_lot): the worker's transactions that
    only read the main database and write to an attached file leave the write lock to others."""
    from portal.database import main_database_read_only
    _engine, path = engine_and_path
    worker = create_engine(f"sqlite:///{path}")
    configure_engine_events(worker, immediate=True)
    try:
        with main_database_read_only(), worker.connect() as conn:
            conn.execute(text(f"ATTACH DATABASE '{path.parent / 'lot.sqlite'}' AS lot_1"))
            conn.execute(text("CREATE TABLE lot_1.s AS SELECT * FROM main.t"))
            conn.execute(text("INSERT INTO lot_1.s SELECT count(*) FROM main.t"))
            assert other_writer_can_begin(path)
            conn.commit()
        with worker.connect() as conn:  # outside the block: BEGIN IMMEDIATE again
            conn.execute(text("SELECT count(*) FROM t")).scalar()
            assert not other_writer_can_begin(path)
    finally:
        worker.dispose()


def test_a_database_attached_for_a_transaction_is_detached_when_its_connection_is_returned(
        engine_and_path):
    engine, path = engine_and_path
    with engine.connect() as conn:
        conn.execute(text(f"ATTACH DATABASE '{path.parent / 'lot.sqlite'}' AS lot_7"))
        conn.execute(text(f"ATTACH DATABASE '{path.parent / 'autre.sqlite'}' AS autre"))
        conn.execute(text("CREATE TABLE lot_7.s (x INTEGER)"))
        conn.commit()
        raw = conn.connection.driver_connection
    names = {row[1] for row in raw.execute("PRAGMA database_list")}
    assert "lot_7" not in names and {"main", "autre"} <= names  # only the staging prefix
