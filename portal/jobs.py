"""Background work with the database as the source of truth.

A job is a row (`jobs`) with a status. `create_job` adds it to the caller's transaction and the
message is sent to the broker only *after* that transaction commits (never for a rolled-back
one, never on the release of a mere SAVEPOINT). The worker claims the row with a lease (one
atomic UPDATE, so two deliveries of one message never run together), increments the
redelivery counter `deliveries`, runs the handler registered for its kind and records the
outcome with an UPDATE fenced by that counter: a worker whose lease expired and was taken
over cannot overwrite the new attempt's outcome. A periodic reconciler (beat) re-sends jobs
whose lease expired (worker killed), pending jobs never sent (broker down at commit) and
pending jobs sent long ago (a broker restarted without persistence), so neither a hard kill
nor a broker restart loses work. Handlers must be idempotent: a job may run more than once.

Columns, for operators: `sent_at` = last publication to the broker (NULL: not sent yet, the
reconciler will send it); `lease_expires_at` = end of the running attempt's lease, or, on a
pending job after a failed attempt, the earliest retry time.
"""
from __future__ import annotations

import json
import logging
import traceback
from datetime import datetime, timedelta
from typing import Callable

from flask import current_app, has_app_context
from sqlalchemy import JSON, DateTime, Integer, String, Text, and_, event, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column

from .extensions import db
from .models import utcnow

log = logging.getLogger(__name__)

PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"
STATUSES = (PENDING, RUNNING, DONE, FAILED)
RUN_JOB_TASK = "portal.run_job"
_TO_SEND = "portal.jobs_to_send"
# A job created less than this long ago and not sent yet is probably being sent by the
# after-commit hook of the process that created it: the reconciler leaves it alone.
SEND_GRACE = timedelta(seconds=2)

_HANDLERS: dict[str, Callable[["Job"], dict | None]] = {}


class LeaseLost(RuntimeError):
    """The attempt's lease expired and another delivery took the job over."""


class Job(db.Model):
    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    queue: Mapped[str] = mapped_column(String(32), default="default")
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=PENDING, index=True)
    deliveries: Mapped[int] = mapped_column(Integer, default=0)  # redelivery counter
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    result: Mapped[dict | None] = mapped_column(JSON)
    last_error: Mapped[str | None] = mapped_column(Text)


def handler(kind: str):
    """Register the function that performs jobs of `kind`. It receives the Job (status RUNNING,
    `deliveries` = this attempt's number) and may return a JSON-able result. Its writes and the
    DONE mark are committed together; raising rolls its uncommitted writes back and the job is
    retried later (with a growing delay) until JOB_MAX_DELIVERIES, then marked FAILED."""
    def decorator(fn):
        _HANDLERS[kind] = fn
        return fn
    return decorator


def create_job(kind: str, payload: dict | None = None, *, queue: str = "default") -> Job:
    """Add a job to the current transaction; its message is sent after the commit."""
    if kind not in _HANDLERS:
        raise KeyError(f"aucun traitement enregistré pour les tâches {kind!r}")
    payload = payload or {}
    try:
        json.dumps(payload)
    except (TypeError, ValueError) as exc:  # Celery and the JSON column need plain data
        raise TypeError(f"données de la tâche {kind!r} non sérialisables en JSON : {exc}") from None
    job = Job(kind=kind, queue=queue, payload=payload, status=PENDING, deliveries=0)
    db.session.add(job)
    db.session.flush()
    db.session().info.setdefault(_TO_SEND, []).append((job.id, queue))
    return job


@event.listens_for(Session, "after_commit")
def _send_after_commit(session: Session) -> None:
    # SQLAlchemy also fires after_commit when a SAVEPOINT is released: the rows are not
    # committed yet, so wait for the outermost commit.
    if session.in_nested_transaction():
        return
    pending = session.info.pop(_TO_SEND, None)
    if pending:
        if not has_app_context():  # a session used outside the app: the reconciler sends them
            log.warning("tâches %s validées hors contexte applicatif : envoi différé",
                        [job_id for job_id, _ in pending])
            return
        send_many(pending)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_TO_SEND, None)


