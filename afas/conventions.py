"""Conventions d'objectifs et de financement and the équipement's territoire (issue #21).

The Caf funds an équipement, and accepts its declarations, only for the exercices a signed
convention covers: `convention_for()` is what services.transmit asks. A convention is recorded
by the Caf (reference, dates), then signed: the Caf uploads the signed PDF. `a_renouveler()` lists
the conventions ending within RENOUVELLEMENT_JOURS days without a signed successor.

State changes write the audit entry and flush; the caller commits.
"""
from __future__ import annotations

import hashlib
from datetime import date, timedelta

from sqlalchemy import select

from portal.audit import record_event
from portal.dates import today as paris_today
from portal.extensions import db
from portal.models import utcnow

from .bonus import ZONES
from .models import ConventionFinancement, Equipement

RENOUVELLEMENT_JOURS = 90
HORIZON_ANNEES = 6           # no date more than 6 years ahead (a convention runs 4 years, renewed ahead)
PASSE_ANNEES = 15            # nor more than 15 years back
MAX_DOCUMENT = 10 * 1024 * 1024


class ConventionRefused(ValueError):
    """Refused input, with the field it concerns and a French message (answered 422 / shown)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def check_date(field: str, value: date | None, label: str, on: date | None = None) -> date:
    on = on or paris_today()
    if value is None:
        raise ConventionRefused(field, f"{label} : date obligatoire.")
    if value > on.replace(year=on.year + HORIZON_ANNEES, day=min(on.day, 28)):
        raise ConventionRefused(field, f"{label} : le {value:%d/%m/%Y} est à plus de {HORIZON_ANNEES} ans ; "
                                       "vérifiez l'année saisie.")
    if value < on.replace(year=on.year - PASSE_ANNEES, day=min(on.day, 28)):
        raise ConventionRefused(field, f"{label} : le {value:%d/%m/%Y} est à plus de {PASSE_ANNEES} ans dans "
                                       "le passé ; vérifiez l'année saisie.")
    return value


def record_convention(equipement: Equipement, reference: str, debut: date | None, fin: date | None,
                      actor, on: date | None = None) -> ConventionFinancement:
    """The Caf records a convention (not yet signed: its signed document comes next)."""
    reference = (reference or "").strip()
    if not reference or len(reference) > 50:
        raise ConventionRefused("reference", "Référence : de 1 à 50 caractères.")
    debut = check_date("debut", debut, "Début", on)
    fin = check_date("fin", fin, "Fin", on)
    if fin <= debut:
        raise ConventionRefused("fin", "Fin : la convention doit finir après son début.")
    row = ConventionFinancement(equipement_id=equipement.id, reference=reference, debut=debut, fin=fin)
    db.session.add(row)
    db.session.flush()
    record_event("afas", "convention_enregistree", actor=actor, organisation_id=equipement.organisation_id,
                 target=f"equipement:{equipement.id}", convention=row.id, reference=reference,
                 debut=debut.isoformat(), fin=fin.isoformat())
    return row


def upload_signed(convention: ConventionFinancement, filename: str, content: bytes, signee_le: date | None,
                  actor, on: date | None = None) -> ConventionFinancement:
    """The Caf uploads the signed convention (PDF): from then on the convention is in force."""
    signee_le = check_date("signee_le", signee_le, "Date de signature", on)
    if signee_le > (on or paris_today()):
        raise ConventionRefused("signee_le", "Date de signature : elle ne peut pas être dans le futur.")
    if not content or not content.startswith(b"%PDF-"):
        raise ConventionRefused("document", "Document : le document signé doit être un PDF.")
    if len(content) > MAX_DOCUMENT:
        raise ConventionRefused("document", "Document : 10 Mo au plus.")
    convention.document = content
    convention.document_nom = (filename or "convention.pdf")[-200:]
    convention.document_sha256 = hashlib.sha256(content).hexdigest()
    convention.signee_le = signee_le
    convention.deposee_par_id = getattr(actor, "id", None)
    convention.deposee_le = utcnow()
    db.session.flush()
    equipement = db.session.get(Equipement, convention.equipement_id)
    record_event("afas", "convention_signee_deposee", actor=actor, organisation_id=equipement.organisation_id,
                 target=f"equipement:{equipement.id}", convention=convention.id,
                 empreinte=convention.document_sha256, signee_le=signee_le.isoformat())
    return convention


def convention_for(equipement: Equipement, annee: int) -> ConventionFinancement | None:
    """The signed convention covering (part of) exercice `annee`, or None."""
    return next((c for c in equipement.conventions if c.couvre(annee)), None)


def refus_sans_convention(equipement: Equipement, annee: int) -> str | None:
    """The message refusing a transmission without a convention, or None when one covers the year."""
    if convention_for(equipement, annee) is not None:
        return None
    unsigned = [c for c in equipement.conventions if not c.signee]
    detail = (f" La convention {unsigned[0].reference} est enregistrée mais son exemplaire signé n'a pas "
              "encore été déposé par la Caf." if unsigned else "")
    return (f"Transmission impossible : l'équipement « {equipement.libelle} » n'a pas de convention "
            f"d'objectifs et de financement signée couvrant l'exercice {annee}.{detail} "
            "Contactez votre Caf pour la signer ou la renouveler.")


def a_renouveler(equipements, on: date | None = None) -> list[ConventionFinancement]:
    """Signed conventions in force ending within 90 days, with no signed convention after them."""
    on = on or paris_today()
    out = []
    for eq in equipements:
        for c in eq.conventions:
            if not (c.en_vigueur(on) and c.fin <= on + timedelta(days=RENOUVELLEMENT_JOURS)):
                continue
            if not any(o.signee and o.fin > c.fin for o in eq.conventions):
                out.append(c)
    return out


def record_territoire(equipement: Equipement, zone: str | None, ctg: bool, places: int | None, actor) -> None:
    """The Caf records and validates the équipement's area for the bonus territoire."""
    zone = zone or None
    if zone is not None and zone not in ZONES:
        raise ConventionRefused("zone_prioritaire", "Zone : QPV, ZRR ou aucune.")
    if places is not None and not 0 <= places <= 500:
        raise ConventionRefused("places_territoire", "Places créées : entre 0 et 500.")
    if (zone or ctg) and not places:
        raise ConventionRefused("places_territoire", "Places créées : à renseigner pour une zone prioritaire "
                                                     "ou une convention territoriale globale.")
    equipement.zone_prioritaire, equipement.ctg, equipement.places_territoire = zone, bool(ctg), places
    equipement.territoire_valide_le = utcnow() if (zone or ctg) else None
    equipement.territoire_valide_par_id = getattr(actor, "id", None) if (zone or ctg) else None
    db.session.flush()
    record_event("afas", "territoire_valide", actor=actor, organisation_id=equipement.organisation_id,
                 target=f"equipement:{equipement.id}", zone=zone, ctg=bool(ctg), places=places)


def conventions_of(equipement_id: int) -> list[ConventionFinancement]:
    return list(db.session.scalars(select(ConventionFinancement).where(
        ConventionFinancement.equipement_id == equipement_id).order_by(ConventionFinancement.debut)))
