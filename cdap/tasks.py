"""CDAP periodic work: purge of the consultation journal after its retention."""
from celery import shared_task
from flask import current_app


@shared_task(name="cdap.purge_journal")
def purge_journal() -> int:
    from portal.extensions import db
    from .journal import purge
    count = purge(current_app.config["CDAP_JOURNAL_RETENTION_MONTHS"])
    db.session.commit()
    return count
