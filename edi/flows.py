"""Registration of the EDI flows part (files, pipeline, dashboards, API, AVIS_PAIEMENT)."""
from __future__ import annotations

from flask import Flask, request


UPLOAD_ENDPOINTS = {"edi.upload", "api.edi_file_upload"}


def register(app: Flask) -> None:
    from portal.layout import add_nav

    from . import api, models, tasks, views  # noqa: F401  (api routes join portal.api.bp)
    from .services import max_file_bytes

    app.register_blueprint(views.bp)
    app.config["CELERY_BEAT_SCHEDULE"].update(tasks.BEAT_SCHEDULE)
    add_nav(app, "Fichiers EDI", "edi.files", 40)
    add_nav(app, "Avis de paiement", "edi.avis_list", 41)
    add_nav(app, "Supervision EDI", "edi.supervision", 42)

    from portal.demo import add_demo_seeder
    add_demo_seeder(app, seed_demo_avis)

    @app.url_value_preprocessor
    def _edi_upload_limit(endpoint, _values):
        # Runs before every before_request hook (CSRF reads the form): the EDI upload limit
        # applies before any byte of the body is parsed (413 on a larger Content-Length).
        if endpoint in UPLOAD_ENDPOINTS:
            request.max_content_length = max_file_bytes() + 1024 * 1024  # + signature, multipart


def seed_demo_avis() -> int:
    """Demo: last month's AVIS_PAIEMENT of each landlord with tiers-payant tenants (idempotent:
    the notice of a (landlord, month) is built once)."""
    from datetime import date

    from sqlalchemy import select

    from portal.extensions import db
    from portal.models import Organisation

    from . import adapters, avis
    from .models import EdiAvisPaiement
    today = date.today()
    annee, mois = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    created = 0
    for code in adapters.landlord_codes(annee, mois):
        org = db.session.scalar(select(Organisation).where(Organisation.code_bailleur == code))
        if org is None or db.session.scalar(select(EdiAvisPaiement.id).where(
                EdiAvisPaiement.organisation_id == org.id, EdiAvisPaiement.annee == annee,
                EdiAvisPaiement.mois == mois)):
            continue
        if avis.build_avis(org.id, annee, mois).get("avis_id"):
            created += 1
    return created
