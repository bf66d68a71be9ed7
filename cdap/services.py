"""CDAP state-changing service functions: the consultation (journal + atypical-use check),
the impayé queue actions, lifting a suspension. Used by the web views and the API alike.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable
from datetime import date, datetime
from functools import lru_cache

from sqlalchemy import and_, bindparam, exists, false, or_, select, true
from sqlalchemy.orm import contains_eager

from portal.audit import record_event
from portal.database import one_row
from portal.extensions import db
from portal.models import utcnow

from . import atypical, journal
from .dossier import build_view
from portal.models import Habilitation, Organisation

from .models import Allocataire, ImpayeQueueItem, Logement, SignalementImpaye
from .normalize import is_valid_numero, normalize_name
from .policy import MOTIFS, POLICY, categories, motifs_for
from portal.dates import today as paris_today

NOT_FOUND_MESSAGE = ("Aucun dossier accessible ne correspond à ce numéro allocataire et à ce nom. "
                     "Vérifiez la saisie : le nom doit être exactement celui du dossier.")


@dataclass
class Actor:
    """Who consults: a signed-in user or an API token, with the CDAP profile it holds."""
    profile: str
    organisation_id: int
    code_bailleur: str | None
    territoire: str | None
    user_id: int | None = None
    api_token_id: int | None = None


@dataclass
class ConsultationResult:
    outcome: str
    view: dict | None = None
    errors: dict[str, str] = field(default_factory=dict)
    journal_id: int | None = None
    suspended: bool = False
    rendered: Any = None

    @property
    def found(self) -> bool:
        return self.outcome == "found"


def validate_request(profile: str, numero: str, nom: str, motif: str, commentaire: str) -> tuple[str | None, dict]:
    """Return (refusal outcome or None, field errors)."""
    errors = {}
    if not is_valid_numero(numero):
        errors["numero"] = "Le numéro allocataire doit compter exactement 7 chiffres."
    if not normalize_name(nom):
        errors["nom"] = "Saisissez le nom de l'allocataire."
    elif len(nom) > 100:
        errors["nom"] = "Le nom ne peut dépasser 100 caractères."
    if len(commentaire) > 300:
        errors["commentaire"] = "Le commentaire ne peut dépasser 300 caractères."
    if not motif:
        errors["motif"] = "Choisissez le motif de la consultation : aucune donnée n'est affichée sans motif."
        outcome = "refused_motif" if len(errors) == 1 else "invalid_input"
        return outcome, errors
    if motif not in motifs_for(profile):
        errors["motif"] = "Motif inconnu pour votre profil : choisissez un motif de la liste."
    return ("invalid_input" if errors else None), errors


@lru_cache(maxsize=None)
def _scope_statement(scope: str):
    """The statement of `find_in_scope` for one scope, built once (Core columns, bound parameters
    `numero`, `nom`, `territoire`, `cb`, `today` and `counter_actor`): each consultation only
    binds values (#22). One row always: a one-row select, outer-joined to the actor's usage
    counter (`atypical.counter_columns`) and to the file when found."""
    A, L = Allocataire.__table__.c, Logement.__table__.c
    if scope == "all":
        in_scope = true()
    elif scope == "territoire":
        in_scope = A.departement == bindparam("territoire")
    elif scope == "locataires":
        in_scope = exists().where(
            L.allocataire_id == A.id, L.code_bailleur == bindparam("cb"),
            or_(L.date_sortie.is_(None), L.date_sortie >= bindparam("today")))
    else:  # "none": an organisation without the territoire or landlord's code its scope needs
        in_scope = false()
    the_file = and_(A.numero == bindparam("numero"), A.nom_normalise == bindparam("nom"))
    counter, on_actor = atypical.counter_join()
    return (select(A.id, in_scope.label("in_scope"), *atypical.counter_columns())
            .select_from(one_row().outerjoin(counter, on_actor).outerjoin(Allocataire.__table__, the_file)))


def find_in_scope(actor: Actor, numero: str | None, nom: str, today: date, *, settings: dict,
                  now: datetime) -> tuple[int | None, bool, tuple]:
    """(file id or None, in scope, the actor's counts as `atypical.counts_of` gives them): one
    query for found / out of scope / not found, so both refusals take the same path, which also
    reads what the atypical-use rules need (one round trip for both, #22). `numero` None: a
    refused request, the counts only.
    Scopes: all files, the organisation's département (none without a territoire), its current
    tenants (none without a landlord's code)."""
    scope = POLICY[actor.profile].scope
    if (scope == "territoire" and not actor.territoire) or (scope == "locataires" and not actor.code_bailleur):
        scope = "none"
    row = db.session.connection().execute(_scope_statement(scope), {
        "counter_actor": atypical.actor_key(actor.user_id, actor.api_token_id), "numero": numero,
        "nom": normalize_name(nom), "territoire": actor.territoire, "cb": actor.code_bailleur,
        "today": today}).one()
    before = atypical.counts_of(row, actor.user_id, actor.api_token_id, now, settings)
    if row.id is None:
        return None, False, before
    return row.id, bool(row.in_scope), before


def consult(actor: Actor, *, numero: str, nom: str, motif: str, commentaire: str = "",
            channel: str = "web", secret: str, settings: dict, request_id: str | None = None,
            today: date | None = None, render: Callable[[ConsultationResult], Any] | None = None
            ) -> ConsultationResult:
    """Validate, look up within scope, check atypical use, journal the attempt, and return the
    profile's view when found. The caller commits. `render` (the page's): called with the result
    just before the journal row is appended, its value kept in `result.rendered`.

    The atypical-use rules are evaluated with this attempt counted but before its journal row
    is written: when this very attempt triggers the suspension, nothing is shown (the file is
    not even read) and the row says so (outcome "suspended", no data category)."""
    today = today or paris_today()
    numero, nom = (numero or "").strip(), (nom or "").strip()
    motif, commentaire = (motif or "").strip(), (commentaire or "").strip()
    if actor.profile not in POLICY:
        raise ValueError("profil CDAP inconnu")
    refusal, errors = validate_request(actor.profile, numero, nom, motif, commentaire)
    ref = journal.reference(numero, secret) if is_valid_numero(numero) else None
    now = utcnow()
    allocataire_id, in_scope, before = find_in_scope(actor, None if refusal else numero, nom, today,
                                                     settings=settings, now=now)
    if refusal:
        outcome = refusal
    elif allocataire_id is None:
        outcome = "not_found"
    elif not in_scope:
        outcome = "out_of_scope"
    else:
        outcome = "found"
    alerts = atypical.check(user_id=actor.user_id, api_token_id=actor.api_token_id,
                            organisation_id=actor.organisation_id, settings=settings, now=now,
                            pending=outcome, before=before)
    suspended = any(a.suspended_until for a in alerts)
    view = None
    if suspended:
        outcome, errors = "suspended", {}  # the habilitation is suspended from now on: nothing is shown
    elif outcome == "found":
        view = build_view(allocataire_id, actor.profile, code_bailleur=actor.code_bailleur, today=today)
    result = ConsultationResult(outcome=outcome, view=view, errors=errors, suspended=suspended)
    if render is not None:
        # Before the journal row: appending it takes the chain head's lock, held until the
        # caller's commit, and every consultation waits for that lock; the page is built
        # outside it (it is still only sent once the row is committed).
        result.rendered = render(result)
    result.journal_id = journal.record(
        user_id=actor.user_id, api_token_id=actor.api_token_id, organisation_id=actor.organisation_id,
        profile=actor.profile, reference=ref, categories=categories(actor.profile) if view else [],
        motif=motif if motif in MOTIFS else None, commentaire=commentaire if not refusal else None,
        channel=channel, outcome=outcome, request_id=request_id, at=now,
        counter=atypical.counter_params(actor.user_id, actor.api_token_id, now, settings, before, outcome))
    return result


# --- impayé queue ------------------------------------------------------------------------

QUEUE_TRANSITIONS = {
    "prendre": ({"nouveau", "en_cours", "plan_apurement"}, "en_cours"),
    "plan": ({"nouveau", "en_cours"}, "plan_apurement"),
    "clore": ({"nouveau", "en_cours", "plan_apurement"}, "clos"),
    "rouvrir": ({"clos"}, "en_cours"),
}


def in_territory(territoire: str | None):
    """Predicate (on a query joined to Allocataire): the allocataire lives in `territoire` now.
    The queue follows the allocataire's current département, never a copy taken when the
    signalement arrived."""
    return Allocataire.departement == territoire if territoire else false()


def item_in_territory(item: ImpayeQueueItem, territoire: str | None) -> bool:
    return bool(territoire) and item.allocataire.departement == territoire


def queue_query(territoire: str | None, *, statut: str | None = None, all_territories: bool = False):
    """The queue's items (a select joined to the signalement, the allocataire and, by its code,
    the landlord's organisation when it has one), by deadline; the page cuts it
    (portal.listing)."""
    query = (select(ImpayeQueueItem).join(SignalementImpaye, SignalementImpaye.id == ImpayeQueueItem.impaye_id)
             .join(Allocataire, Allocataire.id == ImpayeQueueItem.allocataire_id)
             .outerjoin(Organisation, Organisation.code_bailleur == SignalementImpaye.code_bailleur)
             # the joined signalement and allocataire fill item.impaye and item.allocataire:
             # no statement per row of the page
             .options(contains_eager(ImpayeQueueItem.impaye), contains_eager(ImpayeQueueItem.allocataire))
             .order_by(ImpayeQueueItem.echeance, ImpayeQueueItem.id))
    if not all_territories:
        query = query.where(in_territory(territoire))
    if statut:
        query = query.where(ImpayeQueueItem.statut == statut)
    else:
        query = query.where(ImpayeQueueItem.statut != "clos")
    return query


def queue_items(territoire: str | None, *, statut: str | None = None, all_territories: bool = False):
    return db.session.scalars(queue_query(territoire, statut=statut, all_territories=all_territories)).all()


def landlord_names(codes) -> dict[str, str]:
    """Landlords' names by their code (the organisations holding those codes)."""
    codes = {c for c in codes if c}
    if not codes:
        return {}
    return dict(db.session.execute(select(Organisation.code_bailleur, Organisation.nom)
                                   .where(Organisation.code_bailleur.in_(sorted(codes)))).all())


def change_queue_item(item: ImpayeQueueItem, action: str, user) -> bool:
    """Apply a queue action (take, plan received, close, reopen); False if not allowed now."""
    allowed_from, target = QUEUE_TRANSITIONS[action]
    if item.statut not in allowed_from:
        return False
    previous = item.statut
    item.statut = target
    item.updated_at = utcnow()
    if action == "prendre" or item.assigned_to_id is None:
        item.assigned_to_id = user.id
    if target == "plan_apurement":
        item.impaye.statut = "plan"
        item.impaye.plan_apurement = True
    elif target == "clos":
        item.impaye.statut = "resolu"
    if action == "rouvrir":
        from .situations.services import reopen_case
        reopen_case(item)
    record_event("cdap", f"file_impayes_{action}", actor=user, target=f"file_impayes:{item.id}",
                 de=previous, vers=target)
    return True


def lift_token_suspension(api_token_id: int, admin) -> bool:
    lifted = atypical.lift_token_suspension(api_token_id)
    record_event("cdap", "suspension_levee", actor=admin, target=f"api_token:{api_token_id}")
    return lifted


def lift_suspension(user_id: int, admin) -> int:
    habs = db.session.scalars(select(Habilitation).where(
        Habilitation.user_id == user_id, Habilitation.service == "CDAP",
        Habilitation.suspended_until.is_not(None))).all()
    for hab in habs:
        hab.suspended_until = None
        hab.suspension_motif = None
    record_event("cdap", "suspension_levee", actor=admin, target=f"user:{user_id}")
    return len(habs)


__all__ = ["Actor", "ConsultationResult", "consult", "NOT_FOUND_MESSAGE", "queue_items",
           "change_queue_item", "lift_suspension", "lift_token_suspension"]
