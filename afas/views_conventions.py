"""AFAS pages of issue #21 on the AFAS blueprint: conventions d'objectifs et de financement and
territoire of an équipement (Caf side: record, upload the signed PDF, validate the area; both
sides: download the signed document), barème versions. Views stay thin over afas.conventions."""
from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from portal.access import requires
from portal.downloads import attachment
from portal.extensions import db
from portal.inputs import parse_int

from . import convention_service, conventions
from .bareme_versions import versions_of
from .bonus import ZONES
from .models import ConventionFinancement, Equipement
from .views import CAF, PARTNER_VIEWERS, _partner_guard, bp

MAX_PDF_BYTES = conventions.MAX_DOCUMENT


def _date(name: str) -> date | None:
    raw = (request.form.get(name) or "").strip()
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _equipement_caf(eid: int) -> Equipement:
    eq = db.session.get(Equipement, eid)
    if eq is None:
        abort(404)
    return eq


def _page(eq: Equipement, errors: dict | None = None, status: int = 200):
    statut = convention_service.statut(eq.conventions, conventions.paris_today())
    return render_template("afas/equipement_caf.html", eq=eq, errors=errors or {}, zones=ZONES,
                           statut=statut, statut_label=convention_service.STATUTS[statut],
                           a_renouveler=conventions.a_renouveler([eq])), status


@bp.get("/conventions")
@requires(CAF, service="AFAS")
def conventions_list():
    """Every équipement with its convention in force and its service status (those without a
    convention in force first, then those to renew)."""
    today = conventions.paris_today()
    equipements = list(db.session.scalars(select(Equipement).order_by(Equipement.numero)))
    statuts = {eq.id: convention_service.statut(eq.conventions, today) for eq in equipements}
    order = list(convention_service.STATUTS)[::-1]
    equipements.sort(key=lambda eq: order.index(statuts[eq.id]))
    return render_template("afas/conventions.html", equipements=equipements, statuts=statuts,
                           labels=convention_service.STATUTS,
                           a_renouveler=conventions.a_renouveler(equipements), today=conventions.paris_today())


@bp.get("/caf/equipements/<int:eid>")
@requires(CAF, service="AFAS")
def equipement_caf(eid):
    return _page(_equipement_caf(eid))


@bp.post("/caf/equipements/<int:eid>/conventions")
@requires(CAF, service="AFAS")
def convention_record(eid):
    eq = _equipement_caf(eid)
    try:
        conventions.record_convention(eq, request.form.get("reference", ""), _date("debut"), _date("fin"), current_user)
    except conventions.ConventionRefused as exc:
        db.session.rollback()
        return _page(eq, {exc.field: exc.message}, 422)
    db.session.commit()
    flash("Convention enregistrée : déposez son exemplaire signé pour qu'elle prenne effet.", "success")
    return redirect(url_for("afas.equipement_caf", eid=eid))


@bp.post("/caf/conventions/<int:cid>/document")
@requires(CAF, service="AFAS")
def convention_upload(cid):
    conv = db.session.get(ConventionFinancement, cid)
    if conv is None:
        abort(404)
    eq = db.session.get(Equipement, conv.equipement_id)
    upload = request.files.get("document")
    content = upload.read(MAX_PDF_BYTES + 1) if upload is not None and upload.filename else b""
    try:
        conventions.upload_signed(conv, upload.filename if upload else "", content, _date("signee_le"), current_user)
    except conventions.ConventionRefused as exc:
        db.session.rollback()
        return _page(eq, {f"{exc.field}-{cid}": exc.message}, 422)
    db.session.commit()
    flash(f"Convention {conv.reference} signée : elle est en vigueur du {conv.debut:%d/%m/%Y} au {conv.fin:%d/%m/%Y}.",
          "success")
    return redirect(url_for("afas.equipement_caf", eid=eq.id))


@bp.post("/caf/equipements/<int:eid>/territoire")
@requires(CAF, service="AFAS")
def territoire_record(eid):
    eq = _equipement_caf(eid)
    places_raw = (request.form.get("places_territoire") or "").strip()
    places = parse_int(places_raw, minimum=0, maximum=500) if places_raw else None
    if places_raw and places is None:
        return _page(eq, {"places_territoire": "Places créées : un nombre entier entre 0 et 500."}, 422)
    try:
        conventions.record_territoire(eq, request.form.get("zone_prioritaire") or None,
                                      request.form.get("ctg") == "on", places, current_user)
    except conventions.ConventionRefused as exc:
        db.session.rollback()
        return _page(eq, {exc.field: exc.message}, 422)
    db.session.commit()
    flash("Territoire enregistré et validé.", "success")
    return redirect(url_for("afas.equipement_caf", eid=eid))


@bp.get("/conventions/<int:cid>/document")
@requires(CAF | PARTNER_VIEWERS)
def convention_document(cid):
    conv = db.session.get(ConventionFinancement, cid)
    if conv is None or conv.document is None:
        abort(404)
    if not current_user.is_caf_staff:
        _partner_guard()
        if db.session.get(Equipement, conv.equipement_id).organisation_id != current_user.organisation_id:
            abort(404)
    return attachment(conv.document, mimetype="application/pdf", filename=conv.document_nom or "convention.pdf")


@bp.get("/baremes/<int(max=2100):annee>/versions")
@requires({"caf_admin"})
def bareme_versions(annee):
    return render_template("afas/bareme_versions.html", annee=annee, versions=versions_of(annee))
