"""AFAS web pages: partner side (équipements, declaration forms with live checks, receipts,
messages) and Caf side (work queue, review, actions, exports, barèmes). Views stay thin.

(Over 400 lines on purpose: one blueprint whose partner and Caf pages share the declaration's
loaders, access checks and form layout; each view is a few lines over `afas.services`.)"""
from __future__ import annotations

import io
from datetime import timezone
from pathlib import Path

from flask import (Blueprint, abort, flash, jsonify, redirect, render_template, request, send_file,
                   send_from_directory, url_for)
from flask_login import current_user
from sqlalchemy import select

from portal import storage
from portal.access import get_own_or_404, public, requires
from portal.downloads import attachment
from portal.extensions import db
from portal.formatting import accord
from portal.inputs import parse_int
from portal.listing import SortKey, paginate, read_args
from portal.models import Organisation

from . import convention_service, services
from .attachments import AREA, MessageAttachment
from .bareme import BaremeError
from .controles import RULES, line_sums
from .models import BaremeAnnee, Declaration, Equipement
from .schema import (ACTIVITY_FIELDS, CHARGE_LINES, DECLARATION_TYPES, EDITABLE_STATUSES, EQUIPEMENT_TYPES,
                     PRODUIT_LINES, STATUS_LABELS, fields_for)
from .services import ActionRefused
from portal.dates import PARIS
from portal.dates import today as paris_today

bp = Blueprint("afas", __name__, url_prefix="/afas", template_folder="templates")
STATIC_DIR = Path(__file__).parent / "static"

PARTNER_VIEWERS = {"partner_manager", "partner_admin"}
CAF = {"caf_agent", "caf_admin"}
MAX_BAREME_BYTES = 200_000


def partner_may_view(user) -> bool:
    """A partner's read access to its organisation's AFAS pages: under an active AFAS contract,
    a manager with the AFAS habilitation or the partner admin. Also decides the menu entries of
    those pages (`shown_to`), so nobody is shown a link that answers 403."""
    if user.role not in PARTNER_VIEWERS or user.organisation.active_contrat("AFAS") is None:
        return False
    return user.role == "partner_admin" or user.habilitation("AFAS") is not None


def _partner_guard() -> None:
    if not partner_may_view(current_user):
        abort(403)


def _may_edit() -> bool:
    return current_user.role == "partner_manager" and current_user.habilitation("AFAS") is not None


def _equipement(eid: int) -> Equipement:
    return get_own_or_404(Equipement, eid)


def _declaration_for_partner(did: int) -> Declaration:
    decl = db.session.get(Declaration, did)
    if decl is None:
        abort(404)
    if current_user.is_caf_staff or decl.equipement.organisation_id != current_user.organisation_id:
        abort(404)
    return decl


def _declaration_for_caf(did: int) -> Declaration:
    decl = db.session.get(Declaration, did)
    if decl is None or decl.status == "brouillon":
        abort(404)  # drafts stay the partner's business
    return decl


def _declaration_for_reader(did: int) -> Declaration:
    """The declaration for whoever may read its documents: the Caf's AFAS staff (no drafts) or
    its own organisation."""
    if current_user.is_caf_staff:
        if current_user.habilitation("AFAS") is None:
            abort(403)
        return _declaration_for_caf(did)
    _partner_guard()
    return _declaration_for_partner(did)


def form_groups(equipement_type: str) -> list[tuple[str, str, list]]:
    fmap = {f.key: f for f in fields_for(equipement_type)}
    return [
        ("activite", "Données d'activité", list(ACTIVITY_FIELDS[equipement_type])),
        ("charges", "Charges (comptes 60 à 68)", [fmap[k] for k, _ in CHARGE_LINES] + [fmap["total_charges"]]),
        ("produits", "Produits (comptes 70 à 78)", [fmap[k] for k, _ in PRODUIT_LINES] + [fmap["total_produits"]]),
    ]


def _justifications_from_form() -> dict:
    return {k[len("justification_"):]: v for k, v in request.form.items() if k.startswith("justification_")}


def _live_context(decl: Declaration, evaluation, justifications: dict) -> dict:
    return {"decl": decl, "ev": evaluation, "justifications": justifications, "rules": RULES,
            "paiements": services.payment_estimate(decl, evaluation), "sums": line_sums(evaluation.parsed.values)}


