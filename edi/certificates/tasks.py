"""Periodic task: warn partner admins 30 days before a certificate can no longer sign."""
from celery import shared_task


@shared_task(name="edi.certificates.expiry_warnings")
def expiry_warnings() -> int:
    from portal.extensions import db

    from .services import send_expiry_warnings
    count = send_expiry_warnings()
    db.session.commit()
    return count
