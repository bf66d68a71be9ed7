"""AFAS service: partners' activity declarations, their instruction by the Caf, droits and
acomptes. `register(app)` is the only thing the portal shell calls: it declares everything AFAS
brings in one `portal.registry.Domain`."""
from pathlib import Path

from flask import Flask


def register(app: Flask) -> None:
    from celery.schedules import crontab

    from portal.registry import Domain, Nav, Service, contribute

    from . import api, attachments, models, tasks  # noqa: F401  (tables, API routes, job handlers)
    from . import dashboard, demo, next_actions, notifications
    from .labels import LABELS
    from .cli import afas_cli
    from .views import bp, home_panel, partner_may_view
    from . import views_conventions  # noqa: F401  (conventions, territoire, barème versions)
    from .paiement import api as paiement_api, models as paiement_models, tasks as paiement_tasks  # noqa: F401
    from .paiement import views as paiement_views  # noqa: F401  (payment hand-off pages)
    from .paiement import views_coordonnees  # noqa: F401  (the partners' bank details)
    from .paiement import cli as paiement_cli, demo as paiement_demo  # noqa: F401  (afas produce-ordre-paiement)

    contribute(app, Domain(
        name="afas",
        services=[Service("AFAS", "AFAS — déclarations d'activité")],
        migrations=Path(__file__).parent / "migrations" / "versions",
        blueprints=[bp],
        cli=[afas_cli],
        nav=[Nav("Déclarations AFAS", "afas.index", 20),
             Nav("Instruction AFAS", "afas.queue", 21),
             Nav("Conventions AFAS", "afas.conventions_list", 22),
             Nav("Paiements AFAS", "afas.paiement_ordres", 23),
             Nav("Paiements AFAS", "afas.paiement_partenaire", 24, shown_to=partner_may_view),
             Nav("Barèmes AFAS", "afas.baremes", 60)],
        home_panels=[home_panel],
        boards=[dashboard.PARTNER_BOARD],
        charts=dashboard.CHARTS,
        beat={"afas-record-campaigns": {"task": "afas.record_campaigns",
                                        "schedule": crontab(hour=5, minute=50)},
              # What is due goes to the payment system in a signed order file (afas.paiement);
              # acomptes are « versés » only when its return file says so.
              "afas-payment-order": {"task": "afas.produce_payment_order",
                                     "schedule": crontab(hour=6, minute=0)}},
        demo_access=[demo.ACCESS],
        seed=[demo.seed, paiement_demo.seed],
        labels=LABELS,
        notifications=notifications.KINDS,
        next_actions=[next_actions.next_actions],
    ))
