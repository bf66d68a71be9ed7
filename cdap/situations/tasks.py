"""Periodic purge of the closed cases after their retention (CDAP_SITUATION_RETENTION_MONTHS)."""
from celery import shared_task
from flask import current_app


@shared_task(name="cdap.purge_situations")
def purge_situations() -> int:
    from portal.extensions import db

    from .services import purge_closed
    count = purge_closed(current_app.config["CDAP_SETTINGS"]["CDAP_SITUATION_RETENTION_MONTHS"])
    db.session.commit()
    return count