@bp.get("/static/<path:filename>")
@public
def static(filename):
    return send_from_directory(STATIC_DIR, filename, max_age=3600)


# -- partner pages ----------------------------------------------------------------------------

def _index_page():
    _partner_guard()
    expected = services.expected_declarations(current_user.organisation_id)
    equipements = services.equipements_of(current_user.organisation_id, conventions=True)
    from .conventions import a_renouveler
    inactifs = {eq.id: convention_service.refus_service(eq) for eq in equipements
                if not convention_service.service_actif(eq)}
    return render_template("afas/index.html", expected=expected, equipements=equipements, inactifs=inactifs,
                           today=services.today(), may_edit=_may_edit(), a_renouveler=a_renouveler(equipements))


@bp.get("/")
@requires({"partner_manager"}, service="AFAS")
def index():
    """The managers' AFAS home (also their menu entry)."""
    return _index_page()


@bp.get("/consultation")
@requires({"partner_admin"})
def overview():
    """The same page, read-only, for the organisation's partner admin (linked from the home panel)."""
    return _index_page()


@bp.get("/equipements/<int:eid>")
@requires(PARTNER_VIEWERS)
def equipement(eid):
    _partner_guard()
    eq = _equipement(eid)
    year = services.today().year
    from .bonus import ZONES
    from .conventions import a_renouveler
    refus = convention_service.refus_service(eq)
    return render_template("afas/equipement.html", eq=eq, may_edit=_may_edit() and not refus, types=DECLARATION_TYPES,
                           service_refus=refus,
                           years=list(range(year + 1, year - 4, -1)), default_year=year,
                           a_renouveler=a_renouveler([eq]), zones=ZONES)


@bp.post("/equipements/<int:eid>/declarations")
@requires({"partner_manager"}, service="AFAS")
def create(eid):
    eq = _equipement(eid)
    annee = parse_int(request.form.get("annee"), minimum=1, maximum=9999)
    if annee is None:
        flash("Choisissez un exercice valide.", "error")
        return redirect(url_for("afas.equipement", eid=eid))
    type_ = request.form.get("type", "")
    existing = services.find_declaration(eq.id, annee, type_)
    if existing is not None:
        flash("Cette déclaration existe déjà : la voici.", "info")
        return redirect(url_for("afas.declaration", did=existing.id))
    try:
        decl = services.create_declaration(eq, annee, type_, current_user)
    except ActionRefused as exc:
        flash(exc.message, "error")
        return redirect(url_for("afas.equipement", eid=eid))
    db.session.commit()
    return redirect(url_for("afas.declaration", did=decl.id))


def _render_declaration(decl: Declaration, evaluation=None, justifications=None, raw=None, status=200,
                        form_errors=None):
    refus = convention_service.refus_service(decl.equipement) if decl.status in EDITABLE_STATUSES else None
    editable = decl.status in EDITABLE_STATUSES and _may_edit() and not refus
    evaluation = evaluation or services.evaluate_declaration(decl, raw)
    justifications = decl.justifications if justifications is None else justifications
    diff = []
    if decl.last_version is not None and decl.status in EDITABLE_STATUSES:
        diff = services.diff_data(decl.equipement.type, decl.last_version.data, raw if raw is not None else decl.data)
    elif len(decl.versions) > 1:
        diff = services.diff_data(decl.equipement.type, decl.versions[-2].data, decl.versions[-1].data)
    camp = services.campagne_window(decl.annee, decl.type)
    return render_template(
        "afas/declaration.html", decl=decl, eq=decl.equipement, editable=editable, ev=evaluation,
        justifications=justifications, raw=raw if raw is not None else decl.data, groups=form_groups(decl.equipement.type),
        diff=diff, campagne=camp, rules=RULES, form_errors=form_errors or {}, sums=line_sums(evaluation.parsed.values),
        paiements=services.payment_estimate(decl, evaluation) if editable else None,
        today=services.today(), service_refus=refus), status


@bp.get("/declarations/<int:did>")
@requires(PARTNER_VIEWERS)
def declaration(did):
    _partner_guard()
    decl = _declaration_for_partner(did)
    return _render_declaration(decl)


