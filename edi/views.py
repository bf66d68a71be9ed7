"""EDI pages: upload (drag and drop with a plain-form fallback), the landlord's files with
per-record results, downloads, monthly payment notices, and the Caf's supervision."""
from __future__ import annotations

from flask import (Blueprint, Response, abort, flash, redirect, render_template, request,
                   url_for)
from flask_login import current_user
from sqlalchemy import select

from portal.access import get_own_or_404, requires
from portal.downloads import attachment
from portal.extensions import db
from portal.inputs import int_arg
from portal.listing import SortKey, page_of, paginate, read_args
from portal.models import Organisation

from . import queries, services, upload_checks
from .intake import storage
from .models import (ERREUR, AVERTISSEMENT, QUARANTAINE, STATUT_LABELS, EdiAvisPaiement,
                     EdiFichier)
from .rules import CODES

bp = Blueprint("edi", __name__, url_prefix="/edi", template_folder="templates",
               static_folder="static", static_url_path="/static")

LANDLORD = {"bailleur_operator"}
CAF = {"caf_agent"}
BOTH = LANDLORD | CAF
FLUX = ("LOYERS", "IMPAYES", "MOUVEMENTS")
PER_PAGE = 50


def _page() -> int:
    return int_arg("page", 1)


FILE_SORTS = {
    "recu": SortKey("Reçu le", (EdiFichier.recu_le,), "desc"),
    "numero": SortKey("N°", (EdiFichier.id,), "desc"),
    "bailleur": SortKey("Bailleur", (Organisation.nom,)),
    "fichier": SortKey("Fichier", (EdiFichier.nom_fichier,)),
    "statut": SortKey("Statut", (EdiFichier.statut,)),
    "rejetes": SortKey("Rejetés", (EdiFichier.nb_rejetes,), "desc"),
}


@bp.get("/fichiers")
@requires(BOTH, service="EDI")
def files():
    caf = current_user.is_caf_staff
    statut = request.args.get("statut") or None
    flux = request.args.get("flux") or None
    query = queries.files_query(None if caf else current_user.organisation_id, statut, flux).join(
        Organisation, Organisation.id == EdiFichier.organisation_id)
    listing = paginate(query, read_args(FILE_SORTS, "recu"), FILE_SORTS, per_page=PER_PAGE,
                       tiebreak=(EdiFichier.id.desc(),),
                       search_columns=(EdiFichier.nom_fichier, EdiFichier.identifiant_fichier)
                       + ((Organisation.nom,) if caf else ()))
    return render_template("edi/files.html", listing=listing, files=listing.items, statut=statut, flux=flux, caf=caf,
                           statuts=STATUT_LABELS, flux_choices=FLUX)


