"""Template globals: navigation by role and the user's services, DSFR helpers."""
from flask import Flask, url_for
from flask_login import current_user

from .access import rule_for_endpoint, user_may

# (label, endpoint) entries; a domain adds its own with `add_nav`. Only entries whose route
# the current user may open are shown, using the routes' own access declarations.
NAV_KEY = "portal_nav"


def add_nav(app: Flask, label: str, endpoint: str, order: int = 50) -> None:
    app.extensions.setdefault(NAV_KEY, []).append((order, label, endpoint))


def init_app(app: Flask) -> None:
    add_nav(app, "Accueil", "home.index", 0)

    @app.context_processor
    def _nav():
        def nav_items():
            if not current_user.is_authenticated:
                return []
            items = []
            for _order, label, endpoint in sorted(app.extensions.get(NAV_KEY, [])):
                rule = rule_for_endpoint(endpoint)
                if rule is not None and rule.kind == "user" and user_may(current_user, rule):
                    items.append({"label": label, "url": url_for(endpoint), "endpoint": endpoint})
            return items
        def has_endpoint(endpoint):
            return endpoint in app.view_functions

        return {"nav_items": nav_items, "has_endpoint": has_endpoint}

    @app.template_filter("euros")
    def euros(value):
        if value is None:
            return "—"
        return f"{value:,.2f} €".replace(",", "\u202f").replace(".", ",")

    @app.template_filter("date_fr")
    def date_fr(value):
        return value.strftime("%d/%m/%Y") if value else "—"

    @app.template_filter("datetime_fr")
    def datetime_fr(value):
        return value.strftime("%d/%m/%Y %H:%M") if value else "—"