def send_many(pending: list[tuple[int, str]]) -> list[int]:
    """Publish each job once; stop at the first broker failure (the rest stays pending for
    the reconciler rather than making the caller wait for every message to time out)."""
    sent, seen = [], set()
    for job_id, queue in pending:
        if job_id in seen:
            continue
        seen.add(job_id)
        if not send(job_id, queue):
            break
        sent.append(job_id)
    return sent


def send(job_id: int, queue: str) -> bool:
    """Publish the message; if the broker is unreachable (publishing gives up within a few
    seconds) the job stays pending and the reconciler sends it later. With
    JOB_DISPATCH="manual" (unit tests only) nothing is sent: the test runs the job itself."""
    if current_app.config.get("JOB_DISPATCH", "broker") == "manual":
        return False
    celery = current_app.extensions["celery"]
    try:
        celery.send_task(RUN_JOB_TASK, args=[job_id], queue=queue,
                         retry=True, retry_policy=celery.conf.task_publish_retry_policy)
    except Exception as exc:  # broker down: nothing is lost, the row is still pending
        log.warning("broker indisponible, tâche %s envoyée plus tard : %s", job_id, exc)
        return False
    _mark_sent(job_id)
    return True


def _mark_sent(job_id: int) -> None:
    """Record the publication on a connection of its own (the caller's transaction is over).
    Best effort: if it fails the reconciler sends the job again and the claim drops the
    duplicate."""
    try:
        with db.engine.begin() as conn:
            conn.execute(update(Job).where(Job.id == job_id, Job.status.in_((PENDING, RUNNING)))
                         .values(sent_at=utcnow()))
    except SQLAlchemyError as exc:
        log.warning("tâche %s envoyée, date d'envoi non enregistrée : %s", job_id, exc)


