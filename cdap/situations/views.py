"""Pages of a case (on the CDAP blueprint): the case, its actions (one POST per verb), the
worker's agenda. Thin: access in ``access``, changes in ``services``, figures in ``figures``."""
from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from portal.access import requires
from portal.dates import today as paris_today
from portal.extensions import db

from ..models import ImpayeQueueItem
from ..views import CDAP_ROLES, bp, current_actor
from . import access, agenda, rules, services
from .forms import ActionStatutForm, RdvStatutForm, build_forms
from .models import (ACTIONS, CANAUX, CAPACITES, DROITS_A_VERIFIER, ETAPES_PROCEDURE, ISSUES, MAINTIEN,
                     MODALITES_RDV, MODES, PLANS, RESULTATS_CONTACT, STATUTS_ACTION, STATUTS_RDV, Action, RendezVous)

LABELS = {"modes": MODES, "canaux": CANAUX, "resultats": RESULTATS_CONTACT, "modalites": MODALITES_RDV,
          "statuts_rdv": STATUTS_RDV, "actions": ACTIONS, "statuts_action": STATUTS_ACTION,
          "capacites": CAPACITES, "droits": DROITS_A_VERIFIER, "maintien": MAINTIEN,
          "etapes": ETAPES_PROCEDURE, "issues": ISSUES,
          "plan": PLANS}
TAKERS = {"travailleur_social", "responsable_equipe", "agent_caf"}
VERBS = {"contact", "mode", "rdv", "diagnostic", "action", "maintien", "procedure", "cloture"}


def delay() -> int:
    return current_app.config["CDAP_SETTINGS"]["CDAP_CONTACT_DELAY_WORKING_DAYS"]


def _load(item_id: int):
    actor = current_actor()
    item = db.session.get(ImpayeQueueItem, item_id)
    if item is None:
        abort(404)
    situation = services.situation_of(item)
    viewer = access.viewer_for(actor, item, situation)
    if viewer is None:
        abort(404)
    return item, situation, viewer


def _may(viewer: access.Viewer, verb: str) -> bool:
    if verb == "maintien":
        return viewer.profile == "agent_caf"
    if verb == "procedure":
        return viewer.profile in ("prevention_expulsions", "agent_caf")
    return viewer.can_work()


def _page(item, situation, viewer, forms=None, status=200):
    today = paris_today()
    signal = item.impaye.date_signalement
    echeances = []
    if viewer.sees("echeances"):
        echeances = rules.echeances(
            signal=signal, delay_working_days=delay(),
            first_contact=situation.first_contact_on if situation else None,
            plan_agreed=services.plan_state(situation) == "accorde",
            maintien=situation.maintien if situation else None,
            maintien_decided=situation.maintien_on if situation else None,
            maintien_months=situation.maintien_mois if situation else None)
    forms = forms or _prefilled(situation)
    rav = None
    if situation and viewer.sees("budget") and situation.ressources_cents is not None:
        rav = rules.reste_a_vivre(situation.ressources_cents, situation.charges_cents, situation.personnes)
    page = render_template(
        "cdap/situation.html", item=item, situation=situation, viewer=viewer, labels=LABELS,
        forms=forms, today=today, echeances=echeances, rav=rav,
        overdue=rules.contact_overdue(signal, situation.first_contact_on if situation else None, today, delay()),
        plan_state=services.plan_state(situation), may={v: _may(viewer, v) for v in VERBS},
        may_take=viewer.profile in TAKERS and not viewer.referent,
        rdv_form=RdvStatutForm(prefix="rdvstatut", formdata=None),
        action_form=ActionStatutForm(prefix="actionstatut", formdata=None))
    access.journal_read(viewer, item, secret=current_app.config["SECRET_KEY"], request_id=g.get("request_id"))
    db.session.commit()
    return page, status


def _prefilled(situation):
    """The forms, those of a single state (mode, diagnostic) showing the recorded values."""
    forms = build_forms()
    if situation is not None:
        forms["mode"].mode.data = situation.mode
        if situation.ressources_cents is not None:
            d = forms["diagnostic"]
            d.ressources.data = f"{situation.ressources_cents / 100:.2f}".replace(".", ",")
            d.charges.data = f"{situation.charges_cents / 100:.2f}".replace(".", ",")
            d.personnes.data = str(situation.personnes)
            d.droits.data = list(situation.droits_a_verifier or [])
            d.capacite.data = situation.capacite
    return forms


@bp.get("/situations/<int:item_id>")
@requires(CDAP_ROLES, service="CDAP")
def situation(item_id: int):
    item, situation, viewer = _load(item_id)
    return _page(item, situation, viewer)


