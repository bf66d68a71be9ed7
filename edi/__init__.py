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
    from . import certificates, dashboard, flows, next_actions, notifications
    from .labels import LABELS
    from .certificates import models as certificates_models, tasks as certificates_tasks  # noqa: F401
    from .certificates import demo as certificates_demo
    from .certificates.views import bp as certificates_bp
    from .declarations import demo as declarations_demo, models as declarations_models  # noqa: F401
    from .declarations.views import bp as declarations_bp
    from .cli import edi_cli
    from .views import bp

    contribute(app, Domain(
        name="edi",
        services=[Service("EDI", "EDI — échanges de fichiers bailleurs"),
                  Service("BAILLEUR", "Espace bailleur — déclarations en ligne")],
        configure=flows.configure,
        migrations=Path(__file__).parent / "migrations" / "versions",
        blueprints=[bp, certificates_bp, declarations_bp],
        cli=[edi_cli],
        nav=[Nav("Mes déclarations", "edi_decl.index", 39),
             Nav("Fichiers EDI", "edi.files", 40),
             Nav("Avis de paiement", "edi.avis_list", 41),
             Nav("Supervision EDI", "edi.supervision", 42),
             Nav("Déclarations des bailleurs", "edi_decl.caf_index", 43),
             # Only where there is something to sign: an organisation with the EDI service.
             Nav("Certificats EDI", "edi_certs.index", 62,
                 shown_to=lambda user: user.organisation.active_contrat("EDI") is not None),
             Nav("Certificats bailleurs", "edi_certs.caf_index", 63)],
        home_panels=[certificates.home_panel],
        boards=[dashboard.LANDLORD_BOARD],
        charts=dashboard.CHARTS,
        beat={**tasks.BEAT_SCHEDULE,
              "edi-certificates-expiry": {"task": "edi.certificates.expiry_warnings",
                                          "schedule": crontab(hour=6, minute=30)}},
        demo_access=[flows.DEMO_ACCESS, declarations_demo.ACCESS],
        seed=[flows.seed_demo_avis, certificates_demo.seed_demo_certificate,
              declarations_demo.seed_private_landlord],
        labels=LABELS,
        notifications=notifications.KINDS,
        next_actions=[next_actions.next_actions],
    ))
