"""The equipment manager's next actions, first on the home page: the declarations the Caf sent
back for correction (highlighted) and those due soonest, not transmitted yet."""
from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db

from . import services
from .models import Declaration, Equipement

SOONEST = 3


def next_actions(user):
    if user.role != "partner_manager" or user.habilitation("AFAS") is None:
        return None
    to_correct = db.session.scalars(select(Declaration).join(Equipement).where(
        Equipement.organisation_id == user.organisation_id, Declaration.status == "a_corriger")
        .order_by(Declaration.updated_at)).all()
    due = [e for e in services.expected_declarations(user.organisation_id)
           if not e.upcoming and (e.declaration is None or e.declaration.status == "brouillon")]
    due.sort(key=lambda e: e.campagne.echeance)
    return "afas/next_actions.html", {"to_correct": to_correct, "due": due[:SOONEST], "more": max(0, len(due) - SOONEST)}
