from urllib.parse import urlsplit

from flask import (
    Blueprint,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_user, logout_user

from ..access import ALL_ROLES_ANY, public, requires
from ..extensions import db, limiter
from . import services, sessions
from .forms import (
    ChangePasswordForm,
    EmptyForm,
    LoginForm,
    MfaStartForm,
    ResetPasswordForm,
    ResetRequestForm,
    TotpForm,
)

bp = Blueprint("accounts", __name__)


def _safe_next(target: str | None) -> str:
    r"""`next` only if it is a plain path of this site: "/..." with no scheme or host, no
    backslash (browsers read "/\host" as "//host") and nothing unprintable (CR/LF made the
    Location header invalid, a 500; browsers drop a tab, so "/<tab>/host" is "//host")."""
    if (target and target.startswith("/") and not target.startswith("//")
            and target.isprintable() and "\\" not in target and urlsplit(target).netloc == ""):
        return target
    return url_for("home.index")


@bp.route("/connexion", methods=["GET", "POST"])
@public
@limiter.limit("20 per minute", methods=["POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data)
        except services.LoginRefused as refused:
            form.password.errors.append(str(refused))
        else:
            services.log_in(user)
            # Read before the commit expires the user: after it, each read reloads the user,
            # its organisation and its habilitations (three statements for nothing).
            login_user(user)
            mfa_required, mfa_enrolled = user.mfa_required, user.mfa_enrolled_at is not None
            db.session.commit()
            if mfa_required:
                if mfa_enrolled:
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
        ok = services.complete_mfa(current_user, form.code.data)
        db.session.commit()
        if ok:
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
        services.log_out(current_user)
        db.session.commit()
        logout_user()
        flash("Vous êtes déconnecté.", "info")
    return redirect(url_for("accounts.login"))


@bp.get("/compte")
@requires(ALL_ROLES_ANY)
def account():
    return render_template("accounts/account.html")


def _mfa_enrolment_gate():
    """Replacing an enrolled factor needs the current one first: a password alone never
    changes the second factor."""
    if current_user.mfa_enrolled_at and not g.get("mfa_verified"):
        return redirect(url_for("accounts.mfa_verify", next=url_for("accounts.mfa_enrol")))
    return None


@bp.route("/compte/double-authentification", methods=["GET", "POST"])
@requires(ALL_ROLES_ANY, allow_without_mfa=True)
@limiter.limit("20 per minute", methods=["POST"])
def mfa_enrol():
    """Enrol (or replace) the TOTP factor. GET only reads: it shows the pending secret (QR code
    and manual key) if there is one, else a button that creates it (`mfa_enrol_start`, POST).
    POST confirms the pending secret with a first code."""
    if (gate := _mfa_enrolment_gate()) is not None:
        return gate
    form = TotpForm()
    if form.validate_on_submit():
        confirmed = services.confirm_mfa_enrolment(current_user, form.code.data)
        db.session.commit()
        if confirmed:
            flash("La vérification en deux étapes est activée sur votre nouvel appareil.", "success")
            return redirect(url_for("home.index"))
        if current_user.totp_pending_secret:
            form.code.errors.append("Code incorrect : vérifiez l'heure de votre appareil et réessayez.")
        else:
            flash("Commencez par générer une clé, puis saisissez le code affiché par l'application.", "error")
    status = 200 if request.method == "GET" else 422  # a POST that lands here was refused
    secret = current_user.totp_pending_secret
    if not secret:
        return render_template("accounts/mfa_enrol.html", form=None, secret=None, qr_svg=None), status
    uri = services.provisioning_uri(current_user, secret)
    return render_template("accounts/mfa_enrol.html", form=form, secret=secret,
                           qr_svg=services.qr_code_svg(uri)), status


@bp.post("/compte/double-authentification/cle")
@requires(ALL_ROLES_ANY, allow_without_mfa=True)
@limiter.limit("20 per minute")
def mfa_enrol_start():
    """Create the pending TOTP secret (or a new one, `renew=1`), then show it (PRG)."""
    if (gate := _mfa_enrolment_gate()) is not None:
        return gate
    form = MfaStartForm()
    if form.validate_on_submit():
        services.start_mfa_enrolment(current_user, renew=form.renew.data == "1")
        db.session.commit()
    return redirect(url_for("accounts.mfa_enrol"))


@bp.route("/compte/mot-de-passe", methods=["GET", "POST"])
@requires(ALL_ROLES_ANY)
@limiter.limit("10 per minute", methods=["POST"])
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(current_user, form.current_password.data, form.new_password.data)
        except services.PasswordRefused as refused:
            target = form.current_password if "actuel est incorrect" in str(refused) else form.new_password
            target.errors.extend(refused.problems)
        else:
            # Every session died, this one included: open a fresh one for this browser.
            user = current_user._get_current_object()
            mfa_done = bool(g.get("mfa_verified"))
            logout_user()
            sessions.start_session(user, mfa_verified=mfa_done)
            db.session.commit()  # the new password and this browser's fresh session together
            login_user(user)
            flash("Votre mot de passe est modifié. Vos autres sessions ont été fermées.", "success")
            return redirect(url_for("accounts.account"))
    return render_template("accounts/change_password.html", form=form), 200 if not form.errors else 422


@bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
@public
@limiter.limit("5 per minute", methods=["POST"])
def reset_request():
    form = ResetRequestForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        db.session.commit()
        flash(services.RESET_SENT_MESSAGE, "info")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_request.html", form=form), 200 if not form.errors else 422


@bp.route("/mot-de-passe-oublie/nouveau", methods=["GET", "POST"])
@public
@limiter.limit("10 per minute", methods=["POST"])
def reset_confirm():
    """The one-time link lands here (`?token=`, a name the log filter masks)."""
    form = ResetPasswordForm()
    if request.method == "GET":
        form.token.data = request.args.get("token", "")
        if services.find_valid_reset_token(form.token.data) is None:
            return render_template("accounts/reset_invalid.html"), 410
    if form.validate_on_submit():
        try:
            services.reset_password(form.token.data, form.new_password.data)
        except services.ResetLinkInvalid:
            return render_template("accounts/reset_invalid.html"), 410
        except services.PasswordRefused as refused:
            form.new_password.errors.extend(refused.problems)
        else:
            flash("Votre mot de passe est enregistré : vous pouvez vous connecter.", "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_confirm.html", form=form), 200 if not form.errors else 422
