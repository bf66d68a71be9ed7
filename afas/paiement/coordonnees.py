"""A partner's bank details (#21): the Caf agent records them, the payment order lines copy the
IBAN in force when the order is produced, and what is due to a partner without valid details
waits (« En attente de coordonnées bancaires »).

State changes write the audit entry (IBAN masked: old → new) and flush; the caller commits.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from portal.audit import record_event
from portal.extensions import db
from portal.models import Organisation, utcnow

from .iban import bic_error, iban_error, mask, normalise
from .models import CoordonneesBancaires

MAX_TITULAIRE = 70


class CoordonneesRefused(ValueError):
    """Refused input, with the field it concerns and a French message (answered 422)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def coordonnees_of(organisation_id: int) -> CoordonneesBancaires | None:
    return db.session.scalar(select(CoordonneesBancaires).where(
        CoordonneesBancaires.organisation_id == organisation_id))


def valid_iban(organisation_id: int) -> str | None:
    """The IBAN a payment line may carry now, or None (none entered, or not valid)."""
    row = coordonnees_of(organisation_id)
    if row is None or not row.iban or iban_error(row.iban) is not None:
        return None
    return row.iban


def record_bank_details(organisation: Organisation, iban: str, bic: str | None, titulaire: str,
                        actor) -> CoordonneesBancaires:
    """Enter or change the partner's bank details. Nothing changed: nothing written."""
    for field, error in (("iban", iban_error(iban)), ("bic", bic_error(bic))):
        if error:
            raise CoordonneesRefused(field, error)
    titulaire = " ".join((titulaire or "").split())
    if not titulaire or len(titulaire) > MAX_TITULAIRE:
        raise CoordonneesRefused("titulaire", f"Titulaire du compte : de 1 à {MAX_TITULAIRE} caractères.")
    iban, bic = normalise(iban), normalise(bic) or None
    row = coordonnees_of(organisation.id)
    if row is not None and (row.iban, row.bic, row.titulaire) == (iban, bic, titulaire):
        return row
    before = (row.iban, row.bic, row.titulaire) if row is not None else (None, None, None)
    if row is None:
        row = CoordonneesBancaires(organisation_id=organisation.id)
        db.session.add(row)
    row.iban, row.bic, row.titulaire = iban, bic, titulaire
    row.recorded_at, row.recorded_by_id = utcnow(), getattr(actor, "id", None)
    db.session.flush()
    record_event("afas", "reference_bancaire_enregistree", actor=actor, organisation_id=organisation.id,
                 target=f"organisation:{organisation.id}", iban_avant=mask(before[0]) or None,
                 iban=mask(iban), bic_avant=before[1], bic=bic, titulaire_avant=before[2], titulaire=titulaire)
    return row


@dataclass(frozen=True)
class Held:
    """Something due that no order carries yet, and why."""
    nature: str
    libelle: str
    organisation: Organisation
    equipement: object
    annee: int
    montant: int   # cents
    motif: str


MOTIFS = {"coordonnees": "En attente de coordonnées bancaires", "siret": "En attente du SIRET du partenaire"}


def held_items(on: date) -> list[Held]:
    """What is due on `on` but held: its partner has no valid IBAN (or no SIRET)."""
    from ..models import Declaration
    from .dues import cents_of
    from .models import KIND_LABELS
    from .services import due_items
    out = []
    for nature, item in due_items(on):
        decl = item.declaration if nature == "recouvrement" else db.session.get(Declaration, item.declaration_id)
        org = decl.equipement.organisation
        motif = MOTIFS["coordonnees"] if valid_iban(org.id) is None else MOTIFS["siret"] if not org.siret else None
        if motif is None:
            continue
        montant = (cents_of(item.montant) if nature == "acompte" else cents_of(item.solde)
                   if nature == "regularisation" else item.reste)
        libelle = KIND_LABELS[nature] + (f" n° {item.numero}" if nature == "acompte" else "")
        out.append(Held(nature, libelle, org, decl.equipement, decl.annee, montant, motif))
    return out
