"""Pages of the payment hand-off on the AFAS blueprint. Caf agents: order files and their lines,
return files (upload), rejected lines (relaunch). Partners: their payments per équipement and
exercice with the declaration behind each, their indus and the offset choice. Thin over
afas.paiement.services."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from portal.access import get_own_or_404, requires
from portal.downloads import attachment
from portal.dates import today as paris_today
from portal.extensions import db
from portal.formatting import accord

from ..views import CAF, PARTNER_VIEWERS, _partner_guard, bp
from . import exports, services
from .coordonnees import held_items
from .models import CoordonneesBancaires, Indu, LignePaiement, OrdrePaiement, RetourPaiement

MAX_RETURN = 5 * 1024 * 1024
MAX_SIGNATURE = 256 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _agent_page(problem: str | None = None, status: int = 200):
    ordres = list(db.session.scalars(select(OrdrePaiement).order_by(OrdrePaiement.id.desc()).limit(50)))
    retours = list(db.session.scalars(select(RetourPaiement).order_by(RetourPaiement.id.desc()).limit(50)))
    rejets = list(db.session.scalars(select(LignePaiement).where(LignePaiement.status == "rejetee")
                                     .order_by(LignePaiement.id)))
    indus = list(db.session.scalars(select(Indu).where(Indu.reste > 0).order_by(Indu.id)))
    return render_template("afas/paiement/agent.html", ordres=ordres, retours=retours, rejets=rejets,
                           indus=indus, problem=problem, held=held_items(paris_today())), status


@bp.get("/paiements")
@requires(CAF, service="AFAS")
def paiement_ordres():
    return _agent_page()


@bp.post("/paiements/ordres")
@requires(CAF, service="AFAS")
def paiement_produce():
    ordre = services.produce_order(actor=current_user)
    db.session.commit()
    if ordre is None:
        flash("Rien n'est dû aujourd'hui : aucun ordre de paiement produit.", "info")
        return redirect(url_for("afas.paiement_ordres"))
    flash(f"Ordre de paiement {ordre.reference} produit et signé : {accord(ordre.nb_lignes, 'ligne')}.", "success")
    return redirect(url_for("afas.paiement_ordre", oid=ordre.id))


def _ordre(oid: int) -> OrdrePaiement:
    ordre = db.session.get(OrdrePaiement, oid)
    if ordre is None:
        abort(404)
    return ordre


@bp.get("/paiements/ordres/<int:oid>")
@requires(CAF, service="AFAS")
def paiement_ordre(oid):
    return render_template("afas/paiement/ordre.html", ordre=_ordre(oid))


@bp.get("/paiements/ordres/<int:oid>.<fmt>")
@requires(CAF, service="AFAS")
def paiement_ordre_download(oid, fmt):
    ordre = _ordre(oid)
    if fmt == "xml":
        return attachment(ordre.xml, mimetype="application/xml", filename=f"{ordre.reference}.xml")
    if fmt == "xml.p7s":
        return attachment(ordre.signature, mimetype="application/pkcs7-signature", filename=f"{ordre.reference}.xml.p7s")
    if fmt == "csv":
        return attachment(exports.to_csv(ordre.lignes), mimetype="text/csv", filename=f"{ordre.reference}.csv")
    if fmt == "xlsx":
        return attachment(exports.to_xlsx(ordre.lignes), mimetype=XLSX, filename=f"{ordre.reference}.xlsx")
    abort(404)


@bp.post("/paiements/retours")
@requires(CAF, service="AFAS")
def paiement_retour():
    fichier, signature = request.files.get("fichier"), request.files.get("signature")
    if fichier is None or not fichier.filename or signature is None or not signature.filename:
        return _agent_page("Joignez le fichier retour (.xml) et sa signature (.p7s).", 422)
    xml, sig = fichier.read(MAX_RETURN + 1), signature.read(MAX_SIGNATURE + 1)
    if len(xml) > MAX_RETURN or len(sig) > MAX_SIGNATURE:
        return _agent_page("Fichier trop volumineux.", 413)
    try:
        retour = services.apply_return(xml, sig, current_user, via="web")
    except services.PaymentRefused as exc:
        db.session.rollback()
        return _agent_page(f"Fichier retour refusé : {exc.message}", exc.status)
    db.session.commit()
    flash(f"Fichier retour {retour.reference} appliqué : {accord(retour.nb_payees, 'versée')}, "
          f"{accord(retour.nb_rejetees, 'rejetée')}, {accord(retour.nb_deja_traitees, 'déjà traitée', 'déjà traitées')}.", "success")
    return redirect(url_for("afas.paiement_ordres"))


@bp.post("/paiements/lignes/<int:lid>/relance")
@requires(CAF, service="AFAS")
def paiement_relance(lid):
    line = db.session.get(LignePaiement, lid)
    if line is None:
        abort(404)
    try:
        services.relaunch_line(line, current_user)
    except services.PaymentRefused as exc:
        db.session.rollback()
        return _agent_page(exc.message, exc.status)
    db.session.commit()
    flash(f"Ligne {line.reference} relancée : elle partira dans le prochain ordre de paiement.", "success")
    return redirect(url_for("afas.paiement_ordres"))


# -- partner ---------------------------------------------------------------------------------

def _partner_lines():
    return list(db.session.scalars(select(LignePaiement).where(
        LignePaiement.organisation_id == current_user.organisation_id, LignePaiement.status != "relancee")
        .order_by(LignePaiement.equipement_id, LignePaiement.annee.desc(), LignePaiement.id)))


@bp.get("/mes-paiements")
@requires(PARTNER_VIEWERS)
def paiement_partenaire():
    _partner_guard()
    lines = _partner_lines()
    groups: dict[tuple, list] = {}
    for line in lines:
        groups.setdefault((line.equipement, line.annee), []).append(line)
    indus = list(db.session.scalars(select(Indu).join(Indu.equipement).where(
        Indu.equipement.has(organisation_id=current_user.organisation_id)).order_by(Indu.id.desc())))
    bank = db.session.scalar(select(CoordonneesBancaires).where(
        CoordonneesBancaires.organisation_id == current_user.organisation_id))
    return render_template("afas/paiement/partenaire.html", groups=groups, indus=indus, bank=bank,
                           may_choose=current_user.role == "partner_manager")


@bp.get("/mes-paiements.<fmt>")
@requires(PARTNER_VIEWERS)
def paiement_partenaire_export(fmt):
    _partner_guard()
    if fmt == "csv":
        return attachment(exports.to_csv(_partner_lines()), mimetype="text/csv", filename="paiements-afas.csv")
    if fmt == "xlsx":
        return attachment(exports.to_xlsx(_partner_lines()), mimetype=XLSX, filename="paiements-afas.xlsx")
    abort(404)


@bp.post("/indus/<int:iid>/choix")
@requires({"partner_manager"}, service="AFAS")
def indu_choix(iid):
    indu = get_own_or_404(Indu, iid, owner=lambda i: i.equipement.organisation_id)
    choix = request.form.get("choix")
    if choix not in ("compensation", "recouvrement"):
        flash("Choisissez la compensation sur les prochains acomptes ou le reversement.", "error")
        return redirect(url_for("afas.paiement_partenaire"))
    try:
        services.choose_recovery(indu, current_user, compenser=choix == "compensation")
    except services.PaymentRefused as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("afas.paiement_partenaire"))
    db.session.commit()
    flash("Votre choix est enregistré : " + ("l'indu sera déduit de vos prochains acomptes."
                                             if choix == "compensation" else "un ordre de reversement sera émis."),
          "success")
    return redirect(url_for("afas.paiement_partenaire"))
