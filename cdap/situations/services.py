"""State changes of a case, each a verb that writes its audit entry (never the notes or the
budget themselves) and flushes; the caller (view, task, seed) commits."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from portal.audit import record_event
from portal.dates import today as paris_today
from portal.extensions import db
from portal.models import utcnow

from ..models import ImpayeQueueItem
from ..policy import suivi_fields
from . import rules
from .models import (ACTIONS, CANAUX, CAPACITES, DROITS_A_VERIFIER, ETAPES_PROCEDURE, ISSUES, MAINTIEN,
                     MODALITES_RDV, MODES, PLANS, RESULTATS_CONTACT, STATUTS_ACTION, STATUTS_RDV, Action, Contact,
                     EtapeProcedure, RendezVous, Situation)


class Refused(ValueError):
    """A change the case's state does not allow: the message is shown to the person (422)."""


def _event(user, action: str, situation: Situation, **details) -> None:
    record_event("cdap", f"situation_{action}", actor=user, target=f"situation:{situation.id}", **details)


def _open(situation: Situation) -> None:
    if situation.closed_at is not None:
        raise Refused("La situation est close : rouvrez-la depuis la file pour la modifier.")


def _check(value, allowed: dict, refusal: str) -> None:
    """`refusal` is the whole sentence (« Canal inconnu. », « Modalité inconnue. »): French agrees
    the adjective with the noun."""
    if value not in allowed:
        raise Refused(refusal)


def situation_of(item: ImpayeQueueItem) -> Situation | None:
    return db.session.scalar(select(Situation).where(Situation.queue_item_id == item.id))


def ensure_situation(item: ImpayeQueueItem) -> Situation:
    """The item's case, created unassigned if nobody took it yet (a Caf decision or a CCAPEX
    stage may come first)."""
    situation = situation_of(item)
    if situation is None:
        situation = Situation(queue_item_id=item.id, taken_at=utcnow(), droits_a_verifier=[])
        db.session.add(situation)
        db.session.flush()
    return situation


def take_case(item: ImpayeQueueItem, user) -> Situation:
    """The worker takes the item: it becomes a case (« situation ») assigned to them."""
    situation = situation_of(item)
    if situation is None:
        situation = Situation(queue_item_id=item.id, taken_at=utcnow(), droits_a_verifier=[])
        db.session.add(situation)
    elif situation.closed_at is not None:
        situation.closed_at, situation.issue = None, None
    previous = item.statut
    item.assigned_to_id = user.id
    if item.statut in ("nouveau", "clos"):
        item.statut = "en_cours"
    item.updated_at = utcnow()
    db.session.flush()
    _event(user, "prise_en_charge", situation, de=previous)
    return situation


def reopen_case(item: ImpayeQueueItem) -> None:
    """The queue's « Rouvrir »: the case (if any) is open again, its outcome cleared (the
    queue action writes the audit entry)."""
    situation = situation_of(item)
    if situation is not None and situation.closed_at is not None:
        situation.closed_at, situation.issue = None, None
        db.session.flush()


def record_contact(situation: Situation, user, *, on: date, canal: str, resultat: str, note: str = "") -> Contact:
    _open(situation)
    _check(canal, CANAUX, "Canal inconnu.")
    _check(resultat, RESULTATS_CONTACT, "Résultat inconnu.")
    item = db.session.get(ImpayeQueueItem, situation.queue_item_id)
    if on < item.impaye.date_signalement or on > paris_today():
        raise Refused("La date de la tentative de contact doit être comprise entre le signalement et aujourd'hui.")
    contact = Contact(situation_id=situation.id, on=on, canal=canal, resultat=resultat,
                      note=note.strip()[:500] or None, by_id=user.id)
    db.session.add(contact)
    if situation.first_contact_on is None or on < situation.first_contact_on:
        situation.first_contact_on = on
    db.session.flush()
    _event(user, "contact", situation, canal=canal, resultat=resultat)
    return contact


def set_mode(situation: Situation, user, mode: str) -> None:
    _open(situation)
    _check(mode, MODES, "Mode d'intervention inconnu.")
    situation.mode = mode
    db.session.flush()
    _event(user, "mode", situation, mode=mode)


