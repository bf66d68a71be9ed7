"""Pages of the web declarations: the landlord's (list, new, draft, summary, send, receipt,
attachments) and the Caf's (every declaration, the tenancy's history across channels).
Thin: parsing and checks are edi.declarations.forms and .services."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from portal.access import get_own_or_404, requires
from portal.dates import today as paris_today
from portal.downloads import attachment
from portal.extensions import db
from portal.listing import SortKey, paginate, read_args
from portal.models import Organisation

from .. import adapters
from ..intake import storage
from . import forms, services
from .models import ACTES, BROUILLON, ENVOYEE, STATUT_LABELS, DeclarationBailleur, PieceDeclaration

bp = Blueprint("edi_decl", __name__, template_folder="templates")

LANDLORD = {"bailleur_operator"}
CAF = {"caf_agent"}
SERVICE = "BAILLEUR"
PER_PAGE = 50
LANDLORD_SORTS = {
    "modifiee": SortKey("Dernière modification", (DeclarationBailleur.modifie_le,), "desc"),
    "reference": SortKey("Référence", (DeclarationBailleur.id,), "desc"),
    "declaration": SortKey("Déclaration", (DeclarationBailleur.acte, DeclarationBailleur.modifie_le)),
    "statut": SortKey("Statut", (DeclarationBailleur.statut, DeclarationBailleur.modifie_le)),
}
CAF_SORTS = {
    "recue": SortKey("Reçue le", (DeclarationBailleur.envoye_le,), "desc"),
    "reference": SortKey("Référence", (DeclarationBailleur.id,), "desc"),
    "bailleur": SortKey("Bailleur", (Organisation.nom, DeclarationBailleur.envoye_le)),
    "declaration": SortKey("Déclaration", (DeclarationBailleur.acte, DeclarationBailleur.envoye_le)),
}


def _own(declaration_id: int) -> DeclarationBailleur:
    return get_own_or_404(DeclarationBailleur, declaration_id)


def _acte_or_404(acte: str) -> str:
    acte = acte.upper()
    if acte not in ACTES:
        abort(404)
    return acte


@bp.get("/bailleur/declarations")
@requires(LANDLORD, service=SERVICE)
def index():
    statut = request.args.get("statut") or None
    if statut is not None and statut not in STATUT_LABELS:
        abort(400)
    query = select(DeclarationBailleur).where(DeclarationBailleur.organisation_id == current_user.organisation_id)
    if statut:
        query = query.where(DeclarationBailleur.statut == statut)
    listing = paginate(query, read_args(LANDLORD_SORTS, "modifiee"), LANDLORD_SORTS, per_page=PER_PAGE,
                       tiebreak=(DeclarationBailleur.id.desc(),),
                       search_columns=(DeclarationBailleur.code_locataire, DeclarationBailleur.numero_allocataire))
    return render_template("declarations/index.html", listing=listing, declarations=listing.items, statut=statut,
                           statuts=STATUT_LABELS, actes=ACTES)


@bp.route("/bailleur/declarations/nouvelle/<acte>", methods=["GET", "POST"])
@requires(LANDLORD, service=SERVICE)
def new(acte: str):
    acte = _acte_or_404(acte)
    if request.method == "GET":
        return _form(acte, None, {}, {})
    saisie = forms.clean_input(acte, request.form)
    d = services.create_draft(current_user.organisation, current_user, acte, saisie)
    return _after_save(d)


@bp.route("/bailleur/declarations/<int:declaration_id>", methods=["GET", "POST"])
@requires(LANDLORD, service=SERVICE)
def edit(declaration_id: int):
    d = _own(declaration_id)
    if d.statut != BROUILLON:
        suivi = (adapters.suivi_signalement(d.code_bailleur, d.idempotency_key)
                 if d.flux == "IMPAYES" and d.idempotency_key else None)
        return render_template("declarations/detail.html", d=d, caf=False, history=None, suivi=suivi)
    if request.method == "GET":
        return _form(d.acte, d, d.saisie or {}, {})
    services.update_draft(d, current_user, forms.clean_input(d.acte, request.form))
    return _after_save(d)


def _after_save(d: DeclarationBailleur):
    """« Enregistrer le brouillon » keeps it as typed; « Vérifier » goes to the summary when
    the checks find no error, else shows the form again with the errors at their fields."""
    if request.form.get("action") == "brouillon":
        db.session.commit()
        flash("Brouillon enregistré.", "success")
        return redirect(url_for("edi_decl.edit", declaration_id=d.id), code=303)
    check = services.verify(d, paris_today())
    db.session.commit()
    if not check.ok:
        return _form(d.acte, d, d.saisie, check.errors), 400
    return redirect(url_for("edi_decl.summary", declaration_id=d.id), code=303)


def _form(acte: str, d: DeclarationBailleur | None, saisie: dict, errors: dict):
    return render_template("declarations/form.html", acte=acte, acte_label=ACTES[acte][1], d=d,
                           saisie=saisie, errors=errors, fields=forms.FIELDS[acte],
                           choices=forms.CHOICES, natures=services.NATURES)


@bp.get("/bailleur/declarations/<int:declaration_id>/recapitulatif")
@requires(LANDLORD, service=SERVICE)
def summary(declaration_id: int):
    d = _own(declaration_id)
    if d.statut != BROUILLON:
        return redirect(url_for("edi_decl.edit", declaration_id=d.id), code=303)
    check = services.verify(d, paris_today())
    if not check.ok:
        return _form(d.acte, d, d.saisie, check.errors), 400
    return render_template("declarations/summary.html", d=d, check=check, rows=_rows(d),
                           natures=services.NATURES)


@bp.post("/bailleur/declarations/<int:declaration_id>/envoyer")
@requires(LANDLORD, service=SERVICE)
def send(declaration_id: int):
    d = _own(declaration_id)
    try:
        services.send(d, current_user)
    except services.DeclarationError as exc:
        db.session.rollback()
        if d.statut != BROUILLON:
            flash(str(exc), "error")
            return redirect(url_for("edi_decl.edit", declaration_id=d.id), code=303)
        return _form(d.acte, d, d.saisie, exc.errors), 400
    db.session.commit()
    flash(f"Déclaration {d.reference} envoyée : votre accusé de réception est disponible.", "success")
    return redirect(url_for("edi_decl.edit", declaration_id=d.id), code=303)


@bp.post("/bailleur/declarations/<int:declaration_id>/supprimer")
@requires(LANDLORD, service=SERVICE)
def delete(declaration_id: int):
    d = _own(declaration_id)
    try:
        services.delete_draft(d, current_user)
    except services.DeclarationError as exc:
        flash(str(exc), "error")
        return redirect(url_for("edi_decl.edit", declaration_id=d.id), code=303)
    db.session.commit()
    flash("Brouillon supprimé.", "success")
    return redirect(url_for("edi_decl.index"), code=303)


@bp.post("/bailleur/declarations/<int:declaration_id>/pieces")
@requires(LANDLORD, service=SERVICE)
def add_piece(declaration_id: int):
    d = _own(declaration_id)
    upload = request.files.get("piece")
    if upload is None or not upload.filename:
        flash("Choisissez le fichier à joindre.", "error")
    else:
        try:
            services.add_piece(d, current_user, upload.stream, upload.filename,
                               request.form.get("nature", ""))
        except services.DeclarationError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash("Pièce jointe ajoutée.", "success")
        finally:
            upload.close()  # a large upload is a temporary file: closed now, not by the collector
    return redirect(url_for("edi_decl.edit", declaration_id=d.id) + "#pieces", code=303)


@bp.post("/bailleur/declarations/<int:declaration_id>/pieces/<int:piece_id>/retirer")
@requires(LANDLORD, service=SERVICE)
def remove_piece(declaration_id: int, piece_id: int):
    d = _own(declaration_id)
    piece = _piece(d, piece_id)
    try:
        services.remove_piece(d, piece, current_user)
    except services.DeclarationError as exc:
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash("Pièce jointe retirée.", "success")
    return redirect(url_for("edi_decl.edit", declaration_id=d.id) + "#pieces", code=303)


def _piece(d: DeclarationBailleur, piece_id: int) -> PieceDeclaration:
    piece = db.session.get(PieceDeclaration, piece_id)
    if piece is None or piece.declaration_id != d.id:
        abort(404)
    return piece


def _download_piece(d: DeclarationBailleur, piece_id: int):
    piece = _piece(d, piece_id)
    return attachment(storage.iter_chunks(piece.sha256), mimetype=piece.type_mime, filename=piece.nom)


def _download_receipt(d: DeclarationBailleur, kind: str):
    if d.statut != ENVOYEE or kind not in ("pdf", "p7s"):
        abort(404)
    if kind == "pdf":
        return attachment(storage.iter_chunks(d.recu_sha256), mimetype="application/pdf",
                          filename=f"accuse-{d.reference}.pdf")
    return attachment(storage.iter_chunks(d.recu_signature_sha256), mimetype="application/pkcs7-signature",
                      filename=f"accuse-{d.reference}.pdf.p7s")


@bp.get("/bailleur/declarations/<int:declaration_id>/pieces/<int:piece_id>")
@requires(LANDLORD, service=SERVICE)
def piece(declaration_id: int, piece_id: int):
    return _download_piece(_own(declaration_id), piece_id)


@bp.get("/bailleur/declarations/<int:declaration_id>/accuse.<kind>")
@requires(LANDLORD, service=SERVICE)
def receipt(declaration_id: int, kind: str):
    return _download_receipt(_own(declaration_id), kind)


def _rows(d: DeclarationBailleur) -> list[tuple[str, str]]:
    from .receipt import _value
    return [(label.removesuffix(" (€)"), _value(name, (d.saisie or {}).get(name, ""))) for name, (label, _k, _r)
            in forms.FIELDS[d.acte].items()]


# ---------------------------------------------------------------- Caf

@bp.get("/caf/declarations-bailleurs")
@requires(CAF, service="EDI")
def caf_index():
    query = (select(DeclarationBailleur).join(Organisation, Organisation.id == DeclarationBailleur.organisation_id)
             .where(DeclarationBailleur.statut == ENVOYEE))
    acte = request.args.get("acte") or None
    if acte is not None:
        query = query.where(DeclarationBailleur.acte == _acte_or_404(acte))
    listing = paginate(query, read_args(CAF_SORTS, "recue"), CAF_SORTS, per_page=PER_PAGE,
                       tiebreak=(DeclarationBailleur.id.desc(),),
                       search_columns=(Organisation.nom, DeclarationBailleur.code_bailleur,
                                       DeclarationBailleur.code_locataire, DeclarationBailleur.numero_allocataire))
    return render_template("declarations/caf_index.html", listing=listing, declarations=listing.items, actes=ACTES,
                           acte=acte)


def _caf_own(declaration_id: int) -> DeclarationBailleur:
    d = db.session.get(DeclarationBailleur, declaration_id)
    if d is None or d.statut != ENVOYEE:  # a landlord's draft is its own
        abort(404)
    return d


@bp.get("/caf/declarations-bailleurs/<int:declaration_id>")
@requires(CAF, service="EDI")
def caf_detail(declaration_id: int):
    d = _caf_own(declaration_id)
    history = adapters.tenancy_history(d.code_bailleur, d.code_locataire, d.numero_allocataire)
    return render_template("declarations/detail.html", d=d, caf=True, history=history)


@bp.get("/caf/declarations-bailleurs/<int:declaration_id>/pieces/<int:piece_id>")
@requires(CAF, service="EDI")
def caf_piece(declaration_id: int, piece_id: int):
    return _download_piece(_caf_own(declaration_id), piece_id)


@bp.get("/caf/declarations-bailleurs/<int:declaration_id>/accuse.<kind>")
@requires(CAF, service="EDI")
def caf_receipt(declaration_id: int, kind: str):
    return _download_receipt(_caf_own(declaration_id), kind)


@bp.app_template_filter("datetime_paris")
def datetime_paris(value):
    """A stored moment (naive UTC) as the Paris clock shows it."""
    from datetime import timezone

    from portal.dates import PARIS
    if not value:
        return "—"
    return value.replace(tzinfo=timezone.utc).astimezone(PARIS).strftime("%d/%m/%Y à %H:%M")
