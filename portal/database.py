"""Engine tuning per backend, and bulk loading within a transaction."""
import sqlite3
import time
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from typing import Callable, Iterator, TypeVar

import psycopg
from flask import current_app, has_request_context, request
from sqlalchemy import event, literal, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError, IntegrityError, SQLAlchemyError

T = TypeVar("T")

# SQLite: how long a transaction waits for the write lock. Well above the final transaction of a
# large EDI file (250,000 LOYERS: 1.3-2.8 s, 7.3 s at worst on a loaded machine, bench/README.md)
# and under gunicorn's 30 s worker timeout, so that a request waits rather than fails.
SQLITE_BUSY_TIMEOUT_MS = 25_000


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# A pooled connection idle for longer than this is tested before it is lent (`_ping_when_idle`).
PING_AFTER_IDLE_SECONDS = 1.0

# SQLite: databases ATTACHed for the work of one transaction carry this prefix; they are
# detached when their connection goes back to the pool (edi.intake.sqlite_lot).
ATTACHED_PREFIX = "lot_"

_main_database_read_only: ContextVar[bool] = ContextVar("main_database_read_only", default=False)


@contextmanager
def main_database_read_only() -> Iterator[None]:
    """SQLite: transactions begun in this block open with a plain BEGIN, even in the worker: they
    only read the main database and write to an ATTACHed file of their own (EDI staging), which
    takes no lock on the main database. Another process may write meanwhile."""
    token = _main_database_read_only.set(True)
    try:
        yield
    finally:
        _main_database_read_only.reset(token)


