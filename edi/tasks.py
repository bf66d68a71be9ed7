"""EDI background work (portal.jobs handlers on the `edi` queue, and beat tasks)."""
from __future__ import annotations


from celery import shared_task
from celery.schedules import crontab

from portal import jobs
from portal.extensions import db

from . import avis, services
from .intake import process
from portal.dates import previous_month
from portal.dates import today as paris_today


@jobs.handler(services.JOB_KIND)
def process_file_job(job: jobs.Job) -> dict:
    return process.process_file(int(job.payload["fichier_id"]), job)


@jobs.handler(avis.JOB_KIND)
def build_avis_job(job: jobs.Job) -> dict:
    p = job.payload
    return avis.build_avis(int(p["organisation_id"]), int(p["annee"]), int(p["mois"]))


@shared_task(name="edi.schedule_avis_paiement")
def schedule_avis_paiement(annee: int | None = None, mois: int | None = None) -> int:
    """Monthly (beat): one job per landlord for the previous month's tiers-payant payments."""
    if annee is None or mois is None:
        today = paris_today()
        annee, mois = previous_month(today)
    created = avis.schedule_month(annee, mois)
    db.session.commit()
    return created


@shared_task(name="edi.quarantine_abandoned")
def quarantine_abandoned() -> int:
    quarantined = services.quarantine_abandoned()
    db.session.commit()
    return len(quarantined)


BEAT_SCHEDULE = {
    "edi-avis-paiement-mensuels": {"task": "edi.schedule_avis_paiement",
                                   "schedule": crontab(day_of_month=1, hour=4, minute=30)},
    "edi-quarantaine": {"task": "edi.quarantine_abandoned", "schedule": 120.0},
}
