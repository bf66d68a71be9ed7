"""AFAS periodic tasks (idempotent): record the campaigns around today, pay the acomptes whose
date has come."""
from celery import shared_task


@shared_task(name="afas.pay_due_acomptes")
def pay_due_acomptes() -> int:
    from portal.extensions import db
    from . import services
    count = services.pay_due_acomptes()
    db.session.commit()
    return count


@shared_task(name="afas.record_campaigns")
def record_campaigns() -> int:
    from portal.extensions import db
    from . import services
    count = services.record_campaigns()
    db.session.commit()
    return count