@bp.post("/situations/<int:item_id>/prendre")
@requires(CDAP_ROLES, service="CDAP")
def situation_take(item_id: int):
    item, situation, viewer = _load(item_id)
    if viewer.profile not in TAKERS:
        abort(403)
    services.take_case(item, current_user)
    db.session.commit()
    flash("Vous suivez cette situation.", "success")
    return redirect(url_for("cdap.situation", item_id=item.id))


def _done(item, message):
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("cdap.situation", item_id=item.id))


@bp.post("/situations/<int:item_id>/<verb>")
@requires(CDAP_ROLES, service="CDAP")
def situation_act(item_id: int, verb: str):
    if verb not in VERBS:
        abort(404)
    item, situation, viewer = _load(item_id)
    if not _may(viewer, verb):
        abort(403)
    forms = build_forms(request.form, submitted=verb)
    form = forms[verb]
    if not form.validate_on_submit():
        abort(400)  # CSRF missing or stale
    data = form.clean()
    if situation is None:
        situation = services.ensure_situation(item)
    if not form.has_errors:
        try:
            _apply(verb, situation, data)
        except services.Refused as exc:
            flash(str(exc), "error")
            db.session.rollback()
            item, situation, viewer = _load(item_id)
            return _page(item, situation, viewer, forms, 422)
        return _done(item, "La situation a été mise à jour.")
    db.session.rollback()
    item, situation, viewer = _load(item_id)
    return _page(item, situation, viewer, forms, 422)


def _apply(verb: str, situation, data: dict) -> None:
    user = current_user
    if verb == "contact":
        services.record_contact(situation, user, **data)
    elif verb == "mode":
        services.set_mode(situation, user, data["mode"])
    elif verb == "rdv":
        services.add_rdv(situation, user, **data)
    elif verb == "diagnostic":
        services.save_diagnostic(situation, user, **data)
    elif verb == "action":
        services.add_action(situation, user, **data)
    elif verb == "maintien":
        services.decide_maintien(situation, user, decision=data["decision"], motif=data["motif"],
                                 mois=data["mois"], on=paris_today())
    elif verb == "procedure":
        services.record_etape(situation, user, **data)
    elif verb == "cloture":
        services.close_case(situation, user, **data)


def _child_form(item_id: int, model, child_id: int, form):
    """An appointment or action of the case, for a status change: 404 when it is not this
    case's, 403 when the viewer may not work on the case, 400 on a form that does not validate."""
    item, situation, viewer = _load(item_id)
    child = db.session.get(model, child_id)
    if situation is None or child is None or child.situation_id != situation.id:
        abort(404)
    if not viewer.can_work():
        abort(403)
    if not form.validate_on_submit():
        abort(400)
    return item, situation, child, form

@bp.post("/situations/<int:item_id>/rdv/<int:rdv_id>")
@requires(CDAP_ROLES, service="CDAP")
def situation_rdv_statut(item_id: int, rdv_id: int):
    item, situation, rdv, form = _child_form(item_id, RendezVous, rdv_id, RdvStatutForm(prefix="rdvstatut"))
    try:
        services.set_rdv_statut(rdv, situation, current_user, **form.clean())
    except services.Refused as exc:
        flash(str(exc), "error")
        return redirect(url_for("cdap.situation", item_id=item.id))
    return _done(item, "Le rendez-vous a été mis à jour.")


@bp.post("/situations/<int:item_id>/action/<int:action_id>")
@requires(CDAP_ROLES, service="CDAP")
def situation_action_statut(item_id: int, action_id: int):
    item, situation, action, form = _child_form(item_id, Action, action_id,
                                                ActionStatutForm(prefix="actionstatut"))
    data = form.clean()
    if form.has_errors:
        flash(form.on.errors[0], "error")
        return redirect(url_for("cdap.situation", item_id=item.id))
    try:
        services.set_action_statut(action, situation, current_user, **data)
    except services.Refused as exc:
        flash(str(exc), "error")
        return redirect(url_for("cdap.situation", item_id=item.id))
    return _done(item, "L'action a été mise à jour.")


@bp.get("/situations/agenda")
@requires({"travailleur_social"}, service="CDAP")
def situation_agenda():
    """Due dates and appointments of the cases assigned to the signed-in worker."""
    current_actor()
    entries = agenda.for_worker(current_user.id, paris_today(), delay())
    return render_template("cdap/situations_agenda.html", entries=entries, today=paris_today())


@bp.app_template_filter("paris_fr")
def paris_fr(moment):
    """A stored naive-UTC moment shown on the Paris clock: « 15/12/2026 à 14:30 »."""
    if not moment:
        return "—"
    return agenda.paris(moment).strftime("%d/%m/%Y à %H:%M")
