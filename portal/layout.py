"""Template globals: navigation by role and the user's services, DSFR helpers."""
from flask import Flask, request, url_for
from markupsafe import Markup
from flask_login import current_user

from . import formatting, registry
from .access import rule_allows, rule_for_endpoint


def init_app(app: Flask) -> None:
    # Navigation entries are the shell's and the domains' (portal.registry.Nav). Only entries
    # whose route the current user may open are shown, using the routes' own access declarations.
    # What does not depend on the user is worked out once per process (the entries sorted with
    # their access rules, their URLs per script root); per request only the user's checks run,
    # each service's habilitation looked up once (27 lookups of the same few before).
    menu: list = []
    urls: dict[tuple[str, str], str] = {}

    def entries():
        if not menu:
            menu.extend((entry, rule_for_endpoint(entry.endpoint))
                        for entry in sorted(registry.of(app).nav, key=lambda n: (n.order, n.label, n.endpoint)))
        return menu

    def url(endpoint: str, **values) -> str:
        """`url_for` for a URL that never changes in this process (static files, pages without
        parameters), built once per script root: 18 µs each, ≈ 20 on every page's layout."""
        key = (request.script_root, endpoint, *sorted(values.items()))
        if key not in urls:
            urls[key] = url_for(endpoint, **values)
        return urls[key]

    app.add_template_global(url, "fixed_url")

    fragments: dict[tuple[str, str], Markup] = {}

    def static_fragment(name: str) -> Markup:
        """A part of the layout that reads nothing of the request but its script root (links to
        the static files, footer, confirmation modal, scripts): rendered once per script root,
        not at every page (≈ 40 lines and 15 URLs of every page, #22). Development rereads the
        template each time, as it does for the others."""
        key = (request.script_root, name)
        if key not in fragments or app.jinja_env.auto_reload:
            fragments[key] = Markup(app.jinja_env.get_template(name).render())
        return fragments[key]

    app.add_template_global(static_fragment, "static_fragment")

    # The menu is a function of what decides it: the role, which of the menu's services the
    # user may use, the entries' own `shown_to` answers and the script root. Each distinct
    # combination is built once per process (a handful of roles × habilitation sets); per
    # request only those few answers are worked out; `access.rule_allows` is the test of both the
    # access hook (`user_may`) and the menu. Before: each entry's rule and URL checked per request.
    menus: dict[tuple, tuple[dict, ...]] = {}
    services: list[str] = []

    def menu_services() -> list[str]:
        if not services:
            services.extend(sorted({rule.service for _e, rule in entries() if rule is not None and rule.service}))
        return services

    @app.context_processor
    def _nav():
        def nav_items():
            if not current_user.is_authenticated:
                return []
            user = current_user._get_current_object()
            usable = frozenset(s for s in menu_services() if user.habilitation(s) is not None)
            shown = tuple(entry.shown_to(user) for entry, _r in entries() if entry.shown_to is not None)
            key = (request.script_root, user.role, usable, shown)
            if key not in menus:
                menus[key] = _menu(user.role, usable, iter(shown))
            return menus[key]

        def _menu(role, usable, shown) -> tuple[dict, ...]:
            items = []
            for entry, rule in entries():
                if entry.shown_to is not None and not next(shown):
                    continue
                if rule is not None and rule.kind == "user" and rule_allows(rule, role, usable):
                    items.append({"label": entry.label, "url": url(entry.endpoint), "endpoint": entry.endpoint})
            return tuple(items)

        def has_endpoint(endpoint):
            return endpoint in app.view_functions

        return {"nav_items": nav_items, "has_endpoint": has_endpoint}

    @app.template_filter("euros")
    def euros(value):
        return formatting.euros(value)

    @app.template_filter("accord")
    def accord(value, singulier, pluriel=None):
        """`{{ n|accord("ligne") }}` → « 3 lignes »."""
        return formatting.accord(value, singulier, pluriel)

    @app.template_filter("entier")
    def entier(value):
        return formatting.entier(value)

    @app.template_filter("date_fr")
    def date_fr(value):
        return value.strftime("%d/%m/%Y") if value else "—"

    @app.template_filter("datetime_fr")
    def datetime_fr(value, secondes=False, fuseau=False):
        """A stored timestamp (naive UTC) on the Paris clock: « 12/12/2025 à 14 h 32 »."""
        return formatting.date_heure(value, secondes=secondes, fuseau=fuseau)

    @app.template_filter("date_longue")
    def date_longue(value):
        return formatting.date_longue(value)

    @app.template_filter("mois_annee")
    def mois_annee(value):
        return formatting.mois_annee(value)

    @app.template_filter("decimal")
    def decimal(value, decimales=2):
        return "—" if value is None else formatting.decimal(value, decimales)

    @app.template_filter("nombre")
    def nombre(value, decimales=2):
        return "—" if value is None else formatting.nombre(value, decimales)