@bp.post("/declarations/<int:did>")
@requires({"partner_manager"}, service="AFAS")
def save(did):
    decl = _declaration_for_partner(did)
    action = request.form.get("action", "save")
    raw = request.form.to_dict()
    justifications = _justifications_from_form()
    try:
        evaluation = services.save_draft(decl, raw, justifications, current_user)
    except ActionRefused as exc:
        db.session.rollback()
        if exc.problems:  # e.g. a justification too long: nothing saved, the typing is shown again
            flash(exc.message + " Rien n'a été enregistré.", "error")
            return _render_declaration(decl, justifications=justifications, raw=raw, status=exc.status,
                                       form_errors=exc.problems)
        flash(exc.message, "error")
        return redirect(url_for("afas.declaration", did=did))
    db.session.commit()
    if action == "transmit":
        try:
            version = services.transmit(decl, current_user)
        except ActionRefused as exc:
            db.session.rollback()
            flash(exc.message + " Votre saisie est enregistrée en brouillon.", "error")
            return _render_declaration(decl, exc.evaluation, justifications, status=422,
                                       form_errors=exc.problems)
        db.session.commit()
        flash(f"Déclaration transmise (version {version.numero}, empreinte {version.content_hash[:12]}…)"
              + (" — transmise après l'échéance : elle est signalée en retard." if version.late and version.numero == 1
               else " — transmise avant l'ouverture de la campagne : elle est signalée." if version.anticipee
               and version.numero == 1 else "."), "success")
        return redirect(url_for("afas.declaration", did=did))
    if evaluation.parsed.errors:
        flash(f"Brouillon enregistré. {accord(len(evaluation.parsed.errors), 'champ')} à corriger avant la transmission.",
              "warning")
        return _render_declaration(decl, evaluation, status=422)
    flash("Brouillon enregistré.", "success")
    return redirect(url_for("afas.declaration", did=did))


@bp.post("/declarations/<int:did>/apercu")
@requires({"partner_manager"}, service="AFAS")
def preview(did):
    """htmx: points de contrôle and droit estimate for what is typed (nothing is saved)."""
    decl = _declaration_for_partner(did)
    raw = request.form.to_dict()
    evaluation = services.evaluate_declaration(decl, raw)
    return render_template("afas/_live.html", oob=True, fields=fields_for(decl.equipement.type),
                           **_live_context(decl, evaluation, _justifications_from_form()))


@bp.post("/declarations/<int:did>/brouillon")
@requires({"partner_manager"}, service="AFAS")
def autosave(did):
    """The form's automatic draft save (afas.js, debounced): JSON, the time said in Paris."""
    decl = _declaration_for_partner(did)
    try:
        services.save_draft(decl, request.form.to_dict(), _justifications_from_form(), current_user)
    except ActionRefused as exc:
        db.session.rollback()
        detail = " ".join(str(v) for v in (exc.problems or {}).values())
        return jsonify(message=f"Brouillon non enregistré : {exc.message} {detail}".strip()), exc.status
    db.session.commit()
    at = decl.updated_at.replace(tzinfo=timezone.utc).astimezone(PARIS)
    return jsonify(message=f"Brouillon enregistré à {at.hour} h {at.minute:02d}", enregistre_a=at.isoformat())


@bp.post("/declarations/<int:did>/messages")
@requires({"partner_manager", "caf_agent", "caf_admin"}, service="AFAS")
def message(did):
    decl = _declaration_for_caf(did) if current_user.is_caf_staff else _declaration_for_partner(did)
    files = [(f.filename, f.stream) for f in request.files.getlist("pieces") if f.filename]
    try:
        services.post_message(decl, current_user, request.form.get("body", ""), files=files)
        db.session.commit()
        flash("Message envoyé.", "success")
    except ActionRefused as exc:
        flash(exc.problems.get("pieces") or exc.problems.get("body", exc.message), "error")
    target = "afas.review" if current_user.is_caf_staff else "afas.declaration"
    return redirect(url_for(target, did=did) + "#messages")


@bp.get("/declarations/<int:did>/pieces/<int:aid>")
@requires(PARTNER_VIEWERS | CAF)
def attachment_download(did, aid):
    """A message's attachment: the declaration's organisation and the Caf's AFAS staff only."""
    decl = _declaration_for_reader(did)
    piece = db.session.get(MessageAttachment, aid)
    if piece is None or piece.declaration_id != decl.id:
        abort(404)
    return attachment(storage.chunks(storage.store(AREA), piece.sha256), mimetype=piece.mimetype,
                      filename=piece.filename)


