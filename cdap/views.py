"""CDAP pages: consultation (form, file, print view), journals and GDPR export, the impayé
queue, atypical-use alerts. Views are thin: the service layer decides what is shown."""
from __future__ import annotations

from datetime import timedelta

from flask import (Blueprint, abort, current_app, flash, g, redirect, render_template, request,
                   url_for)
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, StringField, TextAreaField

from portal.access import requires
from portal.downloads import attachment
from portal.extensions import db
from portal.inputs import int_arg
from portal.listing import SortKey, paginate, read_args
from portal.dates import today as paris_today
from portal.formatting import MOIS, MOIS_ABREGES, date_heure, euros
from portal.models import ALL_ROLES, Organisation, User, utcnow

from . import journal, presentation, services
from .journal import CHANNELS, OUTCOMES, PARTNER_OUTCOMES
from .models import Allocataire, AtypicalAlert, ImpayeQueueItem, SignalementImpaye, PRESTATIONS, QUEUE_STATUTS, SITUATIONS, BENEFICIAIRES, DROIT_STATUTS
from .labels import PRESTATIONS_ANNUELLES, VERSE_A
from .normalize import is_valid_numero
from .policy import FIELDS, MOTIFS, POLICY, QUEUE_PROFILES, SECTIONS, SUIVI_CATEGORIES, motifs_for

bp = Blueprint("cdap", __name__, url_prefix="/cdap", template_folder="templates",
               static_folder="static", static_url_path="/static")

CDAP_ROLES = ALL_ROLES  # the CDAP habilitation (service="CDAP") is what actually grants access


class ConsultationForm(FlaskForm):
    numero = StringField("Numéro allocataire")
    nom = StringField("Nom de l'allocataire")
    motif = SelectField("Motif de la consultation", choices=[], validate_choice=False)
    commentaire = TextAreaField("Commentaire (facultatif)")


def current_actor() -> services.Actor:
    hab = current_user.habilitation("CDAP")
    org = current_user.organisation
    contrat = org.active_contrat("CDAP")
    profile = hab.profil if hab else None
    if hab is None or contrat is None or profile not in POLICY or profile not in (contrat.profils or []):
        abort(403)
    return services.Actor(profile=profile, organisation_id=org.id, code_bailleur=org.code_bailleur,
                          territoire=org.territoire, user_id=current_user.id)


def _form(actor: services.Actor) -> ConsultationForm:
    form = ConsultationForm()
    form.motif.choices = [("", "— Choisir un motif —")] + list(motifs_for(actor.profile).items())
    return form


def _settings() -> dict:
    return current_app.config["CDAP_SETTINGS"]


@bp.get("/consultation")
@requires(CDAP_ROLES, service="CDAP")
def consultation_form():
    actor = current_actor()
    form = _form(actor)
    item_id = int_arg("impaye", None)
    if item_id and actor.profile in QUEUE_PROFILES:
        item = db.session.get(ImpayeQueueItem, item_id)
        if item is not None and (actor.profile == "agent_caf" or services.item_in_territory(item, actor.territoire)):
            form.numero.data = item.allocataire.numero
            form.nom.data = item.allocataire.nom
    return render_template("cdap/consultation.html", form=form, actor=actor, profile=POLICY[actor.profile])


def _consult(channel: str):
    """Consult, render, then commit: the page is built before the journal row is appended (that
    append holds the chain head's lock until the commit, and every consultation waits for it),
    and before the commit (which would expire every loaded object), but only returned once the
    journal row is committed."""
    actor = current_actor()

    def render(result: services.ConsultationResult):
        if result.suspended:
            return None
        if result.found:
            template = "cdap/impression.html" if channel == "impression" else "cdap/dossier.html"
            return render_template(template, view=result.view, layout=presentation.layout(result.view),
                                   actor=actor, profile=POLICY[actor.profile],
                                   motif=request.form.get("motif"),
                                   commentaire=request.form.get("commentaire", ""), labels=LABELS), 200
        # The form only when it is shown again (refusal, not found): building it costs ≈ 0.27 ms
        # of CPU, 4 % of a consultation (#22), and the file's page does not show it.
        form = _form(actor)
        for name, message in result.errors.items():
            getattr(form, name).errors = [message]
        return render_template("cdap/consultation.html", form=form, actor=actor, profile=POLICY[actor.profile],
                               not_found=not result.errors, message=services.NOT_FOUND_MESSAGE), (
            422 if result.errors else 404)

    result = services.consult(
        actor, numero=request.form.get("numero", ""), nom=request.form.get("nom", ""),
        motif=request.form.get("motif", ""), commentaire=request.form.get("commentaire", ""),
        channel=channel, secret=current_app.config["SECRET_KEY"], settings=_settings(),
        request_id=g.get("request_id"), render=render)
    db.session.commit()
    if result.suspended:
        return render_template("cdap/suspended.html"), 403
    return result.rendered


