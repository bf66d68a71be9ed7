"""Caf admin pages: organisations (convention, contracts per service), suspensions of an
organisation or of a habilitation, creation of a partner's first users, and the audit trail
with the latest chain verification (a background job started on demand by a POST, never on a
page load)."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import false, func, select

from .. import audit
from ..access import requires
from ..audit import AuditEntry
from ..extensions import db
from ..listing import SortKey, paginate, read_args
from .. import registry
from ..models import Contrat, Habilitation, Organisation, User
from . import services
from .forms import (
    AuditFilterForm,
    ContratForm,
    ContratUpdateForm,
    EmptyForm,
    OrganisationForm,
    SuspendForm,
    UserCreateForm,
    role_choices,
)
from .partner import _apply_error, _create_user, _user_create_form

bp = Blueprint("caf_admin", __name__, url_prefix="/caf/administration")
CAF_ADMIN = {"caf_admin"}
AUDIT_PAGE_SIZE = 50


def _org_or_404(org_id: int) -> Organisation:
    org = db.session.get(Organisation, org_id)
    if org is None:
        abort(404)
    return org


def _as_datetime(value):
    return datetime.combine(value, time.min) if value else None


def _submit(form, action, *, success: str, org_id=None):
    """Run a validated form's service call and commit: a redirect to the organisation (id taken
    from the result when there is none yet) with `success` flashed, or None when the form is
    refused, the refusal rolled back and shown on its field."""
    if not form.validate_on_submit():
        return None
    try:
        result = action()
        db.session.commit()
    except services.AdminError as error:
        db.session.rollback()
        _apply_error(form, error)
        return None
    flash(success, "success")
    return redirect(url_for("caf_admin.organisation", org_id=org_id or result.id))


def _org_page(org: Organisation, *, org_form=None, contrat_form=None, suspend_form=None,
              user_form=None, status=200):
    org_form = org_form or OrganisationForm(obj=org, prefix="org")
    contrat_form = contrat_form or ContratForm(prefix="contrat")
    user_form = user_form or UserCreateForm(prefix="user")
    user_form.role.choices = role_choices(services.roles_for(org))
    update_forms = {c.id: _contrat_update_form(c) for c in org.contrats}
    return render_template("admin/organisation.html", org=org, org_form=org_form,
                           contrat_form=contrat_form, suspend_form=suspend_form or SuspendForm(prefix="susp"),
                           user_form=user_form, update_forms=update_forms), status


def _contrat_update_form(contrat: Contrat) -> ContratUpdateForm:
    """The contract's form, offering its own service's profiles (none: no profile field)."""
    form = ContratUpdateForm(prefix=f"c{contrat.id}", obj=contrat)
    form.profils.choices = dict(registry.current().profils(contrat.service))
    form.profils.label.text = f"Profils {contrat.service} autorisés"
    return form


@bp.get("/organisations")
@requires(CAF_ADMIN)
def organisations():
    q = (request.args.get("q") or "").strip()[:100]
    query = select(Organisation).order_by(Organisation.nom)
    if q:
        like = f"%{q.lower()}%"
        query = query.where(func.lower(Organisation.nom).like(like) | Organisation.siret.like(like)
                            | func.lower(Organisation.code_bailleur).like(like))
    return render_template("admin/organisations.html", orgs=db.session.scalars(query).all(), q=q)


@bp.route("/organisations/nouvelle", methods=["GET", "POST"])
@requires(CAF_ADMIN)
def organisation_new():
    form = OrganisationForm(prefix="org")
    done = _submit(form, lambda: services.save_organisation(None, actor=current_user, **_org_values(form)),
                   success="Organisation créée. Ajoutez ses contrats de service.")
    if done:
        return done
    return render_template("admin/organisation_new.html", form=form), 200 if not form.errors else 422


def _org_values(form: OrganisationForm) -> dict:
    return {"nom": form.nom.data, "kind": form.kind.data, "siret": form.siret.data,
            "code_bailleur": form.code_bailleur.data, "territoire": (form.territoire.data or "").upper(),
            "convention_ref": form.convention_ref.data,
            "convention_signee_le": _as_datetime(form.convention_signee_le.data)}


@bp.get("/organisations/<int:org_id>")
@requires(CAF_ADMIN)
def organisation(org_id: int):
    return _org_page(_org_or_404(org_id))


@bp.post("/organisations/<int:org_id>")
@requires(CAF_ADMIN)
def organisation_update(org_id: int):
    org = _org_or_404(org_id)
    form = OrganisationForm(prefix="org")
    done = _submit(form, lambda: services.save_organisation(org, actor=current_user, **_org_values(form)),
                   success="Organisation enregistrée.", org_id=org.id)
    return done or _org_page(org, org_form=form, status=422)


@bp.post("/organisations/<int:org_id>/contrats")
@requires(CAF_ADMIN)
def contrat_add(org_id: int):
    org = _org_or_404(org_id)
    form = ContratForm(prefix="contrat")
    done = _submit(form, lambda: services.add_contrat(
        org, actor=current_user, service=form.service.data, profils=form.profils.data,
        debut=_as_datetime(form.debut.data), fin=_as_datetime(form.fin.data)),
        success="Contrat de service ajouté.", org_id=org.id)
    return done or _org_page(org, contrat_form=form, status=422)


@bp.post("/contrats/<int:contrat_id>")
@requires(CAF_ADMIN)
def contrat_update(contrat_id: int):
    contrat = db.session.get(Contrat, contrat_id) or abort(404)
    form = ContratUpdateForm(prefix=f"c{contrat.id}")
    if form.validate_on_submit():
        try:
            services.update_contrat(contrat, actor=current_user, profils=form.profils.data,
                                    fin=_as_datetime(form.fin.data))
            db.session.commit()
            flash("Contrat modifié.", "success")
        except services.AdminError as error:
            db.session.rollback()
            flash(error.message, "error")
    else:
        flash("Contrat non modifié : " + " ".join(e for errs in form.errors.values() for e in errs), "error")
    return redirect(url_for("caf_admin.organisation", org_id=contrat.organisation_id))


@bp.post("/organisations/<int:org_id>/suspendre")
@requires(CAF_ADMIN)
def organisation_suspend(org_id: int):
    org = _org_or_404(org_id)
    form = SuspendForm(prefix="susp")
    done = _submit(form, lambda: services.suspend_organisation(org, actor=current_user, motif=form.motif.data),
                   success="Organisation suspendue : ses sessions et jetons ne fonctionnent plus.",
                   org_id=org.id)
    return done or _org_page(org, suspend_form=form, status=422)


@bp.post("/organisations/<int:org_id>/retablir")
@requires(CAF_ADMIN)
def organisation_lift(org_id: int):
    org = _org_or_404(org_id)
    if EmptyForm().validate_on_submit():
        services.lift_organisation_suspension(org, actor=current_user)
        db.session.commit()
        flash("Suspension levée.", "success")
    return redirect(url_for("caf_admin.organisation", org_id=org.id))


@bp.post("/organisations/<int:org_id>/utilisateurs")
@requires(CAF_ADMIN)
def organisation_user_new(org_id: int):
    """The Caf opens an organisation's first accounts (typically its partner admin)."""
    org = _org_or_404(org_id)
    form = _user_create_form(org, prefix="user")
    created = _create_user(org, form)
    if created is not None:
        return created
    return _org_page(org, user_form=form, status=422)


