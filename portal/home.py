from flask import Blueprint, jsonify, redirect, render_template, url_for
from flask_login import current_user

from .access import ALL_ROLES_ANY, public, requires

bp = Blueprint("home", __name__)

# Domains contribute home-page panels: a callable returning (template, context) or None.
HOME_PANELS_KEY = "home_panels"


@bp.get("/")
@public
def root():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    return redirect(url_for("accounts.login"))


@bp.get("/accueil")
@requires(ALL_ROLES_ANY)
def index():
    from flask import current_app
    panels = []
    for provider in current_app.extensions.get(HOME_PANELS_KEY, []):
        panel = provider(current_user)
        if panel:
            panels.append(panel)
    return render_template("home.html", panels=panels)


@bp.get("/sante")
@public
def health():
    return jsonify(status="ok")
