"""Who sees which case, and what of it (``cdap.policy.SUIVI``); every read is journaled in the
chained consultation journal (``cdap.journal``) under the allocataire's reference, so the
person's right-of-access export lists who read the case.

- social workers and the team lead: the cases of their territory (the allocataire's current
  département); notes and budget only for the assigned worker and the team lead;
- Caf agents: the cases of the Caf's territory (all when the Caf organisation has none);
- CCAPEX: the cases of their territory oriented to the CCAPEX or with a procedure stage;
- the landlord: its own declarations, three facts only.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import journal
from ..models import ImpayeQueueItem
from ..policy import SUIVI_SENSITIVE, suivi_fields
from ..services import Actor
from .models import Situation

TERRITORIAL = {"travailleur_social", "responsable_equipe", "prevention_expulsions"}
READ_OUTCOME = "suivi_lu"


@dataclass(frozen=True)
class Viewer:
    actor: Actor
    referent: bool
    fields: frozenset[str]

    @property
    def profile(self) -> str:
        return self.actor.profile

    def sees(self, field: str) -> bool:
        return field in self.fields

    def can_work(self) -> bool:
        """Record contacts, appointments, diagnostic, actions; close."""
        return self.profile in ("responsable_equipe", "agent_caf") or (
            self.profile == "travailleur_social" and self.referent)


def ccapex_handles(situation: Situation | None) -> bool:
    return situation is not None and (bool(situation.etapes) or any(
        a.type == "orientation_ccapex" for a in situation.actions))


def viewer_for(actor: Actor, item: ImpayeQueueItem, situation: Situation | None) -> Viewer | None:
    """The viewer, or None: the case answers like one that does not exist (404)."""
    dept = item.allocataire.departement
    profile = actor.profile
    if profile in TERRITORIAL:
        if not actor.territoire or actor.territoire != dept:
            return None
        if profile == "prevention_expulsions" and not ccapex_handles(situation):
            return None
    elif profile == "agent_caf":
        if actor.territoire and actor.territoire != dept:
            return None
    elif profile == "bailleur":
        if not actor.code_bailleur or item.impaye.code_bailleur != actor.code_bailleur:
            return None
    else:
        return None
    referent = actor.user_id is not None and item.assigned_to_id == actor.user_id
    return Viewer(actor, referent, suivi_fields(profile, referent=referent))


def journal_read(viewer: Viewer, item: ImpayeQueueItem, *, secret: str, request_id: str | None,
                 channel: str = "web"):
    """One chained journal row per read of a case: categories « suivi » plus the sensitive ones
    shown (suivi_notes, suivi_budget)."""
    categories = ["suivi"] + [f"suivi_{f}" for f in sorted(SUIVI_SENSITIVE) if viewer.sees(f)]
    a = viewer.actor
    return journal.record(
        user_id=a.user_id, api_token_id=a.api_token_id, organisation_id=a.organisation_id, profile=a.profile,
        reference=journal.reference(item.allocataire.numero, secret), categories=categories, motif=None,
        commentaire=None, channel=channel, outcome=READ_OUTCOME, request_id=request_id)
