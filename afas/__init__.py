"""AFAS service. `register(app)` is the only thing the portal shell calls."""
from pathlib import Path

from flask import Flask


def register(app: Flask) -> None:
    from celery.schedules import crontab

    from portal.database import register_migrations
    from portal.demo import add_demo_seeder
    from portal.layout import add_nav

    from . import api, models, tasks  # noqa: F401  (tables, API routes on portal.api.bp, tasks)
    from .cli import afas_cli
    from .demo import seed
    from .views import bp, home_panel

    register_migrations(app, Path(__file__).parent / "migrations" / "versions")
    app.register_blueprint(bp)
    add_nav(app, "Déclarations AFAS", "afas.index", 20)
    add_nav(app, "Instruction AFAS", "afas.queue", 21)
    add_nav(app, "Barèmes AFAS", "afas.baremes", 60)
    app.extensions.setdefault("home_panels", []).append(home_panel)
    add_demo_seeder(app, seed)
    app.cli.add_command(afas_cli)
    app.config["CELERY_BEAT_SCHEDULE"]["afas-record-campaigns"] = {
        "task": "afas.record_campaigns", "schedule": crontab(hour=5, minute=50)}
    app.config["CELERY_BEAT_SCHEDULE"]["afas-pay-due-acomptes"] = {
        "task": "afas.pay_due_acomptes", "schedule": crontab(hour=6, minute=0)}
