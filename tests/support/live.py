"""Real-worker test infrastructure: a freshly migrated database and a broker of their own, and
a REAL `celery -A portal.worker worker` subprocess that a test can SIGKILL and restart.

Use it from a test module (tests/support/plugin.py already exposes these fixtures):

    pytestmark = pytest.mark.worker          # mandatory: no rolled-back transaction here

    def test_something(live_app, celery_worker_process):
        worker = celery_worker_process(modules=["tests.edi.live_handlers"], beat=True)
        with live_app.app_context():
            job = jobs.create_job("edi.process_file", {...}, queue="edi")
            db.session.commit()                 # the message leaves after the commit
            done = wait_for_job(job.id)         # polls the database
        worker.kill()                           # SIGKILL of the whole worker (pool + beat)
        worker.start()

- `live_app` (module scope): the app on `test_database_url("worker")` (SQLite file, or the
  PostgreSQL database `<TEST_DATABASE_URL>_worker`, created if needed), migrated from scratch,
  and on the broker `TEST_CELERY_BROKER_URL` (Redis, flushed) or a fresh embedded sqla+sqlite
  file; JOB_DISPATCH="broker"; a short lease. Override the module-scoped `live_settings`
  fixture in your module to change settings (e.g. `{"JOB_LEASE_SECONDS": "20"}`).
- `celery_worker_process(modules=(), queues=..., beat=False, concurrency=1, env=None, cwd=None)`:
  starts a worker with the same settings (environment variables, plus `env`; in the working
  directory `cwd`, the repository's by default) and waits until it consumes. `modules` are
  imported by the worker (PORTAL_EXTRA_MODULES): put the handlers your test registers there
  (a module of their own, importable as `tests.<domain>.<module>`). Returns a WorkerProcess:
  `.kill()` (SIGKILL), `.stop()` (SIGTERM, warm shutdown), `.start()`, `.restart()`,
  `.log_tail()`. Every worker is stopped at the end of the test.
- `wait_for_job(job_id, statuses=("done", "failed"), timeout=60)`, `reconcile_now(app)`,
  `broker_down(app)` (context manager: publishing goes to a dead broker — a closed port for
  Redis, an unreachable file for the embedded broker — then back to the real one).
"""
from __future__ import annotations

import contextlib

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.plugin import (TMP, app_overrides, ensure_postgres_database, reset_database,
                          test_broker_url, test_database_url)

ROOT = Path(__file__).resolve().parents[2]  # the repository (tests/support/<this file>)
LIVE_NAME = "worker"
DEFAULT_QUEUES = ("default", "edi", "afas", "cdap")


@pytest.fixture(scope="module")
def live_settings() -> dict:
    """Extra settings for the live app and its workers; override in a test module."""
    return {}


@pytest.fixture(scope="module")
def live_app(request, live_settings):
    from portal import create_app
    from portal.extensions import db

    db_url = test_database_url(LIVE_NAME)
    ensure_postgres_database(db_url)
    broker = test_broker_url(LIVE_NAME) if os.environ.get("TEST_CELERY_BROKER_URL") else None
    if not broker:
        broker_dir = TMP / f"broker-{uuid.uuid4().hex[:8]}"
        broker_dir.mkdir(parents=True)
        broker = f"sqla+sqlite:///{broker_dir / 'broker.sqlite'}"
    settings = app_overrides(LIVE_NAME, **{
        "DATABASE_URL": db_url,
        "CELERY_BROKER_URL": broker,
        "JOB_DISPATCH": "broker",
        "JOB_LEASE_SECONDS": "10",
        "JOB_RECONCILE_SECONDS": "1",
        "JOB_RETRY_SECONDS": "0",
        **live_settings,  # a module's settings win, the documented lease override included
    })
    app = create_app(settings)
    app.config["LIVE_SETTINGS"] = {k: str(v) for k, v in settings.items()}
    reset_database(app)
    purge_broker(broker)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def purge_broker(url: str) -> None:
    """Empty the test broker: no message left by an earlier test (e.g. reconciliations that a
    killed worker's beat queued)."""
    if url.startswith(("redis://", "rediss://")):
        import redis
        client = redis.Redis.from_url(url)
        client.flushdb()
        client.close()
    elif url.startswith("sqla+"):
        from sqlalchemy import create_engine, inspect, text
        engine = create_engine(url[len("sqla+"):])
        with engine.begin() as conn:
            if inspect(conn).has_table("kombu_message"):
                conn.execute(text("DELETE FROM kombu_message"))
        engine.dispose()


def _require_worker_marker(request):
    if not request.node.get_closest_marker("worker"):
        pytest.fail("les tests avec un vrai worker portent le marqueur @pytest.mark.worker")