def add_rdv(situation: Situation, user, *, at: datetime, modalite: str, note: str = "") -> RendezVous:
    _open(situation)
    _check(modalite, MODALITES_RDV, "Modalité inconnue.")
    rdv = RendezVous(situation_id=situation.id, at=at, modalite=modalite, statut="prevu",
                     note=note.strip()[:500] or None)
    db.session.add(rdv)
    db.session.flush()
    _event(user, "rdv", situation, modalite=modalite)
    return rdv


def set_rdv_statut(rdv: RendezVous, situation: Situation, user, statut: str, note: str = "") -> None:
    _open(situation)
    _check(statut, STATUTS_RDV, "Statut inconnu.")
    rdv.statut = statut
    if note.strip():
        rdv.note = note.strip()[:500]
    db.session.flush()
    _event(user, "rdv_statut", situation, statut=statut)


def save_diagnostic(situation: Situation, user, *, ressources_cents: int, charges_cents: int, personnes: int,
                    droits: list[str], capacite: str) -> rules.ResteAVivre:
    _open(situation)
    _check(capacite, CAPACITES, "Capacité inconnue.")
    for code in droits:
        _check(code, DROITS_A_VERIFIER, "Droit à vérifier inconnu.")
    rav = rules.reste_a_vivre(ressources_cents, charges_cents, personnes)
    situation.ressources_cents, situation.charges_cents, situation.personnes = ressources_cents, charges_cents, personnes
    situation.droits_a_verifier = sorted(set(droits))
    situation.capacite = capacite
    db.session.flush()
    _event(user, "diagnostic", situation)  # no amount in the audit trail
    return rav


def add_action(situation: Situation, user, *, type: str, on: date, statut: str = "proposee", detail: str = "",
               montant_mensuel_cents: int | None = None, duree_mois: int | None = None,
               debut: date | None = None, accord_bailleur: bool = False) -> Action:
    _open(situation)
    _check(type, ACTIONS, "Action inconnue.")
    _check(statut, STATUTS_ACTION, "Statut inconnu.")
    if type == "plan_apurement" and not (montant_mensuel_cents and duree_mois and debut):
        raise Refused("Un plan d'apurement a un montant mensuel, une durée et une date de début.")
    action = Action(situation_id=situation.id, type=type, statut=statut, on=on, detail=detail.strip()[:200] or None,
                    montant_mensuel_cents=montant_mensuel_cents if type == "plan_apurement" else None,
                    duree_mois=duree_mois if type == "plan_apurement" else None,
                    debut=debut if type == "plan_apurement" else None,
                    accord_bailleur=bool(accord_bailleur) and type == "plan_apurement",
                    accord_bailleur_on=on if accord_bailleur and type == "plan_apurement" else None)
    db.session.add(action)
    db.session.flush()
    _sync_plan(situation)
    _event(user, "action", situation, type=type, statut=statut)
    return action


def set_action_statut(action: Action, situation: Situation, user, *, statut: str, on: date,
                      accord_bailleur: bool | None = None) -> None:
    _open(situation)
    _check(statut, STATUTS_ACTION, "Statut inconnu.")
    action.statut, action.on = statut, on
    if accord_bailleur is not None and action.type == "plan_apurement" and accord_bailleur != action.accord_bailleur:
        action.accord_bailleur = accord_bailleur
        action.accord_bailleur_on = on if accord_bailleur else None
    db.session.flush()
    _sync_plan(situation)
    _event(user, "action_statut", situation, type=action.type, statut=statut)


def plan_state(situation: Situation | None) -> str | None:
    """None (no plan), "propose" or "accorde" (the landlord agreed): what the landlord sees."""
    if situation is None:
        return None
    plans = [a for a in situation.actions if a.type == "plan_apurement" and a.statut != "refusee"]
    if not plans:
        return None
    return "accorde" if any(a.accord_bailleur for a in plans) else "propose"


