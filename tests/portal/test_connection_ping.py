"""Pooled connections are tested before use only after a pause (portal.database._ping_when_idle):
no round trip for a connection lent again at once (every busy request), and a connection that
died meanwhile (PostgreSQL restarted) is replaced before anyone uses it."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from portal import database
from portal.extensions import db


def test_a_connection_lent_again_at_once_is_not_tested_and_an_idle_one_is(tmp_path, monkeypatch):
    engine = create_engine(f"sqlite:///{tmp_path / 'ping.db'}")
    database.configure_engine_events(engine)
    pings = []
    monkeypatch.setattr(engine.dialect, "do_ping", lambda dbapi_connection: pings.append(1) or True)
    for _ in range(3):  # a new connection, then the same one lent again at once
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    assert pings == []
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.0)  # as if idle for a while
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    assert pings == [1]
    engine.dispose()


@pytest.mark.committed
def test_a_connection_killed_while_idle_is_replaced_before_use(live_app, monkeypatch):
    with live_app.app_context():
        engine = db.engine
        if engine.dialect.name != "postgresql":
            pytest.skip("a server that can lose its connections: PostgreSQL")
        first, second = engine.connect(), engine.connect()
        victim = first.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        first.close()
        assert second.exec_driver_sql(f"SELECT pg_terminate_backend({int(victim)})").scalar() is True
        second.close()
        monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.0)  # both idle « for a while »
        pids = set()
        for _ in range(2):
            conns = [engine.connect(), engine.connect()]
            for conn in conns:
                pids.add(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar())
            for conn in conns:
                conn.close()
        assert victim not in pids
