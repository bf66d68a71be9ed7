"""Background work with a REAL Celery worker process, on the test database and broker
(SQLite + embedded broker by default; PostgreSQL + Redis with TEST_DATABASE_URL and
TEST_CELERY_BROKER_URL)."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from portal import jobs
from portal.extensions import db
from tests.support.live import (TMP, broker_down, broker_message_count, fetch_job, pid_alive,
                        reconcile_now, wait_for, wait_for_job)
from tests.portal import live_handlers
from tests.portal.live_handlers import effects

pytestmark = pytest.mark.worker
HANDLERS = ["tests.portal.live_handlers"]


@pytest.fixture
def ctx(live_app):
    with live_app.app_context():
        db.session.execute(text(live_handlers.EFFECTS_DDL))
        db.session.commit()
        yield live_app
        db.session.remove()


def test_message_leaves_only_after_the_outermost_commit(ctx):
    before = broker_message_count(ctx)
    jobs.create_job("live.effect", {})
    db.session.flush()
    assert broker_message_count(ctx) == before
    db.session.rollback()  # rolled back: never sent
    assert broker_message_count(ctx) == before

    with db.session.begin_nested():  # releasing a SAVEPOINT is not the commit
        job = jobs.create_job("live.effect", {})
    assert broker_message_count(ctx) == before
    db.session.commit()
    assert broker_message_count(ctx) == before + 1
    assert fetch_job(job.id).sent_at is not None


def test_worker_runs_job_once(ctx, celery_worker_process):
    worker = celery_worker_process(modules=HANDLERS)
    job = jobs.create_job("live.effect", {})
    db.session.commit()
    done = wait_for_job(job.id, worker=worker)
    assert (done.status, done.deliveries) == (jobs.DONE, 1)
    assert [d for d, _ in effects(job.id)] == [1]


def test_reconcile_task_deletes_consumed_embedded_broker_messages(ctx, celery_worker_process):
    url = ctx.config["CELERY_BROKER_URL"]
    if not url.startswith("sqla+"):
        pytest.skip("propre au broker embarqué (kombu sqla+sqlite)")
    from sqlalchemy import create_engine
    worker = celery_worker_process(modules=HANDLERS)
    job = jobs.create_job("live.effect", {})
    db.session.commit()
    wait_for_job(job.id, worker=worker)
    engine = create_engine(url[len("sqla+"):])

    def hidden():
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM kombu_message WHERE visible = :no"),
                                {"no": False}).scalar()
    try:
        assert hidden() >= 1  # kombu only hides what it delivered
        ctx.extensions["celery"].send_task("portal.reconcile_jobs", queue="default")
        wait_for(lambda: hidden() == 0, timeout=60, message="nettoyage du broker")
    finally:
        engine.dispose()


@pytest.mark.parametrize("commit_before_hold", [False, True], ids=["uncommitted", "committed"])
def test_sigkill_mid_job_then_restart_finishes_exactly_once(ctx, celery_worker_process,
                                                            commit_before_hold):
    hold = TMP / f"hold-{time.monotonic_ns()}"
    worker = celery_worker_process(modules=HANDLERS, beat=True)
    job = jobs.create_job("live.effect", {"hold_file": str(hold),
                                          "commit_before_hold": commit_before_hold})
    db.session.commit()
    wait_for(hold.exists, timeout=60, message="début de la tâche")
    worker_pid = int(hold.read_text())
    worker.kill()  # SIGKILL: main process, pool child (mid-job) and beat
    wait_for(lambda: not pid_alive(worker_pid), timeout=5, message="mort du processus")
    stored = fetch_job(job.id)
    assert (stored.status, stored.deliveries) == (jobs.RUNNING, 1)

    worker.start()  # beat in the new worker re-sends the job once its lease expired
    done = wait_for_job(job.id, timeout=90, worker=worker)
    assert (done.status, done.deliveries) == (jobs.DONE, 2), worker.log_tail()
    rows = effects(job.id)
    assert len(rows) == 1  # the effect exists exactly once
    # A committed effect came from the killed attempt and was not redone; an uncommitted one
    # died with the process and was done by the second delivery.
    assert rows[0][0] == (1 if commit_before_hold else 2)
    assert done.result == {"effects_before": 1 if commit_before_hold else 0}


def test_failing_job_is_retried_by_the_reconciler(ctx, celery_worker_process):
    worker = celery_worker_process(modules=HANDLERS, beat=True)
    job = jobs.create_job("live.effect", {"fail_times": 1})
    db.session.commit()
    done = wait_for_job(job.id, timeout=60, worker=worker)
    assert (done.status, done.deliveries) == (jobs.DONE, 2)
    assert "échec voulu (livraison 1)" in done.last_error  # the failed attempt stays on record
    assert [d for d, _ in effects(job.id)] == [2]


def test_broker_down_at_commit_keeps_job_pending_until_reconciled(ctx, celery_worker_process):
    with broker_down(ctx):
        job = jobs.create_job("live.effect", {})
        started = time.monotonic()
        db.session.commit()  # the commit succeeds; publishing fails fast
        elapsed = time.monotonic() - started
    assert elapsed < 10
    stored = fetch_job(job.id)
    assert (stored.status, stored.sent_at, stored.deliveries) == (jobs.PENDING, None, 0)

    worker = celery_worker_process(modules=HANDLERS)
    time.sleep(1.5)
    assert fetch_job(job.id).status == jobs.PENDING  # nothing was queued
    sent = []
    wait_for(lambda: sent.extend(reconcile_now(ctx)) or job.id in sent, timeout=30,
             message="renvoi par le réconciliateur")
    done = wait_for_job(job.id, worker=worker)
    assert (done.status, done.deliveries) == (jobs.DONE, 1)
    assert len(effects(job.id)) == 1


def test_concurrent_claims_only_one_wins(ctx):
    job = jobs.create_job("live.effect", {})
    with broker_down(ctx):  # keep the message away from any worker
        db.session.commit()
    job_id = job.id
    winners, errors = [], []
    barrier = threading.Barrier(4)

    def claim():
        with ctx.app_context():
            try:
                barrier.wait()
                if jobs.claim(job_id) is not None:
                    winners.append(1)
            except Exception as exc:  # pragma: no cover - shown in the assertion
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(winners) == 1
    assert fetch_job(job_id).deliveries == 1
