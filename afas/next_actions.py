"""The equipment manager's next actions, first on the home page: the declarations the Caf sent
back for correction (highlighted) and those due soonest, not transmitted yet."""
from __future__ import annotations

from flask import g
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
    due = [e for e in expected_once(user.organisation_id)
           if not e.upcoming and (e.declaration is None or e.declaration.status == "brouillon")]
    due.sort(key=lambda e: e.campagne.echeance)
    return "afas/next_actions.html", {"to_correct": to_correct, "due": due[:SOONEST], "more": max(0, len(due) - SOONEST)}


def expected_once(organisation_id: int):
    """The organisation's expected declarations, computed once per request: the home page shows
    them twice (these next actions and the AFAS panel, ``afas.views.home_panel``)."""
    cache = g.setdefault("afas_expected", {})
    if organisation_id not in cache:
        cache[organisation_id] = services.expected_declarations(organisation_id)
    return cache[organisation_id]