@bp.post("/habilitations/<int:hab_id>/suspendre")
@requires(CAF_ADMIN)
def habilitation_suspend(hab_id: int):
    hab = db.session.get(Habilitation, hab_id) or abort(404)
    form = SuspendForm(prefix="susp")
    if form.validate_on_submit():
        try:
            services.suspend_habilitation(hab, actor=current_user, motif=form.motif.data,
                                          until=_as_datetime(form.until.data))
            db.session.commit()
        except services.AdminError as error:
            flash(error.message, "error")
        else:
            flash("Habilitation suspendue : les sessions de l'utilisateur sont fermées.", "success")
    else:
        flash("Suspension refusée : " + " ".join(e for errs in form.errors.values() for e in errs), "error")
    return redirect(url_for("partner_admin.user_detail", user_id=hab.user_id))


@bp.post("/habilitations/<int:hab_id>/lever")
@requires(CAF_ADMIN)
def habilitation_lift(hab_id: int):
    hab = db.session.get(Habilitation, hab_id) or abort(404)
    if EmptyForm().validate_on_submit():
        services.lift_habilitation_suspension(hab, actor=current_user)
        db.session.commit()
        flash("Suspension levée.", "success")
    return redirect(url_for("partner_admin.user_detail", user_id=hab.user_id))