@bp.post("/consultation")
@requires(CDAP_ROLES, service="CDAP")
def consultation_submit():
    return _consult("web")


@bp.post("/consultation/impression")
@requires(CDAP_ROLES, service="CDAP")
def consultation_print():
    return _consult("impression")


LABELS = {
    "sections": SECTIONS, "fields": FIELDS, "prestations": PRESTATIONS, "situations": SITUATIONS,
    "beneficiaires": BENEFICIAIRES, "droit_statuts": DROIT_STATUTS, "verse_a": VERSE_A,
    "par_an": PRESTATIONS_ANNUELLES,
    "impaye_statuts": {"signale": "Signalé", "plan": "Plan d'apurement", "resolu": "Résolu"},
    "motifs": MOTIFS,
}


# --- journals -------------------------------------------------------------------------------

def _users(rows) -> dict[int, User]:
    ids = {r.user_id for r in rows if r.user_id}
    if not ids:
        return {}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}


@bp.get("/journal")
@requires(CDAP_ROLES, service="CDAP")
def my_journal():
    rows = journal.rows_for(user_id=current_user.id)
    return render_template("cdap/journal.html", rows=rows, users=_users(rows), title="Mes consultations",
                           outcomes=PARTNER_OUTCOMES, channels=CHANNELS, motifs=MOTIFS, scope="moi")


@bp.get("/journal/organisation")
@requires({"partner_admin"})
def organisation_journal():
    rows = journal.rows_for(organisation_id=current_user.organisation_id)
    return render_template("cdap/journal.html", rows=rows, users=_users(rows),
                           title=f"Consultations de {current_user.organisation.nom}",
                           outcomes=PARTNER_OUTCOMES, channels=CHANNELS, motifs=MOTIFS, scope="organisation")


def _gdpr_rows(numero: str):
    ref = journal.reference(numero, current_app.config["SECRET_KEY"])
    rows = list(reversed(journal.rows_for(ref=ref, limit=10_000)))
    users = _users(rows)
    orgs = {o.id: o for o in db.session.scalars(
        select(Organisation).where(Organisation.id.in_({r.organisation_id for r in rows if r.organisation_id})))}
    out = []
    for r in rows:
        u = users.get(r.user_id)
        org = orgs.get(r.organisation_id)
        out.append({
            "date": date_heure(r.at, secondes=True, fuseau=True),
            "personne": u.full_name if u else (f"Logiciel (jeton n° {r.api_token_id})" if r.api_token_id else "—"),
            "organisation": org.nom if org else "—",
            "profil": POLICY[r.profile].label if r.profile in POLICY else (r.profile or "—"),
            "motif": MOTIFS.get(r.motif, "—"),
            "commentaire": r.commentaire or "",
            "canal": CHANNELS.get(r.channel, r.channel),
            "resultat": OUTCOMES.get(r.outcome, r.outcome),
            "donnees": ", ".join(SECTIONS.get(c) or SUIVI_CATEGORIES.get(c, c) for c in r.categories or [])
                       or "aucune",
        })
    return out


GDPR_COLUMNS = [("date", "Date"), ("personne", "Personne"), ("organisation", "Organisation"),
                ("profil", "Profil"), ("motif", "Motif"), ("commentaire", "Commentaire"),
                ("canal", "Canal"), ("resultat", "Résultat"), ("donnees", "Données affichées")]


