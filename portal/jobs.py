"""Background work with the database as the source of truth.

A job is a row (`jobs`) with a status. `create_job` adds it to the caller's transaction and the
message is sent to the broker only *after* that transaction commits. The worker claims the row
with a lease (an atomic UPDATE, so two deliveries of one message never run together), runs the
handler registered for its kind, and marks it done. A periodic reconciler re-sends jobs whose
lease expired (worker killed) or that were never delivered (broker down at commit), so neither
a hard kill nor a broker restart loses work. Handlers must be idempotent.
"""
from __future__ import annotations

import logging
import traceback
from datetime import datetime, timedelta
from typing import Callable

from flask import current_app
from sqlalchemy import JSON, DateTime, Integer, String, Text, event, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from .extensions import db
from .models import utcnow

log = logging.getLogger(__name__)

PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"
RUN_JOB_TASK = "portal.run_job"

_HANDLERS: dict[str, Callable[[Job], dict | None]] = {}


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
    """Register the function that performs jobs of `kind`. It receives the Job (status RUNNING)
    and may return a JSON-able result; raising marks the attempt failed (retried until
    JOB_MAX_DELIVERIES)."""
    def decorator(fn):
        _HANDLERS[kind] = fn
        return fn
    return decorator


def create_job(kind: str, payload: dict | None = None, *, queue: str = "default") -> Job:
    """Add a job to the current transaction; it is sent to the broker after the commit."""
    if kind not in _HANDLERS:
        raise KeyError(f"aucun traitement enregistré pour les tâches {kind!r}")
    job = Job(kind=kind, queue=queue, payload=payload or {}, status=PENDING, deliveries=0)
    db.session.add(job)
    db.session.flush()
    db.session.info.setdefault("jobs_to_send", []).append((job.id, queue))
    return job


@event.listens_for(Session, "after_commit")
def _send_after_commit(session: Session) -> None:
    pending = session.info.pop("jobs_to_send", None)
    if pending:
        for job_id, queue in pending:
            send(job_id, queue)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop("jobs_to_send", None)


def send(job_id: int, queue: str) -> bool:
    """Publish the message; if the broker is unreachable the job stays pending and the
    reconciler sends it later. With JOB_DISPATCH="manual" (unit tests only) nothing is sent:
    the test runs the job itself with `run(job_id)`."""
    if current_app.config.get("JOB_DISPATCH", "broker") == "manual":
        return False
    celery = current_app.extensions["celery"]
    try:
        celery.send_task(RUN_JOB_TASK, args=[job_id], queue=queue)
    except Exception as exc:  # broker down: nothing is lost, the row is still pending
        log.warning("broker indisponible, tâche %s envoyée plus tard : %s", job_id, exc)
        return False
    with db.engine.begin() as conn:
        conn.execute(update(Job).where(Job.id == job_id).values(sent_at=utcnow()))
    return True


def claim(job_id: int) -> Job | None:
    """Atomically take the job's lease; None if it is done or held by a live lease."""
    now = utcnow()
    lease = timedelta(seconds=current_app.config["JOB_LEASE_SECONDS"])
    result = db.session.execute(
        update(Job)
        .where(Job.id == job_id)
        .where(or_(Job.status == PENDING, (Job.status == RUNNING) & (Job.lease_expires_at < now)))
        .values(status=RUNNING, started_at=now, lease_expires_at=now + lease,
                deliveries=Job.deliveries + 1)
    )
    db.session.commit()
    if result.rowcount != 1:
        return None
    return db.session.get(Job, job_id, populate_existing=True)


def run(job_id: int) -> str:
    """Body of the Celery task: claim, run the handler, record the outcome."""
    job = claim(job_id)
    if job is None:
        return "skipped"
    if job.deliveries > current_app.config["JOB_MAX_DELIVERIES"]:
        job.status = FAILED
        job.finished_at = utcnow()
        job.last_error = f"abandonnée après {job.deliveries - 1} livraisons"
        db.session.commit()
        return FAILED
    fn = _HANDLERS.get(job.kind)
    try:
        if fn is None:
            raise LookupError(f"aucun traitement pour {job.kind!r}")
        result = fn(job)
    except Exception:
        db.session.rollback()
        job = db.session.get(Job, job_id, populate_existing=True)
        job.last_error = traceback.format_exc()[-4000:]
        if job.deliveries >= current_app.config["JOB_MAX_DELIVERIES"]:
            job.status = FAILED
            job.finished_at = utcnow()
        else:
            job.status = PENDING  # the reconciler will send it again
            job.lease_expires_at = None
        db.session.commit()
        log.exception("échec de la tâche %s (%s)", job_id, job.kind)
        return "error"
    mark_done(job, result)
    db.session.commit()
    return DONE


def mark_done(job: Job, result: dict | None = None) -> None:
    """Set DONE in the caller's transaction (handlers may call it with their last writes)."""
    job.status = DONE
    job.result = result
    job.finished_at = utcnow()
    job.lease_expires_at = None


def reconcile(*, stale_after_seconds: int = 60) -> list[int]:
    """Re-send jobs whose lease expired and pending jobs never delivered; returns their ids."""
    now = utcnow()
    stale = now - timedelta(seconds=stale_after_seconds)
    rows = db.session.execute(
        select(Job.id, Job.queue).where(
            or_(
                (Job.status == RUNNING) & (Job.lease_expires_at < now),
                (Job.status == PENDING) & (or_(Job.sent_at.is_(None), Job.sent_at < stale))
                & (Job.created_at < now - timedelta(seconds=2)),
            )
        ).order_by(Job.id).limit(1000)
    ).all()
    db.session.commit()
    sent = []
    for job_id, queue in rows:
        if send(job_id, queue):
            sent.append(job_id)
    return sent
