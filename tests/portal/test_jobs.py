"""Job lifecycle in-process (JOB_DISPATCH="manual", rolled-back transaction): claim with a
lease, redelivery counter, retries, abandonment, fencing, reconciler selection."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text, update

from portal import jobs
from portal.extensions import db
from portal.models import utcnow

CALLS: list[tuple[int, int]] = []


@jobs.handler("tests.echo")
def echo(job):
    CALLS.append((job.id, job.deliveries))
    if job.payload.get("fail"):
        raise ValueError("échec voulu")
    return {"echo": job.payload.get("value")}


@jobs.handler("tests.steal")
def steal(job):
    """Writes an effect, then another delivery takes the job over before we finish."""
    db.session.execute(text("UPDATE organisations SET nom = 'effet' WHERE id = :i"),
                       {"i": job.payload["org"]})
    db.session.execute(update(jobs.Job).where(jobs.Job.id == job.id)
                       .values(deliveries=jobs.Job.deliveries + 1))
    return {"never": "recorded"}


def expire_lease(job):
    db.session.execute(update(jobs.Job).where(jobs.Job.id == job.id)
                       .values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()


def fresh(job_id):
    return db.session.get(jobs.Job, job_id, populate_existing=True)


def test_create_job_rejects_unknown_kind_and_non_json_payload():
    with pytest.raises(KeyError):
        jobs.create_job("tests.nope", {})
    with pytest.raises(TypeError):
        jobs.create_job("tests.echo", {"when": utcnow()})


def test_run_records_result_and_counts_the_delivery():
    job = jobs.create_job("tests.echo", {"value": 42})
    db.session.commit()
    assert jobs.run(job.id) == jobs.DONE
    job = fresh(job.id)
    assert (job.status, job.deliveries, job.result) == (jobs.DONE, 1, {"echo": 42})
    assert job.finished_at is not None and job.lease_expires_at is None
    assert jobs.run(job.id) == "skipped"  # a duplicate message does nothing
    assert fresh(job.id).deliveries == 1


def test_claim_is_exclusive_while_the_lease_lives():
    job = jobs.create_job("tests.echo", {})
    db.session.commit()
    first = jobs.claim(job.id)
    assert first is not None and first.status == jobs.RUNNING and first.deliveries == 1
    assert first.lease_expires_at > utcnow()
    assert jobs.claim(job.id) is None  # held: a second delivery must not run it
    assert jobs.run(job.id) == "skipped"
    expire_lease(job)
    second = jobs.claim(job.id)
    assert second is not None and second.deliveries == 2


def test_failure_is_retried_then_failed_after_max_deliveries(app):
    maximum = app.config["JOB_MAX_DELIVERIES"]
    job = jobs.create_job("tests.echo", {"fail": True})
    db.session.commit()
    for attempt in range(1, maximum):
        assert jobs.run(job.id) == "retry"
        stored = fresh(job.id)
        assert (stored.status, stored.deliveries) == (jobs.PENDING, attempt)
        assert "échec voulu" in stored.last_error
        assert stored.sent_at is None and stored.lease_expires_at > utcnow()  # retry delay
    assert jobs.run(job.id) == jobs.FAILED
    stored = fresh(job.id)
    assert (stored.status, stored.deliveries) == (jobs.FAILED, maximum)
    assert stored.finished_at is not None


def test_job_killed_too_many_times_is_abandoned_without_running(app):
    maximum = app.config["JOB_MAX_DELIVERIES"]
    job = jobs.create_job("tests.echo", {"value": 1})
    db.session.commit()
    for _ in range(maximum):  # each delivery dies mid-job (lease taken, never finished)
        assert jobs.claim(job.id) is not None
        expire_lease(job)
    CALLS.clear()
    assert jobs.run(job.id) == jobs.FAILED
    stored = fresh(job.id)
    assert stored.status == jobs.FAILED and stored.deliveries == maximum + 1
    assert "abandonnée" in stored.last_error
    assert CALLS == []


def test_extend_lease_only_for_the_current_attempt(app):
    job = jobs.create_job("tests.echo", {})
    db.session.commit()
    claimed = jobs.claim(job.id)
    before = claimed.lease_expires_at
    jobs.extend_lease(claimed, 3600)
    db.session.commit()
    assert fresh(job.id).lease_expires_at > before + timedelta(minutes=30)
    db.session.expunge(claimed)  # this attempt's view (another process's, in real life)
    expire_lease(job)
    assert jobs.claim(job.id).deliveries == 2  # another delivery takes over
    with pytest.raises(jobs.LeaseLost):
        jobs.extend_lease(claimed)


def test_lost_lease_discards_the_attempt_and_its_writes(factory):
    org = factory.organisation()
    db.session.commit()
    nom = org.nom
    job = jobs.create_job("tests.steal", {"org": org.id})
    db.session.commit()
    assert jobs.run(job.id) == "lost"
    assert db.session.execute(text("SELECT nom FROM organisations WHERE id = :i"),
                              {"i": org.id}).scalar() == nom
    stored = fresh(job.id)
    assert stored.status == jobs.RUNNING and stored.result is None


def test_reconciler_selects_expired_never_sent_and_stale_jobs():
    now = utcnow()
    fresh_job = jobs.create_job("tests.echo", {})
    never_sent = jobs.create_job("tests.echo", {})
    sent_recently = jobs.create_job("tests.echo", {})
    sent_long_ago = jobs.create_job("tests.echo", {})
    expired = jobs.create_job("tests.echo", {})
    live = jobs.create_job("tests.echo", {})
    retry_later = jobs.create_job("tests.echo", {})
    done = jobs.create_job("tests.echo", {})
    old = now - timedelta(minutes=5)
    for job in (never_sent, sent_recently, sent_long_ago, expired, live, retry_later, done):
        job.created_at = old
    sent_recently.sent_at = now - timedelta(seconds=5)
    sent_long_ago.sent_at = now - timedelta(hours=2)
    expired.status, expired.sent_at, expired.lease_expires_at = jobs.RUNNING, old, now - timedelta(seconds=1)
    live.status, live.sent_at, live.lease_expires_at = jobs.RUNNING, old, now + timedelta(minutes=1)
    retry_later.lease_expires_at = now + timedelta(minutes=1)
    done.status = jobs.DONE
    db.session.commit()
    due = {job_id for job_id, _ in jobs.due_for_sending(now=now)}
    mine = {j.id for j in (fresh_job, never_sent, sent_recently, sent_long_ago, expired, live,
                           retry_later, done)}
    assert due & mine == {never_sent.id, sent_long_ago.id, expired.id}
    # Once re-sent after its lease expired, a running job is not sent again at every pass.
    expired.sent_at = now
    db.session.commit()
    assert expired.id not in {job_id for job_id, _ in jobs.due_for_sending(now=now)}


def test_manual_dispatch_sends_nothing_after_commit():
    job = jobs.create_job("tests.echo", {})
    db.session.commit()
    assert fresh(job.id).sent_at is None


def test_status_counts_and_health():
    job = jobs.create_job("tests.echo", {})
    db.session.commit()
    before = jobs.status_counts()
    jobs.run(job.id)
    after = jobs.status_counts()
    assert after[jobs.DONE] == before[jobs.DONE] + 1
    assert after[jobs.PENDING] == before[jobs.PENDING] - 1
    assert set(jobs.health()) == {"counts", "expired_leases", "oldest_pending_seconds"}


def test_jobs_status_command_reports_counts_and_fails_check_on_expired_lease(app):
    runner = app.test_cli_runner()
    job = jobs.create_job("tests.echo", {})
    db.session.commit()
    ok = runner.invoke(args=["jobs", "status", "--check"])
    assert ok.exit_code == 0, ok.output
    assert "pending" in ok.output and "broker : joignable" in ok.output
    assert jobs.claim(job.id) is not None
    expire_lease(job)
    stuck = runner.invoke(args=["jobs", "status", "--check"])
    assert stuck.exit_code == 1
    assert "réservations expirées : 1" in stuck.output
