"""AFAS periodic task: pay the acomptes whose date has come (idempotent)."""
from celery import shared_task


@shared_task(name="afas.pay_due_acomptes")
def pay_due_acomptes() -> int:
    from portal.extensions import db
    from . import services
    count = services.pay_due_acomptes()
    db.session.commit()
    return count
