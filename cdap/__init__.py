"""CDAP service: traced, profile-limited consultation of a beneficiary's file.

`register(app)` is the only thing the portal shell calls: it declares everything CDAP brings in
one `portal.registry.Domain`, its habilitation profiles among them (``cdap.policy.POLICY``).
"""
from pathlib import Path

from flask import Flask


def register(app: Flask) -> None:
    from celery.schedules import crontab

    from portal.registry import Domain, Nav, Service, contribute

    from . import api, models, tasks  # noqa: F401  (tables, API routes, job handlers)
    from . import dashboard, demo, next_actions, notifications, settings
    from .labels import LABELS
    from .atypical import organisation_token_suspension, token_suspension_column
    from .cli import cdap_group
    from .policy import POLICY
    from .views import bp
    from .situations import demo as situation_demo, models as situation_models, oversight, tasks as situation_tasks, views as situation_views  # noqa: F401

    contribute(app, Domain(
        name="cdap",
        services=[Service("CDAP", "CDAP — consultation des dossiers allocataires",
                          profils={name: profile.label for name, profile in POLICY.items()}, mfa=True,
                          token_check=lambda org: organisation_token_suspension(org.id),
                          token_state=token_suspension_column)],
        configure=settings.configure,
        migrations=Path(__file__).parent / "migrations" / "versions",
        blueprints=[bp],
        cli=[cdap_group],
        nav=[Nav("Consulter un dossier", "cdap.consultation_form", 30),
             Nav("Impayés de loyer", "cdap.queue", 31),
             Nav("Agenda des situations", "cdap.situation_agenda", 31),
             Nav("Suivi de mes signalements", "cdap.landlord_declarations", 31),
             Nav("Mes consultations", "cdap.my_journal", 32),
             Nav("Consultations de l'organisation", "cdap.organisation_journal", 33),
             Nav("Journal d'un allocataire", "cdap.allocataire_journal", 34),
             Nav("Alertes CDAP", "cdap.alerts", 35)],
        boards=[oversight.LEAD_BOARD],
        charts=[*dashboard.CHARTS, *oversight.CHARTS],
        beat={"cdap-journal-purge": {"task": "cdap.purge_journal", "schedule": crontab(hour=3, minute=40)},
              "cdap-situations-purge": {"task": "cdap.purge_situations", "schedule": crontab(hour=3, minute=50)}},
        demo_access=[demo.ACCESS],
        seed=[demo.seed, situation_demo.seed],
        labels=LABELS,
        notifications=notifications.KINDS,
        next_actions=[next_actions.next_actions],
    ))
