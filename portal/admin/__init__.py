"""Administration: partner admins (their organisation's users, habilitations, API tokens) and
Caf admins (organisations, contracts, suspensions, audit trail). Registered by the app factory."""
from flask import Flask


def register(app: Flask) -> None:
    from ..layout import add_nav
    from .caf import bp as caf_bp
    from .partner import bp as partner_bp
    app.register_blueprint(partner_bp)
    app.register_blueprint(caf_bp)
    add_nav(app, "Utilisateurs", "partner_admin.users", 80)
    add_nav(app, "Jetons d'API", "partner_admin.tokens", 81)
    add_nav(app, "Organisations", "caf_admin.organisations", 85)
    add_nav(app, "Piste d'audit", "caf_admin.audit_trail", 86)
    add_nav(app, "Mon compte", "accounts.account", 95)
