"""CDAP service: traced, profile-limited consultation of a beneficiary's file.

`register(app)` is the only thing the portal shell calls.
"""
from pathlib import Path

from flask import Flask


def register(app: Flask) -> None:
    from portal.database import register_migrations
    register_migrations(app, Path(__file__).parent / "migrations" / "versions")
    from . import models  # noqa: F401  (tables on the metadata)
    from . import settings
    app.config["CDAP_SETTINGS"] = settings.load(app.config)
    app.config["CDAP_JOURNAL_RETENTION_MONTHS"] = app.config["CDAP_SETTINGS"]["CDAP_JOURNAL_RETENTION_MONTHS"]

    from portal.admin.services import register_token_check

    from .atypical import organisation_token_suspension
    register_token_check(app, "CDAP", lambda org: organisation_token_suspension(org.id))

    from . import api  # noqa: F401  (adds its routes to portal.api.bp before the shell registers it)
    from .views import bp
    app.register_blueprint(bp)

    from portal.layout import add_nav
    add_nav(app, "Consulter un dossier", "cdap.consultation_form", 30)
    add_nav(app, "Impayés de loyer", "cdap.queue", 31)
    add_nav(app, "Mes consultations", "cdap.my_journal", 32)
    add_nav(app, "Consultations de l'organisation", "cdap.organisation_journal", 33)
    add_nav(app, "Journal d'un allocataire", "cdap.allocataire_journal", 34)
    add_nav(app, "Alertes CDAP", "cdap.alerts", 35)

    from .cli import cdap_group
    app.cli.add_command(cdap_group)

    from portal.demo import add_demo_seeder
    from .demo import seed
    add_demo_seeder(app, seed)

    from .home import panel
    app.extensions.setdefault("home_panels", []).append(panel)

    from . import tasks  # noqa: F401
    from celery.schedules import crontab
    app.config["CELERY_BEAT_SCHEDULE"]["cdap-journal-purge"] = {
        "task": "cdap.purge_journal", "schedule": crontab(hour=3, minute=40)}
