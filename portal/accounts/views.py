from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from ..access import ALL_ROLES_ANY, public, requires
from ..extensions import limiter
from . import service
from .forms import EmptyForm, LoginForm, TotpForm

bp = Blueprint("accounts", __name__)


def _safe_next(target: str | None) -> str:
    if target and urlsplit(target).netloc == "" and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("home.index")


@bp.route("/connexion", methods=["GET", "POST"])
@public
@limiter.limit("20 per minute", methods=["POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = service.authenticate(form.email.data, form.password.data)
        except service.LoginRefused as refused:
            form.password.errors.append(str(refused))
        else:
            service.log_in(user)
            login_user(user)
            if user.mfa_required:
                if user.mfa_enrolled_at:
                    return redirect(url_for("accounts.mfa_verify", next=request.args.get("next")))
                return redirect(url_for("accounts.mfa_enrol"))
            return redirect(_safe_next(request.args.get("next")))
    return render_template("accounts/login.html", form=form), 200 if not form.errors else 422


@bp.route("/connexion/code", methods=["GET", "POST"])
@requires(ALL_ROLES_ANY, allow_without_mfa=True)
@limiter.limit("20 per minute", methods=["POST"])
def mfa_verify():
    form = TotpForm()
    if form.validate_on_submit():
        if service.complete_mfa(current_user, form.code.data):
            return redirect(_safe_next(request.args.get("next")))
        if not current_user.is_authenticated or current_user.locked_until:
            logout_user()
            flash("Trop d'échecs : votre compte est temporairement verrouillé.", "error")
            return redirect(url_for("accounts.login"))
        form.code.errors.append("Code incorrect ou déjà utilisé.")
    return render_template("accounts/mfa_verify.html", form=form), 200 if not form.errors else 422


@bp.post("/deconnexion")
@requires(ALL_ROLES_ANY, allow_without_mfa=True)
def logout():
    form = EmptyForm()
    if form.validate_on_submit():
        service.log_out(current_user)
        logout_user()
        flash("Vous êtes déconnecté.", "info")
    return redirect(url_for("accounts.login"))
