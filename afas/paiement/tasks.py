"""The daily beat task of the hand-off: one signed order file for what is due (idempotent: run
twice, the second finds nothing left to order)."""
from celery import shared_task


@shared_task(name="afas.produce_payment_order")
def produce_payment_order() -> str | None:
    from portal.extensions import db
    from . import services
    ordre = services.produce_order()
    db.session.commit()
    return ordre.reference if ordre else None
