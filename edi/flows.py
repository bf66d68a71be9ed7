"""The EDI flows part's start-up (settings, upload limit) and demo data (contracts,
habilitations, AVIS_PAIEMENT), declared by ``edi.register``."""
from __future__ import annotations

from flask import Flask, request

from portal.registry import DemoAccess
from portal.dates import previous_month
from portal.dates import today as paris_today

UPLOAD_ENDPOINTS = {"edi.upload", "api.edi_file_upload"}

# EDI contracts and habilitations on the shell's demo organisations and users (portal.demo).
DEMO_ACCESS = DemoAccess("EDI", contrats={"Caf de la Somme": [], "Picardie Habitat": []},
                         habilitations={"agent.caf@caf80.example": None,
                                        "operateur@picardie-habitat.example": None})


def configure(app: Flask) -> None:
    """At start-up (``portal.registry.Domain.configure``): in production the EDI keys must be
    present and coherent; the upload routes get their own body size limit."""
    from portal.crypto import pki
    from .services import max_file_bytes
    pki.validate_settings(app.config)

    @app.url_value_preprocessor
    def _edi_upload_limit(endpoint, _values):
        # Runs before every before_request hook (CSRF reads the form): the EDI upload limit
        # applies before any byte of the body is parsed (413 on a larger Content-Length).
        if endpoint in UPLOAD_ENDPOINTS:
            request.max_content_length = max_file_bytes() + 1024 * 1024  # + signature, multipart


def seed_demo_avis() -> int:
    """Demo: last month's AVIS_PAIEMENT of each landlord with tiers-payant tenants (idempotent:
    the notice of a (landlord, month) is built once)."""

    from sqlalchemy import select

    from portal.extensions import db
    from portal.models import Organisation

    from . import adapters, avis
    from .models import EdiAvisPaiement
    today = paris_today()
    annee, mois = previous_month(today)
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
