"""Home page: the user's next actions first, then the panels the shell and the domains
registered (``portal.registry``: both ``fn(user) -> (template, context) | None``), then the
dashboards shown to the user."""
from flask import Blueprint, jsonify, redirect, render_template, url_for
from flask_login import current_user

from . import dashboards, registry
from .access import ALL_ROLES_ANY, public, requires

bp = Blueprint("home", __name__)


@bp.get("/")
@public
def root():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    return redirect(url_for("accounts.login"))


@bp.get("/accueil")
@requires(ALL_ROLES_ANY)
def index():
    actions = [a for a in (provider(current_user) for provider in registry.current().next_actions) if a]
    panels = []
    for provider in registry.current().home_panels:
        panel = provider(current_user)
        if panel:
            panels.append(panel)
    panels.extend(dashboards.panels(current_user))
    return render_template("home.html", actions=actions, panels=panels,
                           contracted=_contracted_services(current_user),
                           habilitated=_habilitated_services(current_user))


def _contracted_services(user) -> list[str]:
    """The services under an active contract of the user's organisation (a partner admin holds
    no habilitation: they administer the organisation's services)."""
    return [s.label for code, s in registry.current().services.items()
            if user.organisation.active_contrat(code) is not None]


def _habilitated_services(user) -> list[str]:
    """The French labels of the services the user is habilitated for (a code such as
    « BAILLEUR » means nothing to the person reading the page)."""
    services = registry.current().services
    return [services[code].label for code in user.services()]


@bp.get("/sante")
@public
def health():
    return jsonify(status="ok")
