"""Celery wired to the Flask app: JSON only, late acks, redelivery on worker loss, prefetch 1,
time limits below the Redis visibility timeout, and a base task that pushes the app context."""
from __future__ import annotations

from celery import Celery, Task
from celery.schedules import crontab
from flask import Flask

from . import jobs

VISIBILITY_TIMEOUT = 3600


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
    celery = Celery(app.import_name, task_cls=FlaskTask)
    celery.conf.update(
        broker_url=app.config["CELERY_BROKER_URL"],
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=lease - 5,
        task_time_limit=lease,
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT},
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=3,
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0,
                                   "interval_step": 0.3, "interval_max": 1},
        task_default_queue="default",
        worker_hijack_root_logger=False,
        timezone="Europe/Paris",
        enable_utc=True,
        beat_schedule={
            "reconcile-jobs": {"task": "portal.reconcile_jobs", "schedule": 30.0},
            "purge-audit": {"task": "portal.purge_audit", "schedule": crontab(hour=3, minute=15)},
            **app.config.get("CELERY_BEAT_SCHEDULE", {}),
        },
    )
    assert lease < VISIBILITY_TIMEOUT

    @celery.task(name=jobs.RUN_JOB_TASK)
    def run_job(job_id: int) -> str:
        return jobs.run(int(job_id))

    @celery.task(name="portal.reconcile_jobs")
    def reconcile_jobs() -> int:
        sent = jobs.reconcile()
        _clean_embedded_broker(app)
        return len(sent)

    @celery.task(name="portal.purge_audit")
    def purge_audit() -> int:
        from . import audit
        from .extensions import db
        count = audit.purge(app.config["AUDIT_RETENTION_MONTHS"])
        db.session.commit()
        return count

    celery.set_default()
    app.extensions["celery"] = celery
    return celery


def _clean_embedded_broker(app: Flask) -> None:
    """kombu's SQLAlchemy transport hides consumed messages without deleting them."""
    url = app.config["CELERY_BROKER_URL"]
    if not url.startswith("sqla+"):
        return
    from sqlalchemy import create_engine, text
    engine = create_engine(url[len("sqla+"):])
    try:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM kombu_message WHERE visible = 0"))
    except Exception:
        pass
    finally:
        engine.dispose()