@bp.route("/depot", methods=["GET", "POST"])
@requires(LANDLORD, service="EDI")
def upload():
    errors = {}
    if request.method == "POST":
        data = request.files.get("fichier")
        signature = request.files.get("signature")
        if data is None or not data.filename:
            errors["fichier"] = "Choisissez le fichier XML à déposer."
        if signature is None or not signature.filename:
            errors["signature"] = "Choisissez la signature détachée (.p7s) du fichier."
        if not errors:
            errors = _upload_mistakes(data, signature)
        if not errors:
            try:
                f = services.receive_file(current_user.organisation, data.stream, data.filename,
                                          signature.stream, canal="portail", user=current_user)
                db.session.commit()
            except storage.TooLarge:
                abort(413)
            except services.EdiInputError as exc:
                errors["fichier"] = str(exc)
            else:
                flash("Fichier reçu : son traitement a commencé.", "success")
                return redirect(url_for("edi.file_detail", fichier_id=f.id), code=303)
    return render_template("edi/upload.html", errors=errors,
                           max_mb=services.max_file_bytes() // (1024 * 1024)), (400 if errors else 200)


def _head(upload) -> bytes:
    head = upload.stream.read(upload_checks.HEAD_BYTES)
    upload.stream.seek(0)
    return head


def _upload_mistakes(data, signature) -> dict:
    """A data file that is not XML, a signature that is no signature: said before storing."""
    errors = {}
    if problem := upload_checks.file_problem(_head(data)):
        errors["fichier"] = problem
    if problem := upload_checks.signature_problem(_head(signature)):
        errors["signature"] = problem
    return errors


def _file_or_404(fichier_id: int) -> EdiFichier:
    return get_own_or_404(EdiFichier, fichier_id)


@bp.get("/fichiers/<int:fichier_id>")
@requires(BOTH, service="EDI")
def file_detail(fichier_id: int):
    f = _file_or_404(fichier_id)
    code = request.args.get("code") or None
    severite = request.args.get("gravite") or None
    page = _page()
    rows, total = queries.anomalies(f.id, code=code, severite=severite, page=page, per_page=PER_PAGE)
    return render_template("edi/file_detail.html", f=f, summary=queries.anomaly_summary(f.id),
                           rows=rows, listing=page_of(rows, total, page, PER_PAGE), code=code,
                           severite=severite, codes=CODES, ERREUR=ERREUR,
                           AVERTISSEMENT=AVERTISSEMENT)


@bp.get("/fichiers/<int:fichier_id>/statut")
@requires(BOTH, service="EDI")
def file_status(fichier_id: int):
    """htmx polling fragment (progress while processing)."""
    f = _file_or_404(fichier_id)
    response = Response(render_template("edi/_status.html", f=f))
    if f.est_termine and request.headers.get("HX-Request"):
        response.headers["HX-Refresh"] = "true"  # reload once to show results and downloads
    return response


DOWNLOADS = {
    "fichier": ("sha256", "application/xml", "{name}"),
    "signature": ("signature_sha256", "application/pkcs7-signature", "{name}.p7s"),
    "accuse": ("accuse_sha256", "application/xml", "ACCUSE-{ident}-{id}.xml"),
    "accuse-signature": ("accuse_signature_sha256", "application/pkcs7-signature",
                         "ACCUSE-{ident}-{id}.xml.p7s"),
}


def _send(sha256: str | None, mimetype: str, filename: str) -> Response:
    if not sha256:
        abort(404)
    return attachment(storage.iter_chunks(sha256), mimetype=mimetype, filename=filename)


# Readings of the Caf's signed XML, beside it: a PDF for people, a CSV of the records.
READINGS = {"accuse-pdf", "accuse-csv", "pdf", "csv"}


def _reading(kind: str, xml: bytes, organisation: str, stem: str) -> Response:
    from . import documents
    is_accuse = kind.startswith("accuse")
    if kind.endswith("pdf"):
        pdf = (documents.accuse_pdf if is_accuse else documents.avis_pdf)(xml, organisation)
        return attachment(pdf, mimetype="application/pdf", filename=f"{stem}.pdf")
    text = (documents.accuse_csv if is_accuse else documents.avis_csv)(xml)
    return attachment(text.encode("utf-8"), mimetype="text/csv; charset=utf-8", filename=f"{stem}.csv")


@bp.get("/fichiers/<int:fichier_id>/telecharger/<kind>")
@requires(BOTH, service="EDI")
def file_download(fichier_id: int, kind: str):
    f = _file_or_404(fichier_id)
    if kind in READINGS:
        if not f.accuse_sha256:
            abort(404)
        return _reading(kind, storage.read_bytes(f.accuse_sha256), f.organisation.nom,
                        f"ACCUSE-{f.identifiant_fichier or f.id}-{f.id}")
    if kind not in DOWNLOADS:
        abort(404)
    attr, mimetype, pattern = DOWNLOADS[kind]
    name = pattern.format(name=f.nom_fichier, ident=f.identifiant_fichier or f.id, id=f.id)
    return _send(getattr(f, attr), mimetype, name)


@bp.post("/fichiers/<int:fichier_id>/relancer")
@requires(CAF, service="EDI")
def file_rerun(fichier_id: int):
    f = _file_or_404(fichier_id)
    try:
        services.rerun_file(f, current_user)
        db.session.commit()
    except services.EdiInputError as exc:
        flash(str(exc), "error")
    else:
        flash("Le fichier a été relancé.", "success")
    return redirect(url_for("edi.file_detail", fichier_id=f.id), code=303)


@bp.get("/supervision")
@requires(CAF, service="EDI")
def supervision():
    stats = queries.flow_statistics()
    quarantined = db.session.scalars(select(EdiFichier).where(EdiFichier.statut == QUARANTAINE)
                                     .order_by(EdiFichier.id)).all()
    return render_template("edi/supervision.html", stats=stats, quarantined=quarantined,
                           statuts=STATUT_LABELS, codes=CODES)


@bp.get("/avis-paiement")
@requires(LANDLORD, service="EDI")
def avis_list():
    rows = db.session.scalars(select(EdiAvisPaiement).where(
        EdiAvisPaiement.organisation_id == current_user.organisation_id)
        .order_by(EdiAvisPaiement.annee.desc(), EdiAvisPaiement.mois.desc())).all()
    return render_template("edi/avis.html", avis=rows)


@bp.get("/avis-paiement/<int:avis_id>/<kind>")
@requires(LANDLORD, service="EDI")
def avis_download(avis_id: int, kind: str):
    if kind not in ("fichier", "signature", "pdf", "csv"):
        abort(404)
    a = get_own_or_404(EdiAvisPaiement, avis_id)
    if kind in ("pdf", "csv"):
        return _reading(kind, storage.read_bytes(a.sha256), a.organisation.nom, a.identifiant_fichier)
    if kind == "fichier":
        return _send(a.sha256, "application/xml", f"{a.identifiant_fichier}.xml")
    return _send(a.signature_sha256, "application/pkcs7-signature", f"{a.identifiant_fichier}.xml.p7s")
