"""Home page: the panels the shell and the domains registered (``portal.registry``:
``fn(user) -> (template, context) | None``), then the dashboards shown to the user."""
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
    panels = []
    for provider in registry.current().home_panels:
        panel = provider(current_user)
        if panel:
            panels.append(panel)
    panels.extend(dashboards.panels(current_user))
    return render_template("home.html", panels=panels)


@bp.get("/sante")
@public
def health():
    return jsonify(status="ok")
