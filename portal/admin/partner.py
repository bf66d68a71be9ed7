"""Partner admin pages: their organisation's users and habilitations, and API tokens.
The user page and its actions are shared with Caf admins (who may act on any organisation);
another organisation's user, habilitation or token answers 404."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..access import requires, same_organisation_or_404
from ..extensions import db
from ..listing import SortKey, paginate, read_args
from .. import registry
from ..models import ApiToken, Habilitation, Organisation, User
from . import services
from .forms import (
    EmptyForm,
    HabilitationForm,
    SuspendForm,
    TokenForm,
    UserCreateForm,
    role_choices,
    service_choices,
)

bp = Blueprint("partner_admin", __name__, url_prefix="/administration")

PARTNER_ADMIN = {"partner_admin"}
USER_ADMINS = {"partner_admin", "caf_admin"}


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    same_organisation_or_404(user.organisation_id)
    if current_user.role != "caf_admin" and user.organisation_id != current_user.organisation_id:
        abort(404)
    return user


def _habilitation_or_404(hab_id: int) -> Habilitation:
    hab = db.session.get(Habilitation, hab_id)
    if hab is None:
        abort(404)
    _user_or_404(hab.user_id)
    return hab


def _token_or_404(token_id: int) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.organisation_id != current_user.organisation_id:
        abort(404)
    return token


def _apply_error(form, error: services.AdminError) -> None:
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = list(field.errors) + [error.message]
    else:
        flash(error.message, "error")


def _user_create_form(org: Organisation, prefix: str = "") -> UserCreateForm:
    form = UserCreateForm(prefix=prefix)
    form.role.choices = role_choices(services.roles_for(org))
    if not form.is_submitted():
        form.role.data = services.least_privileged_role(org)
    return form


def _create_user(org: Organisation, form: UserCreateForm):
    """On a valid submission, create the account (partner admin for their organisation, Caf
    admin for any): the redirect to the new user's page; otherwise None, with the errors on the
    form for the caller to show it again."""
    if form.validate_on_submit():
        try:
            user = services.create_user(org, actor=current_user, email=form.email.data,
                                        prenom=form.prenom.data, nom=form.nom.data, role=form.role.data)
            db.session.commit()
        except services.AdminError as error:
            _apply_error(form, error)
        else:
            flash(f"Compte créé : un lien d'activation a été envoyé à {user.email}.", "success")
            return redirect(url_for("partner_admin.user_detail", user_id=user.id))
    return None


def _allowed_choices(form, allowed: dict[str, list[str]], service_field) -> None:
    """The services under an active contract, and the profiles their contracts list."""
    labels = registry.current().all_profils()
    service_field.choices = {code: label for code, label in service_choices().items() if code in allowed}
    form.profil.choices = {"": "—", **{p: labels[p] for profils in allowed.values() for p in profils}}


def _habilitation_form(user: User) -> HabilitationForm:
    form = HabilitationForm(prefix="hab")
    _allowed_choices(form, services.grantable(user.organisation), form.service)
    return form


# --- Users -----------------------------------------------------------------------------------

USER_SORTS = {
    "nom": SortKey("Nom", (User.nom, User.prenom)),
    "adresse": SortKey("Adresse", (User.email,)),
    "role": SortKey("Rôle", (User.role, User.nom)),
}


@bp.get("/utilisateurs")
@requires(PARTNER_ADMIN)
def users():
    org = current_user.organisation
    query = select(User).where(User.organisation_id == org.id)
    listing = paginate(query, read_args(USER_SORTS, "nom"), USER_SORTS, tiebreak=(User.id,),
                       search_columns=(User.nom, User.prenom, User.email))
    # The review alert counts every user of the organisation, not only this page's.
    to_review = [h for u in db.session.scalars(query) for h in u.habilitations
                 if h.revoked_at is None and h.needs_review]
    return render_template("admin/partner_users.html", org=org, users=listing.items, listing=listing,
                           to_review=to_review)


@bp.route("/utilisateurs/nouveau", methods=["GET", "POST"])
@requires(PARTNER_ADMIN)
def user_new():
    org = current_user.organisation
    form = _user_create_form(org)
    created = _create_user(org, form)
    if created is not None:
        return created
    return render_template("admin/user_new.html", form=form, org=org,
                           action=url_for("partner_admin.user_new")), 200 if not form.errors else 422


@bp.get("/utilisateurs/<int:user_id>")
@requires(USER_ADMINS)
def user_detail(user_id: int):
    user = _user_or_404(user_id)
    return render_template("admin/user_detail.html", user=user, hab_form=_habilitation_form(user),
                           suspend_form=SuspendForm(prefix="susp"))


def _back_to(user: User):
    return redirect(url_for("partner_admin.user_detail", user_id=user.id))


@bp.post("/utilisateurs/<int:user_id>/desactiver")
@requires(USER_ADMINS)
def user_disable(user_id: int):
    user = _user_or_404(user_id)
    if EmptyForm().validate_on_submit():
        try:
            services.disable_user(user, actor=current_user)
            db.session.commit()
            flash("Compte désactivé : ses sessions sont fermées.", "success")
        except services.AdminError as error:
            flash(error.message, "error")
    return _back_to(user)


@bp.post("/utilisateurs/<int:user_id>/reactiver")
@requires(USER_ADMINS)
def user_enable(user_id: int):
    user = _user_or_404(user_id)
    if EmptyForm().validate_on_submit():
        services.enable_user(user, actor=current_user)
        db.session.commit()
        flash("Compte réactivé.", "success")
    return _back_to(user)


@bp.post("/utilisateurs/<int:user_id>/habilitations")
@requires(USER_ADMINS)
def habilitation_grant(user_id: int):
    user = _user_or_404(user_id)
    form = _habilitation_form(user)
    if form.validate_on_submit():
        try:
            services.grant_habilitation(user, actor=current_user, service=form.service.data,
                                        profil=form.profil.data or None)
            db.session.commit()
        except services.AdminError as error:
            _apply_error(form, error)
        else:
            flash("Habilitation accordée.", "success")
            return _back_to(user)
    return render_template("admin/user_detail.html", user=user, hab_form=form,
                           suspend_form=SuspendForm(prefix="susp")), 422


@bp.post("/habilitations/<int:hab_id>/retirer")
@requires(USER_ADMINS)
def habilitation_revoke(hab_id: int):
    hab = _habilitation_or_404(hab_id)
    if EmptyForm().validate_on_submit():
        services.revoke_habilitation(hab, actor=current_user)
        db.session.commit()
        flash("Habilitation retirée.", "success")
    return _back_to(hab.user)


@bp.post("/habilitations/<int:hab_id>/revue")
@requires(USER_ADMINS)
def habilitation_review(hab_id: int):
    hab = _habilitation_or_404(hab_id)
    if EmptyForm().validate_on_submit():
        try:
            services.review_habilitation(hab, actor=current_user)
            db.session.commit()
            flash("Habilitation confirmée pour 12 mois.", "success")
        except services.AdminError as error:
            flash(error.message, "error")
    if request.form.get("retour") == "liste" and current_user.role == "partner_admin":
        return redirect(url_for("partner_admin.users"))
    return _back_to(hab.user)


# --- API tokens ------------------------------------------------------------------------------

def _token_form() -> TokenForm:
    form = TokenForm()
    _allowed_choices(form, services.grantable(current_user.organisation), form.scopes)
    return form


@bp.get("/jetons")
@requires(PARTNER_ADMIN)
def tokens():
    rows = db.session.scalars(select(ApiToken).where(ApiToken.organisation_id == current_user.organisation_id)
                              .order_by(ApiToken.created_at.desc())).all()
    return render_template("admin/tokens.html", tokens=rows)


@bp.route("/jetons/nouveau", methods=["GET", "POST"])
@requires(PARTNER_ADMIN)
def token_new():
    form = _token_form()
    if form.validate_on_submit():
        try:
            token, raw = services.create_api_token(
                current_user.organisation, actor=current_user, nom=form.nom.data,
                scopes=form.scopes.data, profil=form.profil.data or None, days=form.days.data)
            db.session.commit()
        except services.AdminError as error:
            _apply_error(form, error)
        else:
            # Shown once, in this response only (never in the session, never again).
            return render_template("admin/token_created.html", token=token, raw=raw), 201
    return render_template("admin/token_new.html", form=form), 200 if not form.errors else 422


@bp.post("/jetons/<int:token_id>/revoquer")
@requires(PARTNER_ADMIN)
def token_revoke(token_id: int):
    token = _token_or_404(token_id)
    if EmptyForm().validate_on_submit():
        services.revoke_api_token(token, actor=current_user)
        db.session.commit()
        flash(f"Jeton « {token.nom} » révoqué.", "success")
    return redirect(url_for("partner_admin.tokens"))