class WorkerProcess:
    """A real Celery worker (prefork pool) in its own process group."""

    def __init__(self, app, *, modules=(), queues=DEFAULT_QUEUES, beat=False, concurrency=1,
                 env=None, cwd=None):
        self.app = app
        self.modules = ["tests.support.live_hooks", *modules]
        self.queues = queues
        self.beat = beat
        self.concurrency = concurrency
        self.extra_env = env or {}
        self.cwd = Path(cwd) if cwd else ROOT  # another one: as on another host
        self.dir = TMP / f"worker-{uuid.uuid4().hex[:8]}"
        self.dir.mkdir(parents=True)
        self.log_path = self.dir / "worker.log"
        self.ready_file = self.dir / "ready"
        self.proc: subprocess.Popen | None = None

    def environment(self) -> dict:
        env = {**os.environ, **self.app.config["LIVE_SETTINGS"], **self.extra_env}
        env["PORTAL_EXTRA_MODULES"] = ",".join(self.modules)
        env["LIVE_WORKER_READY_FILE"] = str(self.ready_file)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        return env

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "celery", "-A", "portal.worker", "worker",
               "-Q", ",".join(self.queues), "--pool", "prefork",
               "--concurrency", str(self.concurrency), "--loglevel", "INFO",
               "-n", f"live-{uuid.uuid4().hex[:6]}@%h",
               "--without-gossip", "--without-mingle", "--without-heartbeat"]
        if self.beat:
            cmd += ["--beat", "--schedule", str(self.dir / "celerybeat-schedule")]
        return cmd

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 120) -> "WorkerProcess":
        assert not self.running, "worker déjà démarré"
        self.ready_file.unlink(missing_ok=True)
        with open(self.log_path, "ab") as log:
            log.write(f"\n=== start {time.strftime('%X')} ===\n".encode())
            log.flush()
            self.proc = subprocess.Popen(self.command(), cwd=self.cwd, env=self.environment(),
                                         stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not self.ready_file.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"le worker s'est arrêté au démarrage :\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.kill()
                raise TimeoutError(f"worker pas prêt en {timeout} s :\n{self.log_tail()}")
            time.sleep(0.1)
        return self

    def kill(self) -> None:
        """SIGKILL the whole worker: main process, pool children and embedded beat."""
        self._signal_group(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=10)

    def stop(self, timeout: float = 20) -> None:
        """Warm shutdown (SIGTERM), then SIGKILL if it does not stop in time."""
        if not self.running:
            self._signal_group(signal.SIGKILL)  # leftover children, if any
            return
        self._signal_group(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=timeout)
        self._signal_group(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def restart(self, *, hard: bool = True) -> "WorkerProcess":
        self.kill() if hard else self.stop()
        return self.start()

    def _signal_group(self, sig) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(pas de journal)"


@pytest.fixture
def celery_worker_process(request, live_app):
    """celery_worker_process(modules=(...), beat=False, ...) -> a started WorkerProcess."""
    _require_worker_marker(request)
    workers: list[WorkerProcess] = []

    def _start(**kwargs) -> WorkerProcess:
        worker = WorkerProcess(live_app, **kwargs)
        workers.append(worker)
        return worker.start()

    yield _start
    for worker in workers:
        worker.kill()  # the broker and the database are this module's own
    if workers:
        purge_broker(live_app.config["CELERY_BROKER_URL"])


def pid_alive(pid: int) -> bool:
    """True if the process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def fetch_job(job_id: int):
    """The job as stored now (fresh read; call inside the live app context)."""
    from portal import jobs
    from portal.extensions import db
    db.session.rollback()
    job = db.session.get(jobs.Job, job_id, populate_existing=True)
    db.session.rollback()
    return job


def wait_for(predicate, timeout: float = 30, interval: float = 0.2, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{message} non atteinte en {timeout} s")
        time.sleep(interval)


def wait_for_job(job_id: int, statuses=("done", "failed"), timeout: float = 60, worker=None):
    """Poll until the job reaches one of `statuses`; returns the job."""
    try:
        return wait_for(lambda: (j := fetch_job(job_id)) is not None and j.status in statuses and j,
                        timeout=timeout, message=f"tâche {job_id} dans l'état {statuses}")
    except TimeoutError as exc:
        job = fetch_job(job_id)
        detail = f"état : {job.status if job else None}, livraisons : {job.deliveries if job else None}"
        tail = f"\njournal du worker :\n{worker.log_tail()}" if worker else ""
        raise TimeoutError(f"{exc} ({detail}){tail}") from None


def broker_message_count(app, queue: str = "default") -> int:
    """Messages waiting in `queue` on the live app's broker (none consumed yet)."""
    url = app.extensions["celery"].conf.broker_url
    if url.startswith(("redis://", "rediss://")):
        import redis
        client = redis.Redis.from_url(url)
        try:
            return client.llen(queue)
        finally:
            client.close()
    from sqlalchemy import create_engine, inspect, text
    engine = create_engine(url[len("sqla+"):])
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("kombu_message"):
                return 0
            return conn.execute(text(
                "SELECT count(*) FROM kombu_message m JOIN kombu_queue q ON m.queue_id = q.id "
                "WHERE q.name = :q AND m.visible = :yes"), {"q": queue, "yes": True}).scalar()
    finally:
        engine.dispose()


def reconcile_now(app, **kwargs) -> list[int]:
    """Run the reconciler once, as beat would (in the test process)."""
    from portal import jobs
    with app.app_context():
        return jobs.reconcile(**kwargs)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens there once the socket is closed


def dead_broker_url(url: str) -> str:
    if url.startswith(("redis://", "rediss://")):
        return f"redis://127.0.0.1:{_closed_port()}/0"
    return f"sqla+sqlite:///{TMP / 'absent' / uuid.uuid4().hex / 'broker.sqlite'}"


def _reset_producers(celery) -> None:
    # kombu keeps one producer pool per broker URL; forget the app's handles so the next
    # publication picks the pool of the current URL.
    celery._pool = None
    celery.amqp._producer_pool = None


@contextmanager
def broker_down(app):
    """Within the block, this process publishes to a broker that does not answer."""
    celery = app.extensions["celery"]
    good = celery.conf.broker_url
    celery.conf.broker_url = dead_broker_url(good)
    _reset_producers(celery)
    try:
        yield
    finally:
        celery.conf.broker_url = good
        _reset_producers(celery)