def _ping_when_idle(engine: Engine) -> None:
    """Test a pooled connection before lending it only when it has been idle for more than
    PING_AFTER_IDLE_SECONDS; a dead one is replaced (the pool tries a new connection when the
    checkout raises DisconnectionError: SQLAlchemy's documented pessimistic recipe).

    `pool_pre_ping` did the same at every checkout: one more round trip to PostgreSQL on every
    request, page or API, that the bare anchor of #22 does not make. A connection lent again
    within the second is the busy case, where that round trip costs most and the connection
    was just seen working; after a PostgreSQL restart (seconds) the connections have been idle
    longer than that and are tested. A request already in flight when PostgreSQL stops fails
    either way, and its disconnect error makes the pool drop its other connections."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record):
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, _proxy):
        idle_since = record.info.get("idle_since")  # none: a connection just opened
        if idle_since is None or time.monotonic() - idle_since <= PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(f"connexion inutilisable après {time.monotonic() - idle_since:.0f} s") from exc


def configure_engine_events(engine: Engine, *, immediate: bool = False) -> None:
    """Every backend: a pooled connection idle for a while is tested before use
    (`_ping_when_idle`). PostgreSQL: read-only pages keep their prepared statements
    (`_keep_prepared_statements`). SQLite: WAL, foreign keys, busy timeout (25 s), on every
    connection of the engine.

    Which transactions open with BEGIN IMMEDIATE (issue #18, docs/operations.md):
    - the Celery worker's (`immediate`) and those of a web request that may write (POST, PUT,
      PATCH, DELETE: logins, consultations, drafts). Such a transaction reads, then writes; opened
      with a plain BEGIN, its write fails at once with "database is locked" if another process
      wrote in between (SQLite refuses the upgrade of a stale snapshot without waiting). Opened
      IMMEDIATE it takes the write lock first, waiting its turn up to the busy timeout;
    - nor those begun in `main_database_read_only()` (EDI staging of a large file);
    - not those of a GET, HEAD or OPTIONS request nor of a script or test process: in WAL mode
      they read without any lock. Taking the write lock for a read made every page, and every
      poll of a job's state, compete with the worker for SQLite's only write lock; under load
      the worker's claim starved past its time limit (tests/edi/test_reliability_hosts.py, the
      reverted merge 8637ce9). Their only writes are best-effort bookkeeping
      (`best_effort`), which may be dropped."""
    _ping_when_idle(engine)
    if engine.dialect.name == "postgresql":
        _keep_prepared_statements(engine)
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn, _record):
        # Let SQLAlchemy, not pysqlite, emit BEGIN (so SAVEPOINTs work), and use WAL so the
        # web app and the worker can read while the other writes.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(conn):
        write = (immediate or _request_may_write()) and not _main_database_read_only.get()
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    @event.listens_for(engine, "checkin")
    def _sqlite_detach(dbapi_conn, _record):
        if dbapi_conn is None:
            return
        with suppress(sqlite3.Error):  # a broken connection is discarded by the pool anyway
            for _seq, name, _file in dbapi_conn.execute("PRAGMA database_list").fetchall():
                if name.startswith(ATTACHED_PREFIX):
                    dbapi_conn.execute(f'DETACH DATABASE "{name}"')


def _keep_prepared_statements(engine: Engine) -> None:
    """PostgreSQL: a page that only read ends its transaction with COMMIT, not ROLLBACK.

    psycopg forgets every prepared statement of a connection at each ROLLBACK (DDL may have been
    undone). Flask-SQLAlchemy ends every request that did not commit with one, so each read-only
    page (most GETs) threw away the connection's prepared statements, and the statements of the
    next requests were planned again: ≈ 0.7 ms of PostgreSQL CPU for the session statement alone
    (#22, bench/README.md). For a transaction of a GET, HEAD or OPTIONS request that sent only
    SELECTs, COMMIT and ROLLBACK do the same; anything else (a write, a SAVEPOINT, a failed
    statement, a COPY outside a request) still rolls back."""

    @event.listens_for(engine, "begin")
    def _reads_only_so_far(conn):
        conn.info["reads_only"] = _request_reads_only()

    @event.listens_for(engine, "before_cursor_execute")
    def _note_writes(conn, _cursor, statement, *_args):
        if not statement.startswith("SELECT"):
            conn.info["reads_only"] = False

    @event.listens_for(engine, "rollback")
    def _commit_what_only_read(conn):
        raw = conn.connection.driver_connection
        if (conn.info.pop("reads_only", False) and raw is not None
                and raw.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS):
            raw.commit()  # the ROLLBACK that follows finds no transaction and sends nothing


def _request_reads_only() -> bool:
    return has_request_context() and request.method in SAFE_METHODS


def _request_may_write() -> bool:
    return has_request_context() and request.method not in SAFE_METHODS


def best_effort(what: str, write: Callable[[], None]) -> bool:
    """Bookkeeping that must never fail a request (a token's "last used" or a session's "last
    seen" stamp): `write` changes the session, which is committed at once. If the database
    refuses ("database is locked" on SQLite, a lock or statement timeout on PostgreSQL), the
    failure is logged and swallowed: the session is rolled back (call this before the request's
    own changes) and the request goes on without the stamp. True if it was written."""
    from .extensions import db
    try:
        write()
        db.session.commit()
        return True
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.warning("écriture annexe abandonnée : %s", what, exc_info=True)
        return False


def copy_rows(table: str, columns: tuple[str, ...], types: tuple[str, ...], rows) -> None:
    """Bulk-load `rows` (tuples in `columns` order) into `table` within the current session's
    transaction: binary COPY on PostgreSQL (`types` are the PostgreSQL type names; a list
    parameter or executemany costs several times its client CPU), executemany elsewhere."""
    from .extensions import db
    conn = db.session.connection()
    names = ", ".join(columns)
    if conn.dialect.name == "postgresql":
        with conn.connection.driver_connection.cursor() as cur:
            with cur.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(list(types))
                for row in rows:
                    copy.write_row(row)
        return
    rows = list(rows)
    if rows:
        conn.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' for _ in columns)})", rows)


def unless_unique_violation(attempt: Callable[[], T]) -> tuple[bool, T | None]:
    """Run `attempt` in a savepoint of the session's connection (a savepoint, not a commit:
    the caller's transaction goes on). (True, its result), or (False, None) when it broke a
    unique index: the savepoint is rolled back and the caller takes its general, slower way.
    For bulk fast paths whose common case has no conflict (a plain INSERT or COPY where the
    general way needs ON CONFLICT or a second copy). Any other error propagates."""
    from .extensions import db
    conn = db.session.connection()
    try:
        with conn.begin_nested():
            return True, attempt()
    except psycopg.errors.UniqueViolation:  # raised as is by a driver-level COPY
        return False, None
    except IntegrityError as exc:  # wrapped by SQLAlchemy around a statement
        if isinstance(exc.orig, psycopg.errors.UniqueViolation):
            return False, None
        raise


def one_row():
    """A select of exactly one row, to outer-join what may be missing (a file, a counter) or
    to condition a write on: its columns say nothing, only its row counts."""
    return select(literal(1).label("one")).subquery("one_row")


def insert_ignore(model):
    """INSERT … ON CONFLICT DO NOTHING on both backends: a concurrent or replayed insert of a
    row that exists already is skipped instead of failing (EDI records, import, the CDAP usage
    counter's creation, token suspensions)."""
    from sqlalchemy import insert
    from sqlalchemy.dialects import postgresql, sqlite

    from .extensions import db
    table = model.__table__
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    return insert(table)