@bp.get("/declarations/<int:did>/accuse-<int:numero>.pdf")
@requires(PARTNER_VIEWERS | CAF)
def receipt(did, numero):
    decl = _declaration_for_reader(did)
    version = next((v for v in decl.versions if v.numero == numero), None)
    if version is None:
        abort(404)
    from .receipt import build_receipt
    pdf = build_receipt(decl, version)
    return send_file(io.BytesIO(pdf), mimetype="application/pdf", as_attachment=True,
                     download_name=f"accuse-reception-{decl.equipement.numero}-{decl.type}-{decl.annee}-v{numero}.pdf")


# -- Caf pages --------------------------------------------------------------------------------

def _queue_filters() -> dict:
    args = request.args
    filters = {
        "type_equipement": args.get("type_equipement") if args.get("type_equipement") in EQUIPEMENT_TYPES else "",
        "type_declaration": args.get("type_declaration") if args.get("type_declaration") in DECLARATION_TYPES else "",
        "status": args.get("status") if args.get("status") in STATUS_LABELS and args.get("status") != "brouillon" else "",
        "alertes": args.get("alertes") == "1",
        "retard": args.get("retard") == "1",
        "annee": None,
    }
    try:
        annee = int(args.get("annee", ""))
        filters["annee"] = annee if 2000 <= annee <= 2100 else None
    except ValueError:
        pass
    return filters


QUEUE_SORTS = {
    "echeance": SortKey("Échéance", (Declaration.echeance, Declaration.transmitted_at)),
    "organisation": SortKey("Organisation", (Organisation.nom, Equipement.nom)),
    "equipement": SortKey("Équipement", (Equipement.nom,)),
    "statut": SortKey("Statut", (Declaration.status, Declaration.echeance)),
    "transmise": SortKey("Transmise le", (Declaration.transmitted_at,), "desc"),
    "droit": SortKey("Droit", (Declaration.droit,), "desc"),
}


@bp.get("/instruction")
@requires(CAF, service="AFAS")
def queue():
    filters = _queue_filters()
    query = services.queue_query(filters).join(Organisation, Organisation.id == Equipement.organisation_id)
    listing = paginate(query, read_args(QUEUE_SORTS, "echeance"), QUEUE_SORTS, tiebreak=(Declaration.id,),
                       search_columns=(Organisation.nom, Equipement.nom, Equipement.numero, Equipement.commune))
    years = list(range(services.today().year + 1, services.today().year - 4, -1))
    return render_template("afas/queue.html", listing=listing, rows=listing.items, filters=filters, years=years,
                           types=DECLARATION_TYPES, eq_types=EQUIPEMENT_TYPES,
                           statuses={k: v for k, v in STATUS_LABELS.items() if k != "brouillon"},
                           today=services.today())


@bp.get("/instruction/<int:did>")
@requires(CAF, service="AFAS")
def review(did):
    decl = _declaration_for_caf(did)
    version = decl.last_version
    comparisons = []
    for label, other in (
            ("Version précédente", decl.versions[-2] if len(decl.versions) > 1 else None),
            (f"Prévisionnel {decl.annee}", None if decl.type == "previsionnel" else
             (services.find_declaration(decl.equipement_id, decl.annee, "previsionnel") or None)),
            (f"{decl.type_label} {decl.annee - 1}", services.find_declaration(decl.equipement_id, decl.annee - 1, decl.type)),
            (f"Réel {decl.annee - 1}", None if decl.type == "reel" else
             services.find_declaration(decl.equipement_id, decl.annee - 1, "reel"))):
        if other is None:
            continue
        v = other if hasattr(other, "numero") else other.last_version
        if v is not None:
            comparisons.append((label, v))
    diff = services.diff_data(decl.equipement.type, decl.versions[-2].data, version.data) if len(decl.versions) > 1 else []
    return render_template("afas/review.html", decl=decl, eq=decl.equipement, version=version,
                           groups=form_groups(decl.equipement.type), comparisons=comparisons, diff=diff,
                           rules=RULES, campagne=services.campagne_window(decl.annee, decl.type))


