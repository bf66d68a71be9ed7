"""Does a signed convention in force open the AFAS service of an équipement today? (issue #21)

The Caf funds an équipement only under a signed convention d'objectifs et de financement: the
équipement's AFAS service (create, edit, transmit its declarations) is active only on the Paris
days a signed convention covers, from its first day to its last day included. Outside, its
declarations stay readable. `statut()` is what the lists show; `refus_service()` is the French
message the services raise (409) and the pages show. Plain Python: conventions and a day in.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from portal.dates import paris_day
from portal.dates import today as paris_today

RENOUVELLEMENT_JOURS = 90

STATUTS = {"en_vigueur": "Convention en vigueur", "a_renouveler": "Convention à renouveler",
           "sans_convention": "Sans convention en vigueur"}
BADGES = {"en_vigueur": "success", "a_renouveler": "warning", "sans_convention": "error"}


def jour(now: datetime | None = None) -> date:
    """The Paris day of a stored moment (naive UTC), or today in Paris."""
    return paris_day(now) if now is not None else paris_today()


def en_vigueur(conventions, on: date) -> list:
    return [c for c in conventions if c.en_vigueur(on)]


def statut(conventions, on: date) -> str:
    """« sans_convention » when no signed convention covers `on`; « a_renouveler » when the last
    day covered is within RENOUVELLEMENT_JOURS days with no signed convention after it."""
    current = en_vigueur(conventions, on)
    if not current:
        return "sans_convention"
    fin = max(c.fin for c in current)
    if fin <= on + timedelta(days=RENOUVELLEMENT_JOURS) and not any(c.signee and c.fin > fin for c in conventions):
        return "a_renouveler"
    return "en_vigueur"


def service_actif(equipement, on: date | None = None) -> bool:
    return statut(equipement.conventions, on or paris_today()) != "sans_convention"


def _pourquoi(conventions, on: date) -> str:
    signed = [c for c in conventions if c.signee]
    later = sorted((c for c in signed if c.debut > on), key=lambda c: c.debut)
    if later:
        return f"sa convention {later[0].reference} ne prend effet que le {later[0].debut:%d/%m/%Y}"
    past = [c for c in signed if c.fin < on]
    unsigned = [c for c in conventions if not c.signee and c.fin >= on]
    if unsigned:
        return (f"la convention {unsigned[0].reference} est enregistrée mais son exemplaire signé n'a pas "
                "encore été déposé par la Caf")
    if past:
        last = max(past, key=lambda c: c.fin)
        return f"sa convention {last.reference} a pris fin le {last.fin:%d/%m/%Y}"
    return "aucune convention n'a été signée"


def refus_service(equipement, on: date | None = None) -> str | None:
    """The message refusing a write on the équipement's declarations, or None when its service
    is active on `on` (today in Paris by default)."""
    on = on or paris_today()
    if service_actif(equipement, on):
        return None
    return (f"Service AFAS inactif pour « {equipement.libelle} » : aucune convention d'objectifs et de "
            f"financement signée n'est en vigueur au {on:%d/%m/%Y} ({_pourquoi(equipement.conventions, on)}). "
            "Ses déclarations restent consultables mais ne peuvent être ni créées, ni modifiées, ni "
            "transmises. Contactez votre Caf pour signer ou renouveler la convention.")