def claim(job_id: int) -> Job | None:
    """Atomically take the job's lease and count the delivery; None if the job is finished,
    unknown, or held by a live lease (a duplicate message)."""
    now = utcnow()
    lease = timedelta(seconds=current_app.config["JOB_LEASE_SECONDS"])
    result = db.session.execute(
        update(Job)
        .where(Job.id == job_id)
        .where(or_(Job.status == PENDING, and_(Job.status == RUNNING, Job.lease_expires_at < now)))
        .values(status=RUNNING, started_at=now, lease_expires_at=now + lease,
                deliveries=Job.deliveries + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if result.rowcount != 1:
        return None
    return db.session.get(Job, job_id, populate_existing=True)


def _finish(job_id: int, attempt: int, **values) -> bool:
    """Record an attempt's outcome in the current transaction, only if this attempt still
    holds the job (fencing by the delivery counter)."""
    result = db.session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == RUNNING, Job.deliveries == attempt)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def extend_lease(job: Job, seconds: int | None = None) -> None:
    """Push the running attempt's lease further (long handlers call it between steps, in their
    own transaction). Raises LeaseLost if another delivery took the job over. The Celery time
    limit still bounds the attempt (90 % of JOB_LEASE_SECONDS)."""
    seconds = seconds or current_app.config["JOB_LEASE_SECONDS"]
    if not _finish(job.id, job.deliveries, lease_expires_at=utcnow() + timedelta(seconds=seconds)):
        raise LeaseLost(f"tâche {job.id} : réservation perdue (livraison {job.deliveries})")


def _retry_delay(attempt: int) -> timedelta:
    base = current_app.config.get("JOB_RETRY_SECONDS", 10)
    return timedelta(seconds=min(base * 2 ** max(attempt - 1, 0), 3600))


def run(job_id: int) -> str:
    """Body of the Celery task: claim, run the handler, record the outcome. Returns "done",
    "failed", "retry" (will be retried), "skipped" (duplicate) or "lost" (lease taken over)."""
    job = claim(job_id)
    if job is None:
        return "skipped"
    attempt, max_deliveries = job.deliveries, current_app.config["JOB_MAX_DELIVERIES"]
    if attempt > max_deliveries:  # killed mid-job too many times (poison job)
        _finish(job_id, attempt, status=FAILED, finished_at=utcnow(), lease_expires_at=None,
                last_error=f"abandonnée après {attempt - 1} livraisons sans résultat")
        db.session.commit()
        log.error("tâche %s (%s) abandonnée après %s livraisons", job_id, job.kind, attempt - 1)
        return FAILED
    fn = _HANDLERS.get(job.kind)
    try:
        if fn is None:
            raise LookupError(f"aucun traitement pour {job.kind!r}")
        result = fn(job)
        if not _finish(job_id, attempt, status=DONE, result=result, finished_at=utcnow(),
                       lease_expires_at=None):
            raise LeaseLost(f"tâche {job_id} : réservation perdue (livraison {attempt})")
        db.session.commit()
        return DONE
    except LeaseLost:
        db.session.rollback()
        log.error("tâche %s (%s) : réservation expirée et reprise par une autre livraison ; "
                  "résultat de la livraison %s abandonné", job_id, job.kind, attempt)
        return "lost"
    except Exception:
        error = traceback.format_exc()[-4000:]
        db.session.rollback()
        now = utcnow()
        if attempt >= max_deliveries:
            values = dict(status=FAILED, finished_at=now, lease_expires_at=None)
        else:  # the reconciler sends it again once the delay has passed
            values = dict(status=PENDING, sent_at=None, lease_expires_at=now + _retry_delay(attempt))
        _finish(job_id, attempt, last_error=error, **values)
        db.session.commit()
        log.exception("échec de la tâche %s (%s), livraison %s", job_id, job.kind, attempt)
        return values["status"] if values["status"] == FAILED else "retry"


def reconcile(*, now: datetime | None = None, resend_after_seconds: int | None = None) -> list[int]:
    """Re-send (1) running jobs whose lease expired and that were not re-sent since,
    (2) pending jobs never sent, or due for retry, (3) pending jobs sent more than
    JOB_RESEND_AFTER_SECONDS ago (their message may have been lost with a broker restart).
    Returns the ids sent. Safe to run anywhere, any number of times: claims drop duplicates."""
    rows = due_for_sending(now=now, resend_after_seconds=resend_after_seconds)
    db.session.commit()
    return send_many(rows)


def due_for_sending(*, now: datetime | None = None,
                    resend_after_seconds: int | None = None) -> list[tuple[int, str]]:
    """(id, queue) of the jobs the reconciler sends now (see `reconcile`)."""
    now = now or utcnow()
    if resend_after_seconds is None:
        resend_after_seconds = current_app.config.get("JOB_RESEND_AFTER_SECONDS", 600)
    resend_before = now - timedelta(seconds=resend_after_seconds)
    rows = db.session.execute(
        select(Job.id, Job.queue).where(
            or_(
                and_(Job.status == RUNNING, Job.lease_expires_at < now,
                     or_(Job.sent_at.is_(None), Job.sent_at < Job.lease_expires_at,
                         Job.sent_at < resend_before)),
                and_(Job.status == PENDING, Job.sent_at.is_(None), Job.created_at < now - SEND_GRACE,
                     or_(Job.lease_expires_at.is_(None), Job.lease_expires_at <= now)),
                and_(Job.status == PENDING, Job.sent_at < resend_before),
            )
        ).order_by(Job.id).limit(1000)
    ).all()
    return [(job_id, queue) for job_id, queue in rows]


def status_counts() -> dict[str, int]:
    """Number of jobs per status (for `portal jobs status` and health checks)."""
    counts = dict.fromkeys(STATUSES, 0)
    for status, count in db.session.execute(select(Job.status, func.count()).group_by(Job.status)):
        counts[status] = count
    return counts


def health(now: datetime | None = None) -> dict:
    """Counts plus the signs of a stuck pipeline: expired leases, oldest pending job."""
    now = now or utcnow()
    expired = db.session.scalar(select(func.count()).select_from(Job).where(
        Job.status == RUNNING, Job.lease_expires_at < now))
    oldest = db.session.scalar(select(func.min(Job.created_at)).where(Job.status == PENDING))
    return {"counts": status_counts(), "expired_leases": expired,
            "oldest_pending_seconds": int((now - oldest).total_seconds()) if oldest else None}
