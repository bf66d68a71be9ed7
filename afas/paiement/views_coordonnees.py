"""The Caf agent's pages for the partners' bank details (#21): the list (IBAN masked) and the
edit form (Flask-WTF, CSRF), the only place the full IBAN is shown. Thin over
afas.paiement.coordonnees."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField
from wtforms.validators import ValidationError

from portal.access import requires
from portal.audit import AuditEntry
from portal.extensions import db
from portal.models import Organisation, User

from ..models import Equipement
from ..views import CAF, bp
from . import coordonnees
from .iban import bic_error, groups, iban_error


def _inline(message: str) -> str:
    """« IBAN : la clé … » → « La clé … »: beside its field (and in the page's error summary,
    which adds the label), the message does not repeat the label."""
    text = message.split(" : ", 1)[-1]
    return text[:1].upper() + text[1:]


def _check(fn):
    def validator(form, field):
        error = fn(field.data)
        if error:
            raise ValidationError(_inline(error))
    return validator


class CoordonneesForm(FlaskForm):
    iban = StringField("IBAN", validators=[_check(iban_error)])
    bic = StringField("BIC (facultatif)", validators=[_check(bic_error)])
    titulaire = StringField("Titulaire du compte", validators=[_check(
        lambda v: None if 0 < len(" ".join((v or "").split())) <= coordonnees.MAX_TITULAIRE
        else f"Titulaire du compte : de 1 à {coordonnees.MAX_TITULAIRE} caractères.")])


def _partners() -> list[Organisation]:
    """The organisations the AFAS pays: those with équipements."""
    return list(db.session.scalars(select(Organisation).where(
        Organisation.id.in_(select(Equipement.organisation_id))).order_by(Organisation.nom)))


@bp.get("/paiements/coordonnees")
@requires(CAF, service="AFAS")
def coordonnees_list():
    partners = _partners()
    rows = {org.id: coordonnees.coordonnees_of(org.id) for org in partners}
    return render_template("afas/paiement/coordonnees.html", partners=partners, rows=rows)


def _organisation(org_id: int) -> Organisation:
    org = db.session.get(Organisation, org_id)
    if org is None or org.id not in {o.id for o in _partners()}:
        abort(404)
    return org


def _history(org: Organisation) -> list[tuple[AuditEntry, User | None]]:
    entries = db.session.scalars(select(AuditEntry).where(
        AuditEntry.category == "afas", AuditEntry.action == "reference_bancaire_enregistree",
        AuditEntry.target == f"organisation:{org.id}").order_by(AuditEntry.id.desc()).limit(20))
    return [(e, db.session.get(User, e.actor_user_id) if e.actor_user_id else None) for e in entries]


def _edit_page(org: Organisation, form: CoordonneesForm, status: int = 200):
    return render_template("afas/paiement/coordonnees_form.html", org=org, form=form,
                           row=coordonnees.coordonnees_of(org.id), history=_history(org)), status


@bp.get("/paiements/coordonnees/<int:org_id>")
@requires(CAF, service="AFAS")
def coordonnees_edit(org_id):
    org = _organisation(org_id)
    row = coordonnees.coordonnees_of(org.id)
    form = CoordonneesForm(data={"iban": groups(row.iban), "bic": row.bic, "titulaire": row.titulaire}
                           if row is not None else None)
    return _edit_page(org, form)


@bp.post("/paiements/coordonnees/<int:org_id>")
@requires(CAF, service="AFAS")
def coordonnees_save(org_id):
    org = _organisation(org_id)
    form = CoordonneesForm()
    if not form.validate():
        return _edit_page(org, form, 422)
    try:
        coordonnees.record_bank_details(org, form.iban.data, form.bic.data, form.titulaire.data, current_user)
    except coordonnees.CoordonneesRefused as exc:
        db.session.rollback()
        getattr(form, exc.field).errors = [_inline(exc.message)]
        return _edit_page(org, form, 422)
    db.session.commit()
    flash(f"Coordonnées bancaires de {org.nom} enregistrées : IBAN "
          f"{coordonnees.coordonnees_of(org.id).iban_masque}.", "success")
    return redirect(url_for("afas.coordonnees_list"))