def _caf_action(did: int, fn, success: str, *args):
    decl = _declaration_for_caf(did)
    try:
        fn(decl, current_user, *args)
    except ActionRefused as exc:
        db.session.rollback()
        flash(exc.problems.get("message", exc.message), "error")
        return redirect(url_for("afas.review", did=did))
    db.session.commit()
    flash(success, "success")
    return redirect(url_for("afas.review", did=did))


@bp.post("/instruction/<int:did>/prise-en-charge")
@requires(CAF, service="AFAS")
def take(did):
    return _caf_action(did, services.take_in_charge, "Déclaration prise en charge.")


@bp.post("/instruction/<int:did>/correction")
@requires(CAF, service="AFAS")
def request_correction(did):
    return _caf_action(did, services.request_correction, "Correction demandée au partenaire.",
                       request.form.get("message", ""))


@bp.post("/instruction/<int:did>/validation")
@requires(CAF, service="AFAS")
def validate(did):
    return _caf_action(did, services.validate, "Déclaration validée.")


@bp.post("/instruction/<int:did>/paiement")
@requires(CAF, service="AFAS")
def mark_paid(did):
    return _caf_action(did, services.mark_paid, "Déclaration marquée payée.")


@bp.get("/instruction/export.<fmt>")
@requires(CAF, service="AFAS")
def export(fmt):
    from . import exports
    if fmt not in ("csv", "xlsx"):
        abort(404)
    decls = db.session.scalars(services.queue_query(_queue_filters(), all_statuses=True)).all()
    stamp = paris_today().isoformat()
    if fmt == "csv":
        return attachment(exports.to_csv(decls), mimetype="text/csv", filename=f"declarations-afas-{stamp}.csv")
    return send_file(io.BytesIO(exports.to_xlsx(decls)), as_attachment=True,
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     download_name=f"declarations-afas-{stamp}.xlsx")


@bp.get("/baremes")
@requires({"caf_admin"})
def baremes():
    rows = services.all_baremes()
    added = {r.annee: r for r in db.session.scalars(select(BaremeAnnee))}
    return render_template("afas/baremes.html", baremes=sorted(rows.values(), key=lambda b: -b.annee), added=added)


@bp.post("/baremes")
@requires({"caf_admin"})
def bareme_import():
    upload = request.files.get("fichier")
    if upload is None or not upload.filename:
        flash("Choisissez un fichier JSON de barème.", "error")
        return redirect(url_for("afas.baremes"))
    content = upload.read(MAX_BAREME_BYTES + 1)
    if len(content) > MAX_BAREME_BYTES:
        flash(f"Fichier trop volumineux (maximum {MAX_BAREME_BYTES // 1000} ko).", "error")
        return redirect(url_for("afas.baremes"))
    try:
        row = services.import_bareme(content, current_user, source=upload.filename)
    except BaremeError as exc:
        db.session.rollback()
        return render_template("afas/baremes.html", baremes=sorted(services.all_baremes().values(), key=lambda b: -b.annee),
                               added={r.annee: r for r in db.session.scalars(select(BaremeAnnee))},
                               problems=exc.problems), 422
    db.session.commit()
    flash(f"Barème {row.annee} enregistré.", "success")
    return redirect(url_for("afas.baremes"))


def home_panel(user):
    """Home page panel: the organisation's expected declarations (partners) or the queue (Caf)."""
    if user.is_caf_staff:
        if user.habilitation("AFAS") is None:
            return None
        statuses = ("transmise", "en_instruction", "a_corriger")
        counted = dict(db.session.execute(select(Declaration.status, db.func.count()).where(
            Declaration.status.in_(statuses)).group_by(Declaration.status)).all())
        counts = {status: counted.get(status, 0) for status in statuses}
        return "afas/home_panel_caf.html", {"counts": counts, "labels": STATUS_LABELS}
    if user.role not in PARTNER_VIEWERS or user.organisation.active_contrat("AFAS") is None:
        return None
    if user.role == "partner_manager" and user.habilitation("AFAS") is None:
        return None
    from .next_actions import expected_once
    expected = expected_once(user.organisation_id)
    return "afas/home_panel.html", {"expected": expected, "late": [e for e in expected if e.late and not
                                                                   (e.declaration and e.declaration.versions)]}
