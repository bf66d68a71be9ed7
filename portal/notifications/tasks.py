"""Periodic task: the daily digest of notifications (beat, see portal.shell)."""
from celery import shared_task

DIGEST_TASK = "portal.notification_digests"


@shared_task(name=DIGEST_TASK)
def notification_digests() -> int:
    from ..extensions import db
    from .services import send_digests
    count = send_digests()
    db.session.commit()
    return count
