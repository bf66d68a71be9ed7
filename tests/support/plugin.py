"""Pytest plugin: the app, a database migrated once per session, one rolled-back
transaction per test, a client, sign-in helpers and small factories.

Database: TEST_DATABASE_URL if set (PostgreSQL in CI), else a SQLite file in a temp dir.
Broker for worker tests: TEST_CELERY_BROKER_URL if set (Redis in CI), else embedded sqla+sqlite.
"""
from __future__ import annotations

import os
import tempfile
import zlib
from pathlib import Path

import pytest
from flask.globals import _cv_app
from flask.testing import FlaskClient
from flask_sqlalchemy.session import Session as FsaSession
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy import text

# Property tests assert behaviour, never speed (speed lives in bench/): no per-example deadline,
# which a loaded CI machine overran once (Hypothesis' default is 200 ms per example).
hypothesis_settings.register_profile("portal", deadline=None,
                                     suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.load_profile("portal")

TMP = Path(tempfile.mkdtemp(prefix="ep-tests-"))


def test_database_url(name: str = "main") -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        base, main_db = url.rsplit("/", 1)
        return url if name == "main" else f"{base}/{main_db}_{name}"
    return f"sqlite:///{TMP / (name + '.sqlite')}"


# Each test app gets its own Redis database, so fixtures that flush or drain their broker never
# touch another's messages (the worker and browser suites run side by side with the main one).
_REDIS_DB_OFFSETS = {"main": 0, "worker": 1, "browser": 2}


def test_broker_url(name: str = "main") -> str:
    url = os.environ.get("TEST_CELERY_BROKER_URL")
    if not url:
        return f"sqla+sqlite:///{TMP / (name + '-broker.sqlite')}"
    if url.startswith(("redis://", "rediss://")) and name != "main":
        base, _, number = url.rpartition("/")
        offset = _REDIS_DB_OFFSETS.get(name, 3 + zlib.crc32(name.encode()) % 10)
        return f"{base}/{((int(number) if number.isdigit() else 0) + offset) % 16}"
    return url


def app_overrides(name: str = "main", **extra) -> dict:
    var = TMP / name
    var.mkdir(parents=True, exist_ok=True)
    return {
        "PORTAL_ENV": "testing",
        "PORTAL_VAR_DIR": str(var),
        "STORAGE_DIR": str(var / "storage"),
        "OUTBOX_DIR": str(var / "outbox"),
        "SECRET_KEY": "tests-" + "x" * 40,
        "DATABASE_URL": test_database_url(name),
        "CELERY_BROKER_URL": test_broker_url(name),
        "RATELIMIT_ENABLED": "0",
        "PASSWORD_HASH_PROFILE": "fast",  # Argon2id with the cheapest parameters (tests only)
        "JOB_DISPATCH": "manual",
        # The night rule depends on the wall clock: off in the suite (a run at 23:00 Paris would
        # add "nuit" alerts to every burst test); tests/cdap/test_journal_oversight.py checks it
        # with an explicit `now`.
        "CDAP_NIGHT_ALERT": "99999",
        "CDAP_NIGHT_SUSPEND": "100000",
        **extra,
    }


def reset_database(app) -> None:
    """Drop everything and apply every migration: the tests run on the migrated schema."""
    from flask_migrate import upgrade
    from portal.extensions import db
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        else:
            db.engine.dispose()
            path = Path(db.engine.url.database)
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
        upgrade(revision="heads")
        db.engine.dispose()


def ensure_postgres_database(url: str) -> None:
    """Create a secondary PostgreSQL database (for worker tests) if it does not exist."""
    if not url.startswith("postgresql"):
        return
    from sqlalchemy import create_engine
    base, name = url.rsplit("/", 1)
    admin_url = base.replace("postgresql://", "postgresql+psycopg://") + "/postgres"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


class ConnectionBoundSession(FsaSession):
    """Flask-SQLAlchemy's Session picks the engine itself; tests bind it to one connection."""

    def get_bind(self, *args, **kwargs):
        return self.bind


@pytest.fixture(scope="session")
def app():
    """The suite's app; its pool is closed at the end so no open connection is left to the
    garbage collector (psycopg warns about those, and warnings are errors)."""
    from portal import create_app
    from portal.extensions import db
    application = create_app(app_overrides("main"))
    reset_database(application)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _db_transaction(request, app):
    """Each test runs inside a transaction rolled back at the end (SAVEPOINTs for commits)."""
    if any(request.node.get_closest_marker(name) for name in ("worker", "committed", "browser")):
        yield None
        return
    from portal.extensions import db
    ctx = app.app_context()
    ctx.push()
    connection = db.engine.connect()
    transaction = connection.begin()
    original = db.session
    db.session = db._make_scoped_session(
        {"bind": connection, "binds": {}, "join_transaction_mode": "create_savepoint",
         "class_": ConnectionBoundSession}
    )
    try:
        yield db.session
    finally:
        db.session.remove()
        db.session = original
        if transaction.is_active:
            transaction.rollback()
        connection.close()
        ctx.pop()


class IsolatedClient(FlaskClient):
    """Each request gets its own app context (own `g`, own scoped session on the test's
    connection), as in production, even though the test body keeps one pushed."""

    def open(self, *args, **kwargs):
        token = _cv_app.set(None)
        try:
            return super().open(*args, **kwargs)
        finally:
            _cv_app.reset(token)


@pytest.fixture
def client(app):
    app.test_client_class = IsolatedClient
    return app.test_client()


@pytest.fixture
def factory(app):
    from tests.support import factories
    return factories


@pytest.fixture
def login(client):
    """login(user, mfa=True): open a real server-side session for `user` on `client`."""
    from tests.support.factories import sign_in

    def _login(user, mfa: bool = True, on=None):
        return sign_in(on or client, user, mfa=mfa)

    return _login


@pytest.fixture
def run_jobs(app):
    """Run every pending job in-process (unit tests; worker tests use a real worker)."""
    from portal import jobs
    from portal.extensions import db
    from sqlalchemy import select

    def _run(kind: str | None = None) -> list[str]:
        outcomes = []
        for _ in range(100):
            query = select(jobs.Job.id).where(jobs.Job.status == jobs.PENDING).order_by(jobs.Job.id)
            if kind:
                query = query.where(jobs.Job.kind == kind)
            ids = db.session.scalars(query).all()
            if not ids:
                break
            for job_id in ids:
                outcomes.append(jobs.run(job_id))
        return outcomes

    return _run


@pytest.fixture
def api_client(client):
    """api_client(token_raw) -> a wrapper adding the Bearer header."""
    class _Api:
        def __init__(self, raw):
            self.headers = {"Authorization": f"Bearer {raw}"}

        def __getattr__(self, method):
            fn = getattr(client, method)

            def call(*args, headers=None, **kwargs):
                return fn(*args, headers={**self.headers, **(headers or {})}, **kwargs)
            return call

    return _Api



def committed_app(name: str):
    """An app on a freshly migrated database of its own (tests marked `committed`): yields it,
    then closes its connections, and collects those its request threads left (psycopg would
    warn about them in a later test)."""
    import gc
    import warnings

    from portal import create_app
    from portal.extensions import db
    url = test_database_url(name)
    ensure_postgres_database(url)
    application = create_app(app_overrides(name, DATABASE_URL=url))
    reset_database(application)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