# --- Audit trail -----------------------------------------------------------------------------

AUDIT_SORTS = {
    "seq": SortKey("N°", (AuditEntry.seq,), "desc"),
    "categorie": SortKey("Catégorie", (AuditEntry.category, AuditEntry.seq)),
}


@bp.get("/audit")
@requires(CAF_ADMIN)
def audit_trail():
    form = AuditFilterForm(request.args)
    categories = db.session.scalars(select(AuditEntry.category).distinct().order_by(AuditEntry.category)).all()
    labels = registry.current()  # the categories' labels: the shell's and the domains' own
    form.category.choices = {"": "Toutes", **{c: labels.label("audit_categories", c) for c in categories}}
    orgs = db.session.execute(select(Organisation.id, Organisation.nom).order_by(Organisation.nom)).all()
    form.organisation.choices = {"": "Toutes", **{str(i): n for i, n in orgs}}
    actions = db.session.scalars(select(AuditEntry.action).distinct()).all()
    def action_name(code: str) -> str:  # an action no service labelled: its words, not its code
        label = labels.label("audit_actions", code)
        return label.replace("_", " ").capitalize() if label == code else label
    form.action.choices = {"": "Toutes", **dict(sorted(
        ((a, action_name(a)) for a in actions), key=lambda kv: kv[1].lower()))}
    query = select(AuditEntry)
    valid = form.validate()
    if valid:
        if form.category.data:
            query = query.where(AuditEntry.category == form.category.data)
        if form.action.data:
            query = query.where(AuditEntry.action == form.action.data)
        if form.organisation.data and form.organisation.data.isdigit():
            query = query.where(AuditEntry.organisation_id == int(form.organisation.data))
        if form.du.data:
            query = query.where(AuditEntry.at >= _as_datetime(form.du.data))
        if form.au.data:
            query = query.where(AuditEntry.at < _as_datetime(form.au.data) + timedelta(days=1))
    else:
        query = query.where(false())  # a refused filter shows its error, not the whole trail
    listing = paginate(query, read_args(AUDIT_SORTS, "seq"), AUDIT_SORTS, per_page=AUDIT_PAGE_SIZE,
                       search_columns=(AuditEntry.target, AuditEntry.action, AuditEntry.ip))
    entries = listing.items
    actors = {u.id: u for u in db.session.scalars(
        select(User).where(User.id.in_({e.actor_user_id for e in entries if e.actor_user_id})))}
    org_names = dict(orgs)
    # The latest verification (a job started by the POST below): the page never walks the chain.
    verification = audit.last_verification()
    in_progress = services.verification_in_progress() is not None
    verifier = added_since = None
    if verification is not None:
        if verification.actor_user_id:
            verifier = db.session.get(User, verification.actor_user_id)
        last_seq = db.session.scalar(select(func.max(AuditEntry.seq))) or 0
        added_since = max(0, last_seq - verification.seq)
    return render_template("admin/audit.html", form=form, entries=entries, actors=actors,
                           org_names=org_names, verification=verification, verifier=verifier,
                           in_progress=in_progress, added_since=added_since, listing=listing,
                           action_label=lambda a: labels.label("audit_actions", a)), 200 if valid else 400


@bp.post("/audit/verification")
@requires(CAF_ADMIN)
def audit_verify():
    """Start a verification of the whole chain in the background (long on a long chain); the
    job records the outcome, which the page shows once it is done."""
    if EmptyForm().validate_on_submit():
        if services.start_audit_chain_verification(actor=current_user) is None:
            flash("Une vérification est déjà en cours : aucune autre n'a été lancée.", "info")
        else:
            flash("Vérification lancée : le résultat s'affichera sur cette page une fois la chaîne relue.", "success")
    return redirect(url_for("caf_admin.audit_trail"))