@bp.route("/journal/allocataire", methods=["GET", "POST"])
@requires({"caf_agent", "caf_admin"})
def allocataire_journal():
    """GET shows the search form; the search is a POST (CSRF): it writes an audit entry, and the
    numéro allocataire stays out of URLs (history, access logs)."""
    numero, rows, error = "", None, None
    if request.method == "POST":
        numero = (request.form.get("numero") or "").strip()
        if is_valid_numero(numero):
            rows = _gdpr_rows(numero)
            from portal.audit import record_event
            record_event("cdap", "journal_allocataire_consulte", actor=current_user,
                         target="ref:" + journal.reference(numero, current_app.config["SECRET_KEY"])[:16])
            db.session.commit()
        else:
            error = "Le numéro allocataire doit compter exactement 7 chiffres."
    return render_template("cdap/journal_allocataire.html", numero=numero, rows=rows, error=error,
                           columns=GDPR_COLUMNS), (422 if error else 200)


def _export_numero() -> str:
    numero = (request.form.get("numero") or "").strip()
    if not is_valid_numero(numero):
        abort(422)
    from portal.audit import record_event
    record_event("cdap", "journal_allocataire_exporte", actor=current_user,
                 target="ref:" + journal.reference(numero, current_app.config["SECRET_KEY"])[:16],
                 format=request.path.rsplit(".", 1)[-1])
    db.session.commit()
    return numero


@bp.post("/journal/allocataire.csv")
@requires({"caf_agent", "caf_admin"})
def allocataire_journal_csv():
    numero = _export_numero()
    from portal.spreadsheets import csv_text
    body = csv_text([label for _, label in GDPR_COLUMNS],
                      [[row[key] for key, _ in GDPR_COLUMNS] for row in _gdpr_rows(numero)])
    return attachment(body, mimetype="text/csv", filename=f"consultations-{numero}.csv")


@bp.post("/journal/allocataire.pdf")
@requires({"caf_agent", "caf_admin"})
def allocataire_journal_pdf():
    numero = _export_numero()
    from .exports import gdpr_pdf
    pdf = gdpr_pdf(numero, _gdpr_rows(numero), GDPR_COLUMNS, generated_by=current_user.full_name)
    return attachment(pdf, mimetype="application/pdf", filename=f"consultations-{numero}.pdf")


# --- impayé queue -------------------------------------------------------------------------

def _queue_actor() -> services.Actor:
    actor = current_actor()
    if actor.profile not in QUEUE_PROFILES:
        abort(403)
    return actor


QUEUE_SORTS = {
    "echeance": SortKey("Plan attendu avant le", (ImpayeQueueItem.echeance,)),
    "recu": SortKey("Reçu le", (SignalementImpaye.date_signalement,), "desc"),
    "nom": SortKey("Nom", (Allocataire.nom,)),
    "bailleur": SortKey("Bailleur", (Organisation.nom, SignalementImpaye.code_bailleur)),
    "dette": SortKey("Dette", (SignalementImpaye.montant_dette_cents,), "desc"),
    "statut": SortKey("Statut", (ImpayeQueueItem.statut, ImpayeQueueItem.echeance)),
}


@bp.get("/impayes")
@requires({"travailleur_social", "caf_agent"}, service="CDAP")
def queue():
    actor = _queue_actor()
    statut = request.args.get("statut") or None
    if statut not in (None, *QUEUE_STATUTS):
        statut = None
    from .situations.queue import queue_flags
    query = services.queue_query(actor.territoire, statut=statut, all_territories=actor.profile == "agent_caf")
    listing = paginate(query, read_args(QUEUE_SORTS, "echeance"), QUEUE_SORTS, tiebreak=(ImpayeQueueItem.id,),
                       search_columns=(Allocataire.numero, Allocataire.nom, Organisation.nom,
                                       SignalementImpaye.code_bailleur))
    bailleurs = services.landlord_names(item.impaye.code_bailleur for item in listing.items)
    return render_template("cdap/impayes.html", listing=listing, items=listing.items, bailleurs=bailleurs,
                           statut=statut, statuts=QUEUE_STATUTS,
                           today=paris_today(), soon=paris_today() + timedelta(days=30),
                           suivi=queue_flags(actor, listing.items))


