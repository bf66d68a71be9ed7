"""AVIS_PAIEMENT: each month, for each landlord, the tiers-payant payments of the month per
tenant, written and signed by the Caf, stored immutably. Idempotent per (landlord, month):
the unique key on (organisation, year, month) keeps the first notice, whatever retries do."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal import jobs
from portal.audit import record_event
from portal.extensions import db
from portal.models import Organisation, utcnow

from . import adapters
from .intake import storage
from .models import EdiAvisPaiement

JOB_KIND = "edi.build_avis_paiement"


def avis_identifier(code_bailleur: str, annee: int, mois: int) -> str:
    return f"AVIS-{code_bailleur}-{annee:04d}{mois:02d}"


def schedule_month(annee: int, mois: int) -> int:
    """Create one job per landlord paid in tiers payant that month (skips notices already
    built)."""
    count = 0
    for code in adapters.landlord_codes(annee, mois):
        org = db.session.scalar(select(Organisation).where(Organisation.code_bailleur == code))
        if org is None:
            continue
        exists = db.session.scalar(select(EdiAvisPaiement.id).where(
            EdiAvisPaiement.organisation_id == org.id, EdiAvisPaiement.annee == annee,
            EdiAvisPaiement.mois == mois))
        if exists:
            continue
        jobs.create_job(JOB_KIND, {"organisation_id": org.id, "annee": annee, "mois": mois},
                        queue="edi")
        count += 1
    return count


def build_avis(organisation_id: int, annee: int, mois: int) -> dict:
    existing = db.session.scalar(select(EdiAvisPaiement).where(
        EdiAvisPaiement.organisation_id == organisation_id, EdiAvisPaiement.annee == annee,
        EdiAvisPaiement.mois == mois))
    if existing is not None:
        return {"avis_id": existing.id, "deja": True}
    org = db.session.get(Organisation, organisation_id)
    payments = adapters.tiers_payant_payments(org.code_bailleur, annee, mois)
    identifiant = avis_identifier(org.code_bailleur, annee, mois)
    created_at = utcnow()
    stored = storage.store_written(
        lambda out: adapters.write_avis(out, org, identifiant, annee, mois, payments, created_at), "avis-")
    with storage.current().open(stored.sha256) as data:
        sig = storage.store_bytes(adapters.sign_outbound(data))
    avis = EdiAvisPaiement(organisation_id=org.id, annee=annee, mois=mois,
                           identifiant_fichier=identifiant, sha256=stored.sha256,
                           taille=stored.size, signature_sha256=sig.sha256,
                           nb_paiements=len(payments),
                           montant_total_cents=sum(p["montant_cents"] for p in payments),
                           cree_le=created_at)
    try:
        with db.session.begin_nested():
            db.session.add(avis)
            record_event("edi", "avis_paiement_emis", organisation_id=org.id,
                         target=f"edi_avis:{identifiant}", paiements=len(payments))
            db.session.flush()
    except IntegrityError:  # built concurrently: the first one stays
        return {"deja": True}
    db.session.commit()
    return {"avis_id": avis.id, "paiements": len(payments)}
