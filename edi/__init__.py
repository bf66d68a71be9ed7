"""EDI service: landlords' files (LOYERS, IMPAYES, MOUVEMENTS), their signatures and signing
certificates, the Caf's ACCUSE and AVIS_PAIEMENT, and the vendors' tooling (`portal edi`).
`register(app)` is the only thing the portal shell calls: it declares everything EDI brings in
one `portal.registry.Domain`."""
from pathlib import Path

from flask import Flask


def register(app: Flask) -> None:
    from celery.schedules import crontab

    from portal.registry import Domain, Nav, Service, contribute

    from . import api, models, tasks  # noqa: F401  (tables, API routes, job handlers)
    from . import certificates, dashboard, flows
    from .certificates import models as certificates_models, tasks as certificates_tasks  # noqa: F401
    from .certificates import demo as certificates_demo
    from .certificates.views import bp as certificates_bp
    from .cli import edi_cli
    from .views import bp

    contribute(app, Domain(
        name="edi",
        services=[Service("EDI", "EDI — échanges de fichiers bailleurs")],
        configure=flows.configure,
        migrations=Path(__file__).parent / "migrations" / "versions",
        blueprints=[bp, certificates_bp],
        cli=[edi_cli],
        nav=[Nav("Fichiers EDI", "edi.files", 40),
             Nav("Avis de paiement", "edi.avis_list", 41),
             Nav("Supervision EDI", "edi.supervision", 42),
             Nav("Certificats EDI", "edi_certs.index", 62),
             Nav("Certificats bailleurs", "edi_certs.caf_index", 63)],
        home_panels=[certificates.home_panel],
        boards=[dashboard.LANDLORD_BOARD],
        charts=dashboard.CHARTS,
        beat={**tasks.BEAT_SCHEDULE,
              "edi-certificates-expiry": {"task": "edi.certificates.expiry_warnings",
                                          "schedule": crontab(hour=6, minute=30)}},
        demo_access=[flows.DEMO_ACCESS],
        seed=[flows.seed_demo_avis, certificates_demo.seed_demo_certificate],
        labels={"audit_categories": {"edi": "EDI"}, "audit_actions": {
            "fichier_recu": "Fichier EDI reçu", "fichier_traite": "Fichier EDI traité",
            "fichier_quarantaine": "Fichier EDI mis en quarantaine", "fichier_relance": "Fichier EDI relancé",
            "avis_paiement_emis": "Avis de paiement émis",
            "certificat_enregistre": "Certificat enregistré", "certificat_approuve": "Certificat approuvé",
            "certificat_refuse": "Certificat refusé", "certificat_revoque": "Certificat révoqué",
            "certificat_alerte_expiration": "Alerte d'expiration de certificat"}},
    ))