def landlord_view(signalement, situation: Situation | None) -> dict:
    """What the landlord reads of its own signalement (cdap.policy.SUIVI["bailleur"]): when it was
    received, the plan (its monthly amount and duration once the landlord agreed it: it is party
    to it) and the maintien de l'aide with its date. Never the reason, the notes nor the budget."""
    state = plan_state(situation)
    plan = {"etat": state, "libelle": PLANS[state], "montant_mensuel_cents": None, "duree_mois": None}
    if state == "accorde":
        agreed = [a for a in situation.actions
                  if a.type == "plan_apurement" and a.statut != "refusee" and a.accord_bailleur]
        plan.update(montant_mensuel_cents=agreed[-1].montant_mensuel_cents, duree_mois=agreed[-1].duree_mois)
    decision = situation.maintien if situation is not None else None
    if decision:
        libelle = MAINTIEN[decision]
    else:
        libelle = "Aide maintenue, décision de la Caf à venir" if signalement.maintien_aide else "Aide suspendue"
    view = {"recu": signalement.date_signalement, "plan": plan,
            "maintien_aide": {"decision": decision, "libelle": libelle,
                              "le": situation.maintien_on if decision else None}}
    allowed = suivi_fields("bailleur")
    return {name: value for name, value in view.items() if name in allowed}


def _sync_plan(situation: Situation) -> None:
    """A plan the landlord agreed puts the queue item and the signalement at « plan »."""
    item = db.session.get(ImpayeQueueItem, situation.queue_item_id)
    if plan_state(situation) == "accorde" and item.statut in ("nouveau", "en_cours"):
        item.statut = "plan_apurement"
        item.impaye.statut = "plan"
        item.impaye.plan_apurement = True


def decide_maintien(situation: Situation, user, *, decision: str, motif: str, on: date,
                    mois: int | None = None) -> None:
    """A Caf agent decides: maintain, suspend, or maintain 1 to 3 months to renegotiate."""
    _open(situation)
    _check(decision, MAINTIEN, "Décision")
    if not motif.strip():
        raise Refused("Indiquez le motif de la décision.")
    if decision == "renegociation":
        if mois is None or not 1 <= mois <= rules.RENEGOCIATION_MAX_MONTHS:
            raise Refused("Le maintien pour renégocier dure de 1 à 3 mois.")
    else:
        mois = None
    situation.maintien, situation.maintien_motif, situation.maintien_mois = decision, motif.strip()[:300], mois
    situation.maintien_on, situation.maintien_by_id = on, user.id
    item = db.session.get(ImpayeQueueItem, situation.queue_item_id)
    item.impaye.maintien_aide = decision != "suspension"
    db.session.flush()
    _event(user, "maintien", situation, decision=decision, mois=mois)


def record_etape(situation: Situation, user, *, etape: str, on: date) -> EtapeProcedure:
    """CCAPEX records a stage of the eviction procedure."""
    _check(etape, ETAPES_PROCEDURE, "Étape")
    row = EtapeProcedure(situation_id=situation.id, etape=etape, on=on, by_id=user.id)
    db.session.add(row)
    db.session.flush()
    _event(user, "procedure", situation, etape=etape)
    return row


def close_case(situation: Situation, user, *, issue: str, minutes: int) -> None:
    _open(situation)
    _check(issue, ISSUES, "Issue")
    if not 0 < minutes <= 100_000:
        raise Refused("Indiquez le temps passé, en minutes.")
    situation.issue, situation.minutes, situation.closed_at = issue, minutes, utcnow()
    item = db.session.get(ImpayeQueueItem, situation.queue_item_id)
    item.statut = "clos"
    item.impaye.statut = "resolu"
    item.updated_at = utcnow()
    db.session.flush()
    _event(user, "cloture", situation, issue=issue, minutes=minutes)


def purge_closed(retention_months: int, now: datetime | None = None) -> int:
    """Delete the cases closed more than `retention_months` ago, with their contacts,
    appointments, actions, stages, notes and budget (the queue item stays, closed)."""
    if not 1 <= retention_months <= 120:
        raise ValueError("la durée de conservation doit être comprise entre 1 et 120 mois")
    cutoff = (now or utcnow()) - timedelta(days=30 * retention_months)
    old = db.session.scalars(select(Situation).where(Situation.closed_at < cutoff)).all()
    for situation in old:
        db.session.delete(situation)
    db.session.flush()
    if old:
        record_event("cdap", "situations_purgees", nombre=len(old), mois=retention_months)
    return len(old)
