"""Celery wired to the Flask app: JSON only, late acks, redelivery on worker loss (the
redelivery counter lives in the database: `jobs.deliveries`), prefetch 1, time limits below
the job lease and the Redis visibility timeout, and a base task that pushes the app context.

Beat runs the reconciler (`portal.reconcile_jobs`) every JOB_RECONCILE_SECONDS; on the
embedded broker (kombu `sqla+sqlite`) it also deletes the consumed messages, which kombu only
hides."""
from __future__ import annotations

import logging

from celery import Celery, Task
from celery.schedules import crontab
from flask import Flask
from sqlalchemy.exc import OperationalError

from . import jobs, registry
from .config import ConfigError

log = logging.getLogger(__name__)

# Redis re-delivers a message not acknowledged within this delay; every time limit must stay
# well below it, or a long task would run twice.
VISIBILITY_TIMEOUT = 3600


def time_limits(lease: int) -> tuple[int, int]:
    """(soft, hard) task time limits: the hard limit kills the attempt before its lease
    expires, so a job never runs twice at once; the soft limit lets the handler clean up."""
    margin = max(1, lease // 10)
    hard = max(1, lease - margin)
    soft = max(1, hard - margin)
    return soft, hard


def broker_options(url: str) -> dict:
    """Transport options per broker. kombu passes the SQLAlchemy transport's options straight
    to create_engine(): Redis-only options there break the embedded broker."""
    if url.startswith(("redis://", "rediss://")):
        return {"visibility_timeout": VISIBILITY_TIMEOUT,
                # Fail fast when Redis is down: the job stays pending for the reconciler.
                "socket_connect_timeout": 2}
    return {}


def make_celery(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                try:
                    return self.run(*args, **kwargs)
                finally:
                    from .extensions import db
                    db.session.remove()

    lease = app.config["JOB_LEASE_SECONDS"]
    soft, hard = time_limits(lease)
    if hard >= VISIBILITY_TIMEOUT:
        raise ConfigError(f"JOB_LEASE_SECONDS doit rester sous {VISIBILITY_TIMEOUT} s "
                          "(délai de visibilité de Redis)")
    broker_url = app.config["CELERY_BROKER_URL"]
    celery = Celery(app.import_name, task_cls=FlaskTask)
    celery.conf.update(
        broker_url=broker_url,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=soft,
        task_time_limit=hard,
        # A task cut off from the broker is re-delivered by it: stop running it.
        worker_cancel_long_running_tasks_on_connection_loss=True,
        broker_transport_options=broker_options(broker_url),
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=3,
        # Publishing gives up within a few seconds when the broker is down.
        task_publish_retry_policy={"max_retries": 1, "interval_start": 0,
                                   "interval_step": 0.5, "interval_max": 1},
        task_default_queue="default",
        worker_hijack_root_logger=False,
        timezone="Europe/Paris",
        enable_utc=True,
        beat_schedule={
            "reconcile-jobs": {"task": "portal.reconcile_jobs",
                               "schedule": float(app.config["JOB_RECONCILE_SECONDS"])},
            "purge-audit": {"task": "portal.purge_audit", "schedule": crontab(hour=3, minute=15)},
            **registry.of(app).beat,  # the domains' (portal.registry.Domain.beat)
        },
    )

    # shared=False: these close over this app; another app built in the same process (tests)
    # must not hand them its own.
    @celery.task(name=jobs.RUN_JOB_TASK, bind=True, max_retries=10, shared=False)
    def run_job(self, job_id: int) -> str:
        try:
            return jobs.run(int(job_id))
        except OperationalError as exc:  # database unreachable or locked (SQLite): later
            raise self.retry(exc=exc, countdown=min(2 ** self.request.retries, 60)) from None

    @celery.task(name="portal.reconcile_jobs", shared=False)
    def reconcile_jobs() -> int:
        sent = jobs.reconcile()
        clean_embedded_broker(app.config["CELERY_BROKER_URL"])
        return len(sent)

    @celery.task(name="portal.purge_audit", shared=False)
    def purge_audit() -> int:
        from . import audit
        from .extensions import db
        count = audit.purge(app.config["AUDIT_RETENTION_MONTHS"])
        db.session.commit()
        return count

    celery.set_default()
    app.extensions["celery"] = celery
    return celery


def clean_embedded_broker(url: str) -> int:
    """kombu's SQLAlchemy transport hides consumed messages (visible = false) without deleting
    them: delete them. Safe for messages still being processed (acks are not stored there; a
    worker shutting down re-publishes its unacknowledged messages as new rows)."""
    if not url.startswith("sqla+"):
        return 0
    from sqlalchemy import create_engine, text
    engine = create_engine(url[len("sqla+"):])
    try:
        with engine.begin() as conn:
            return conn.execute(text("DELETE FROM kombu_message WHERE visible = :no"),
                                {"no": False}).rowcount
    except Exception as exc:  # table not created yet, or locked: next run
        log.warning("nettoyage du broker embarqué reporté : %s", exc)
        return 0
    finally:
        engine.dispose()
