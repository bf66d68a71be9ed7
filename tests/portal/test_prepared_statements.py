"""PostgreSQL: a read-only page keeps its connection's prepared statements (#22).

psycopg forgets them at every ROLLBACK; a GET that only read now ends with COMMIT, so the next
requests do not plan their statements again. Anything that wrote still rolls back."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from portal.extensions import db
from portal.models import Organisation

pytestmark = pytest.mark.committed


@pytest.fixture
def pg_app(live_app):
    with live_app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("comportement propre à psycopg (PostgreSQL)")
    return live_app


def _requests(app, method: str, times: int = 7, write: bool = False) -> int:
    """`times` requests that each run the same SELECT (and an INSERT when `write`), ended as
    Flask-SQLAlchemy ends them (rollback); returns the prepared statements left afterwards."""
    for _ in range(times):
        with app.test_request_context("/", method=method):
            db.session.execute(select(Organisation.id).where(Organisation.id == 1)).all()
            if write:
                db.session.add(Organisation(nom="Jamais écrite", kind="association"))
                db.session.flush()
            db.session.remove()
    with app.app_context():
        try:
            return db.session.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar()
        finally:
            db.session.remove()


def test_read_only_get_requests_keep_prepared_statements(pg_app):
    assert _requests(pg_app, "GET") >= 1


def test_requests_that_may_write_still_roll_back(pg_app):
    assert _requests(pg_app, "POST") == 0  # the same reads under a POST: rolled back, forgotten


def test_a_get_that_wrote_is_rolled_back_not_committed(pg_app):
    _requests(pg_app, "GET", times=2, write=True)
    with pg_app.app_context():
        left = db.session.scalar(select(func.count()).where(Organisation.nom == "Jamais écrite"))
        db.session.remove()
    assert left == 0
