"""Administration: partner admins (their organisation's users, habilitations, API tokens) and
Caf admins (organisations, contracts, suspensions, audit trail). Registered by the app factory."""
from flask import Flask


def register(app: Flask) -> None:
    from ..demo import add_demo_seeder
    from ..home import HOME_PANELS_KEY
    from ..layout import add_nav
    from . import tasks  # noqa: F401  (registers the admin jobs' handlers)
    from .caf import bp as caf_bp
    from .panels import home_panel, seed_demo
    from .partner import bp as partner_bp
    app.register_blueprint(partner_bp)
    app.register_blueprint(caf_bp)
    add_nav(app, "Utilisateurs", "partner_admin.users", 80)
    add_nav(app, "Jetons d'API", "partner_admin.tokens", 81)
    add_nav(app, "Organisations", "caf_admin.organisations", 85)
    add_nav(app, "Piste d'audit", "caf_admin.audit_trail", 86)
    add_nav(app, "Mon compte", "accounts.account", 95)
    app.extensions.setdefault(HOME_PANELS_KEY, []).append(home_panel)
    add_demo_seeder(app, seed_demo)
