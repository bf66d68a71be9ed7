"""AVIS_PAIEMENT: monthly job per landlord, signed, idempotent per (landlord, month), downloads."""
from __future__ import annotations

from datetime import date

import pytest
from lxml import etree
from sqlalchemy import func, select

from edi.models import EdiAvisPaiement
from portal import jobs
from portal.extensions import db


AV = "{urn:caf:extranet:edi:avis-paiement:1}"


@pytest.fixture
def payments(landlord, tenants):
    from cdap.models import Paiement
    for i, t in enumerate(tenants):
        db.session.add(Paiement(allocataire_id=t["allocataire"].id, mois=date(2026, 10, 1),
                                prestation="APL", montant_cents=25000 + i, date_paiement=date(2026, 10, 25),
                                beneficiaire="bailleur", code_bailleur=landlord.code_bailleur))
    db.session.add(Paiement(allocataire_id=tenants[0]["allocataire"].id, mois=date(2026, 10, 1),
                            prestation="AF", montant_cents=14000, date_paiement=date(2026, 10, 5),
                            beneficiaire="allocataire", code_bailleur=None))  # not tiers payant
    db.session.flush()


def test_monthly_job_builds_one_signed_notice_per_landlord_once(
        app, payments, landlord, run_jobs, api_client, edi_token, client, login, operator):
    from edi.tasks import schedule_avis_paiement
    assert schedule_avis_paiement.run(2026, 10) == 1
    assert run_jobs() == ["done"]
    assert schedule_avis_paiement.run(2026, 10) == 0  # already built: no new job
    avis = db.session.scalar(select(EdiAvisPaiement))
    assert (avis.organisation_id, avis.nb_paiements, avis.montant_total_cents) == (landlord.id, 3, 75003)

    api = api_client(edi_token)
    listing = api.get("/api/v1/edi/avis-paiement").get_json()["avis"]
    assert [a["identifiant_fichier"] for a in listing] == [f"AVIS-{landlord.code_bailleur}-202610"]
    xml = api.get(listing[0]["liens"]["fichier"])
    p7s = api.get(listing[0]["liens"]["signature"])
    assert xml.status_code == p7s.status_code == 200
    from portal.crypto.pki import trust_anchors
    from portal.crypto.signature import verify_detached
    verify_detached(xml.data, p7s.data, trust_anchors())
    from schemas import SCHEMA_DIR
    doc = etree.fromstring(xml.data)
    etree.XMLSchema(etree.parse(str(SCHEMA_DIR / "avis-paiement-1.xsd"))).assertValid(doc)
    assert [p.findtext(f"{AV}MontantCentimes") for p in doc.findall(f"{AV}Paiement")] == [
        "25000", "25001", "25002"]

    # a retried job for the same month changes nothing
    jobs.create_job("edi.build_avis_paiement", {"organisation_id": landlord.id, "annee": 2026,
                                                "mois": 10}, queue="edi")
    db.session.commit()
    run_jobs()
    assert db.session.scalar(select(func.count()).select_from(EdiAvisPaiement)) == 1

    login(operator)
    page = client.get("/edi/avis-paiement").get_data(as_text=True)
    assert 'data-testid="edi-avis-row"' in page and "10/2026" in page
    assert client.get(f"/edi/avis-paiement/{avis.id}/fichier").data == xml.data


def test_a_landlord_paid_that_month_gets_its_notice_even_once_its_tenants_have_left(
        app, payments, landlord, tenants, run_jobs):
    from sqlalchemy import update

    from cdap.models import Logement
    from edi.tasks import schedule_avis_paiement
    db.session.execute(update(Logement).values(tiers_payant=False, date_sortie=date(2026, 10, 31)))
    db.session.commit()
    assert schedule_avis_paiement.run(2026, 11) == 0  # nothing paid to it in November
    assert schedule_avis_paiement.run(2026, 10) == 1
    assert run_jobs() == ["done"]
    assert db.session.scalar(select(EdiAvisPaiement.nb_paiements)) == 3


def test_other_landlord_cannot_download_the_notice(factory, app, payments, landlord, run_jobs,
                                                   api_client, other_landlord):
    from edi.tasks import schedule_avis_paiement
    schedule_avis_paiement.run(2026, 10)
    run_jobs()
    avis = db.session.scalar(select(EdiAvisPaiement))
    other = factory.user(other_landlord, role="bailleur_operator", habilitations={"EDI": None})
    _t, raw = factory.api_token(other_landlord, other)
    assert api_client(raw).get(f"/api/v1/edi/avis-paiement/{avis.id}").status_code == 404