@bp.post("/impayes/<int:item_id>/<action>")
@requires({"travailleur_social", "caf_agent"}, service="CDAP")
def queue_action(item_id: int, action: str):
    actor = _queue_actor()
    item = db.session.get(ImpayeQueueItem, item_id)
    if item is None or action not in services.QUEUE_TRANSITIONS or (
            actor.profile != "agent_caf" and not services.item_in_territory(item, actor.territoire)):
        abort(404)
    if services.change_queue_item(item, action, current_user):
        db.session.commit()
        flash("Le signalement a été mis à jour.", "success")
    else:
        flash("Cette action n'est pas possible dans l'état actuel du signalement.", "error")
    return redirect(url_for("cdap.queue"))


# --- atypical-use alerts --------------------------------------------------------------------

@bp.get("/alertes")
@requires({"caf_admin"})
def alerts():
    rows = db.session.scalars(select(AtypicalAlert).order_by(AtypicalAlert.at.desc()).limit(300)).all()
    orgs = {o.id: o for o in db.session.scalars(select(Organisation))}
    return render_template("cdap/alertes.html", rows=rows, orgs=orgs, now=utcnow())


@bp.post("/alertes/<int:alert_id>/lever")
@requires({"caf_admin"})
def lift(alert_id: int):
    alert = db.session.get(AtypicalAlert, alert_id)
    if alert is None:
        abort(404)
    if alert.user_id:
        services.lift_suspension(alert.user_id, current_user)
    elif alert.api_token_id:
        services.lift_token_suspension(alert.api_token_id, current_user)
    alert.acknowledged_at = utcnow()
    alert.acknowledged_by_id = current_user.id
    db.session.commit()
    flash("Alerte traitée ; l'éventuelle suspension est levée.", "success")
    return redirect(url_for("cdap.alerts"))


@bp.post("/alertes/<int:alert_id>/traiter")
@requires({"caf_admin"})
def acknowledge(alert_id: int):
    alert = db.session.get(AtypicalAlert, alert_id)
    if alert is None:
        abort(404)
    alert.acknowledged_at = utcnow()
    alert.acknowledged_by_id = current_user.id
    from portal.audit import record_event
    record_event("cdap", "alerte_traitee", actor=current_user, target=f"alerte:{alert.id}")
    db.session.commit()
    flash("Alerte marquée comme traitée.", "success")
    return redirect(url_for("cdap.alerts"))


@bp.app_template_filter("iso_fr")
def iso_fr(value):
    if not value:
        return "—"
    try:
        y, m, d = str(value)[:10].split("-")
        return f"{d}/{m}/{y}"
    except ValueError:
        return value


@bp.app_template_filter("centimes")
def centimes(value):
    """An amount in cents, « 1 234,50 € » (as `(value / 100)|euros`)."""
    return euros(value / 100)


@bp.app_template_filter("mois_fr")
def mois_fr(value, abrege: bool = False):
    """« 2025-12 » → « décembre 2025 » (`abrege`: « déc. 2025 »); anything else as it is."""
    try:
        y, m = str(value).split("-")[:2]
        month = int(m)
    except (ValueError, IndexError):
        return value
    if not 1 <= month <= 12:
        return value
    return f"{(MOIS_ABREGES if abrege else MOIS)[month - 1]} {y}"


@bp.app_template_filter("qf_points")
def qf_points(rows):
    """The QF chart's points, each month labelled « décembre 2025 » (never « 2025-12 ») for the
    tooltip, and « déc. 2025 » under the axis: short enough to stay level on a phone, where the
    full names were turned and the first one cut at the chart's left edge."""
    return [{**row, "libelle": mois_fr(row.get("mois")), "court": mois_fr(row.get("mois"), abrege=True)}
            for row in rows or []]


@bp.app_template_filter("periode_fr")
def periode_fr(value):
    start, _, end = str(value).partition("/")
    return f"du {iso_fr(start) if start != '?' else '?'} au {iso_fr(end) if end != '?' else '?'}"


@bp.app_context_processor
def _cdap_globals():
    from .labels import sections
    return {"now_fr": lambda: date_heure(utcnow(), fuseau=True), "cdap_sections": sections}
