"""The CDAP users' next actions, first on the home page: « Consulter un dossier » for the
quotient familial profile, the unpaid-rent queue count for the social workers (``cdap.home``)."""
from __future__ import annotations

from . import home


def next_actions(user):
    hab = user.habilitation("CDAP")
    if hab is None:
        return None
    if hab.profil == "quotient_familial":
        return "cdap/next_actions_qf.html", {}
    return home.panel(user)
