"""The landlord operator's next actions, first on the home page: « Déposer un fichier » and the
last files rejected or processed in part."""
from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db

from .models import REJETE, TRAITE_PARTIEL, EdiFichier

LAST = 3


def next_actions(user):
    if user.role != "bailleur_operator" or user.habilitation("EDI") is None:
        return None
    rejected = db.session.scalars(select(EdiFichier).where(
        EdiFichier.organisation_id == user.organisation_id, EdiFichier.statut.in_([REJETE, TRAITE_PARTIEL]))
        .order_by(EdiFichier.recu_le.desc(), EdiFichier.id.desc()).limit(LAST)).all()
    return "edi/next_actions.html", {"rejected": rejected}
