"""Demo data of the payment hand-off: the Commune d'Amiens' bank details (a fictitious IBAN), and for its accueil
de loisirs a réel of last year well below its prévisionnel (its validation makes an indu) and
this year's actualisé waiting for the Caf (its acompte can take the offset)."""
from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.models import Organisation, User

from .. import services as afas_services
from ..demo import _declare, demo_data
from ..models import Equipement
from .coordonnees import record_bank_details
from .models import CoordonneesBancaires

ALSH = "ALSH-80-0002"
DEMO_IBAN = "FR76 3000 6000 0112 3456 7890 189"   # the well-known example IBAN: fictitious


def seed() -> int:
    org = db.session.scalar(select(Organisation).where(Organisation.nom == "Commune d'Amiens"))
    manager = db.session.scalar(select(User).where(User.email == "gestionnaire@amiens.example"))
    agent = db.session.scalar(select(User).where(User.email == "agent.caf@caf80.example"))
    alsh = db.session.scalar(select(Equipement).where(Equipement.numero == ALSH))
    if None in (org, manager, agent, alsh) or db.session.scalar(
            select(CoordonneesBancaires).where(CoordonneesBancaires.organisation_id == org.id)) is not None:
        return 0
    record_bank_details(org, DEMO_IBAN, "AGRIFRPPXXX", "Commune d'Amiens — régie petite enfance", agent)
    year = afas_services.today().year
    _declare(alsh, year - 1, "reel", demo_data("ALSH", 0.6), manager)
    # This year's actualisé (the schemathesis world drafts the prévisionnels): validated, it
    # schedules the acompte that takes the offset.
    _declare(alsh, year, "actualise_juin", demo_data("ALSH", 1.0), manager)
    db.session.commit()
    return 3
