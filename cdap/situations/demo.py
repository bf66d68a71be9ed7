"""Demo cases at every stage of the follow-up, on the Somme's impayé queue. Picardie Habitat's
impayés stay new: the showcase 8000001 (README, CDAP journey) and 8000002, the case the
follow-up journey (tests/browser/test_situations.py) takes from the start.
Idempotent: nothing is done once a case exists."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

from sqlalchemy import select

from portal.dates import PARIS, today as paris_today
from portal.extensions import db
from portal.models import User, utcnow

from ..demo import PICARDIE_HABITAT
from ..models import Allocataire, ImpayeQueueItem, SignalementImpaye
from . import services
from .models import Situation

WORKER, CCAPEX, AGENT = "ts@somme.example", "ccapex@somme.example", "agent.caf@caf80.example"


def _user(email):
    return db.session.scalar(select(User).where(User.email == email))


def _at(day, hour):
    return datetime.combine(day, time(hour, 0), tzinfo=PARIS).astimezone(timezone.utc).replace(tzinfo=None)


def _signal(item, today, days):
    """Signalled `days` ago, the debt constituted three weeks earlier."""
    item.impaye.date_signalement = today - timedelta(days=days)
    item.impaye.date_constitution = item.impaye.date_signalement - timedelta(days=21)


def seed() -> int:
    if db.session.scalar(select(Situation.id).limit(1)) is not None:
        return 0
    ts, ccapex, agent = _user(WORKER), _user(CCAPEX), _user(AGENT)
    if not (ts and ccapex and agent):
        return 0
    # Picardie Habitat's impayés (the showcase 8000001, and 8000002 of the browser journey) stay new
    items = db.session.scalars(
        select(ImpayeQueueItem).join(Allocataire, Allocataire.id == ImpayeQueueItem.allocataire_id)
        .join(SignalementImpaye, SignalementImpaye.id == ImpayeQueueItem.impaye_id)
        .where(Allocataire.departement == "80", SignalementImpaye.code_bailleur != PICARDIE_HABITAT,
               ImpayeQueueItem.statut == "nouveau")
        .order_by(ImpayeQueueItem.id).limit(6)).all()
    today = paris_today()
    stages = [_taken_not_contacted, _information_conseil, _plan_and_fsl, _ccapex_stage, _closed_cleared,
              _closed_unreachable]
    for item, stage in zip(items, stages):
        stage(item, ts, ccapex, agent, today)
    return len(items[:len(stages)])


def _taken_not_contacted(item, ts, ccapex, agent, today):
    _signal(item, today, 25)  # beyond 10 working days: flagged
    services.take_case(item, ts)


def _information_conseil(item, ts, ccapex, agent, today):
    _signal(item, today, 12)
    s = services.take_case(item, ts)
    services.record_contact(s, ts, on=today - timedelta(days=3), canal="telephone", resultat="sans_reponse")
    services.record_contact(s, ts, on=today - timedelta(days=2), canal="courrier", resultat="joint",
                            note="Courrier reçu, rappel de Madame.")
    services.set_mode(s, ts, "information_conseil")
    services.add_rdv(s, ts, at=_at(today + timedelta(days=3), 10), modalite="telephone", note="Point sur le budget.")


def _plan_and_fsl(item, ts, ccapex, agent, today):
    _signal(item, today, 75)
    s = services.take_case(item, ts)
    services.record_contact(s, ts, on=today - timedelta(days=40), canal="visite", resultat="joint")
    services.set_mode(s, ts, "accompagnement_social")
    rdv = services.add_rdv(s, ts, at=_at(today - timedelta(days=30), 14), modalite="presentiel")
    services.set_rdv_statut(rdv, s, ts, "realise", "Budget établi avec le couple.")
    services.save_diagnostic(s, ts, ressources_cents=162000, charges_cents=118500, personnes=3,
                             droits=["eligibilite_fsl", "prestations_manquantes"], capacite="partielle")
    services.add_action(s, ts, type="plan_apurement", statut="accordee", on=today - timedelta(days=20),
                        montant_mensuel_cents=6000, duree_mois=10, debut=today.replace(day=1), accord_bailleur=True)
    services.add_action(s, ts, type="fsl", statut="en_cours", on=today - timedelta(days=18), detail="FSL de la Somme")
    services.decide_maintien(s, agent, decision="maintien", motif="Plan d'apurement signé et respecté",
                             on=today - timedelta(days=10))


def _ccapex_stage(item, ts, ccapex, agent, today):
    _signal(item, today, 120)
    s = services.take_case(item, ts)
    services.record_contact(s, ts, on=today - timedelta(days=60), canal="telephone", resultat="joint")
    services.set_mode(s, ts, "accompagnement_social")
    services.add_action(s, ts, type="orientation_ccapex", statut="en_cours", on=today - timedelta(days=30))
    services.record_etape(s, ccapex, etape="commandement_payer", on=today - timedelta(days=28))
    services.decide_maintien(s, agent, decision="renegociation", mois=3, motif="Plan à renégocier avec le bailleur",
                             on=today - timedelta(days=7))


def _closed_cleared(item, ts, ccapex, agent, today):
    _signal(item, today, 150)
    s = services.take_case(item, ts)
    services.record_contact(s, ts, on=today - timedelta(days=90), canal="telephone", resultat="joint")
    services.set_mode(s, ts, "information_conseil")
    services.add_action(s, ts, type="aide_projet", statut="accordee", on=today - timedelta(days=70))
    services.close_case(s, ts, issue="dette_soldee", minutes=180)
    s.closed_at = utcnow() - timedelta(days=40)


def _closed_unreachable(item, ts, ccapex, agent, today):
    _signal(item, today, 100)
    s = services.take_case(item, ts)
    for days in (80, 70, 60):
        services.record_contact(s, ts, on=today - timedelta(days=days), canal="courrier", resultat="sans_reponse")
    services.close_case(s, ts, issue="injoignable", minutes=45)
