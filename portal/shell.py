"""What the shell itself brings, declared like a domain's (``portal.registry.Domain``): its
pages and navigation, the administrators' home panel and demo step, the notifications (their
pages, the header's bell and the daily digest), the Caf's dashboard, the
labels of its audit categories and its migrations."""
from __future__ import annotations

from pathlib import Path

from .registry import Domain, Nav

from .labels import AUDIT_ACTIONS, AUDIT_CATEGORIES, AUDIT_DETAILS, AUDIT_TARGETS, VALEURS


def domain() -> Domain:
    from . import dashboards
    from .accounts.views import bp as accounts_bp
    from .admin import caf, panels, partner, tasks  # noqa: F401  (tasks: the admin jobs' handlers)
    from .home import bp as home_bp
    from .info import bp as info_bp
    from .notifications import tasks as notification_tasks, views as notification_views
    from .notifications.cli import notifications_cli
    from celery.schedules import crontab
    return Domain(
        name="portal",
        migrations=Path(__file__).parent / "migrations" / "versions",
        configure=notification_views.init_app,
        cli=[notifications_cli],
        blueprints=[accounts_bp, home_bp, info_bp, partner.bp, caf.bp, dashboards.bp, notification_views.bp],
        nav=[Nav("Accueil", "home.index", 0),
             Nav("Utilisateurs", "partner_admin.users", 80),
             Nav("Jetons d'API", "partner_admin.tokens", 81),
             Nav("Organisations", "caf_admin.organisations", 85),
             Nav("Piste d'audit", "caf_admin.audit_trail", 86),
             Nav("Mon compte", "accounts.account", 95)],
        home_panels=[panels.home_panel],
        boards=[dashboards.CAF_BOARD],
        seed=[panels.seed_demo],
        labels={"audit_categories": AUDIT_CATEGORIES, "audit_actions": AUDIT_ACTIONS,
                "audit_details": AUDIT_DETAILS, "audit_targets": AUDIT_TARGETS, "valeurs": VALEURS},
        beat={"notification-digests": {"task": notification_tasks.DIGEST_TASK,
                                       "schedule": crontab(hour=7, minute=30)}},
    )
