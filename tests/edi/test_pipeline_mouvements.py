"""MOUVEMENTS files through the pipeline: a landlord reports its tenants' entries and exits."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from edi.models import EdiFichier
from portal.extensions import db

from tests.support.edi_files import build_xml
from .test_pipeline import ACC, accuse_of, upload, validate_accuse


def _logements(numero_allocataire: str):
    from cdap.models import Allocataire, Logement
    return db.session.scalars(select(Logement).join(Allocataire, Allocataire.id == Logement.allocataire_id)
                              .where(Allocataire.numero == numero_allocataire)).all()


def _results(api, fid):
    doc = validate_accuse(accuse_of(api, fid)[0])
    return [(r.findtext(f"{ACC}Identifiant"), r.findtext(f"{ACC}Code")) for r in doc.findall(f"{ACC}Resultat")]


def test_exits_and_returns_are_applied_and_an_entry_never_makes_someone_a_tenant(
        app, api_client, edi_token, landlord, signer, tenants, run_jobs):
    from cdap.loyers import current_rent
    from tests.cdap.conftest import make_allocataire
    [returning] = _logements(tenants[1]["numero_allocataire"])
    returning.date_sortie, returning.tiers_payant = date(2025, 6, 30), False
    stranger = make_allocataire(numero="7200001", nom="Inconnu")
    db.session.commit()
    api = api_client(edi_token)
    day = date.today() - timedelta(days=5)
    records = [
        {"identifiant": "M1", "code_locataire": tenants[0]["code_locataire"],
         "numero_allocataire": tenants[0]["numero_allocataire"], "type": "SORTIE", "date_mouvement": day},
        {"identifiant": "M2", "code_locataire": tenants[1]["code_locataire"],
         "numero_allocataire": tenants[1]["numero_allocataire"], "type": "ENTREE", "date_mouvement": day,
         "loyer_cents": 47000, "charges_cents": 6000},
        {"identifiant": "M3", "code_locataire": "LOC000900", "numero_allocataire": stranger.numero,
         "type": "ENTREE", "date_mouvement": day},
        {"identifiant": "M4", "code_locataire": "LOC000901", "numero_allocataire": "7299999",
         "type": "ENTREE", "date_mouvement": day},
    ]
    data = build_xml("MOUVEMENTS", landlord, records, file_id="MVT-1")
    fid = upload(api, data, signer.sign(data))
    assert run_jobs() == ["done"]

    f = db.session.get(EdiFichier, fid)
    assert (f.statut, f.nb_acceptes, f.nb_rejetes, f.nb_appliques) == ("TRAITE_PARTIEL", 2, 2, 2)
    [left] = _logements(tenants[0]["numero_allocataire"])
    assert (left.date_sortie, left.tiers_payant) == (day, False)  # the exit ends tiers payant
    [back] = _logements(tenants[1]["numero_allocataire"])
    assert (back.date_entree, back.date_sortie) == (day, None)
    assert current_rent(back)["loyer_cents"] == 47000
    # An entry of someone the Caf does not know as this landlord's tenant changes nothing, and
    # the answer does not tell a known numéro (M3) from an unknown one (M4).
    assert _results(api, fid) == [("M3", "LOCATAIRE_INCONNU"), ("M4", "LOCATAIRE_INCONNU")]
    assert _logements(stranger.numero) == [] and _logements("7299999") == []


def test_an_exit_announced_in_advance_keeps_tiers_payant_until_its_date(
        app, api_client, edi_token, landlord, signer, tenants, run_jobs):
    api = api_client(edi_token)
    later = date.today() + timedelta(days=60)
    records = [{"identifiant": "S1", "code_locataire": tenants[2]["code_locataire"],
                "numero_allocataire": tenants[2]["numero_allocataire"], "type": "SORTIE",
                "date_mouvement": later}]
    data = build_xml("MOUVEMENTS", landlord, records, file_id="MVT-F")
    fid = upload(api, data, signer.sign(data))
    run_jobs()
    assert db.session.get(EdiFichier, fid).statut == "TRAITE"
    [leaving] = _logements(tenants[2]["numero_allocataire"])
    assert (leaving.date_sortie, leaving.tiers_payant) == (later, True)


def test_a_test_mode_file_is_checked_like_a_real_one_and_changes_nothing(
        app, api_client, edi_token, landlord, signer, tenants, run_jobs):
    api = api_client(edi_token)
    day = date.today() - timedelta(days=5)
    records = [{"identifiant": "T1", "code_locataire": tenants[0]["code_locataire"],
                "numero_allocataire": tenants[0]["numero_allocataire"], "type": "SORTIE",
                "date_mouvement": day},
               {"identifiant": "T2", "code_locataire": "LOC000950", "numero_allocataire": "7299998",
                "type": "ENTREE", "date_mouvement": day}]
    data = build_xml("MOUVEMENTS", landlord, records, file_id="MVT-T", mode="TEST")
    fid = upload(api, data, signer.sign(data))
    run_jobs()
    f = db.session.get(EdiFichier, fid)
    assert (f.nb_acceptes, f.nb_rejetes, f.nb_appliques) == (1, 1, 0)
    assert _results(api, fid) == [("T2", "LOCATAIRE_INCONNU")]
    [kept] = _logements(tenants[0]["numero_allocataire"])
    assert (kept.date_sortie, kept.tiers_payant) == (None, True)


@pytest.mark.parametrize("batch", [1, 5000], ids=["one-record-batches", "one-batch"])
def test_movements_of_one_file_are_checked_in_their_order(
        app, api_client, edi_token, landlord, signer, tenants, run_jobs, monkeypatch, batch):
    """Each movement is checked against the tenancy as the file's earlier movements left it,
    whatever the batching: a tenant who leaves and comes back in one file is no incoherence, a
    second exit at another date is."""
    monkeypatch.setitem(app.config, "EDI_BATCH_SIZE", batch)
    api = api_client(edi_token)
    left, back = date.today() - timedelta(days=40), date.today() - timedelta(days=10)
    t0, t1 = tenants[0], tenants[1]

    def movement(ident, tenant, kind, day):
        return {"identifiant": ident, "code_locataire": tenant["code_locataire"],
                "numero_allocataire": tenant["numero_allocataire"], "type": kind, "date_mouvement": day}

    records = [movement("O1", t0, "SORTIE", left), movement("O2", t0, "ENTREE", back),
               movement("O3", t1, "SORTIE", left), movement("O4", t1, "SORTIE", back)]
    data = build_xml("MOUVEMENTS", landlord, records, file_id="MVT-O")
    fid = upload(api, data, signer.sign(data))
    assert run_jobs() == ["done"]
    f = db.session.get(EdiFichier, fid)
    assert (f.nb_acceptes, f.nb_rejetes, f.nb_appliques) == (3, 1, 3)
    assert _results(api, fid) == [("O4", "MOUVEMENT_INCOHERENT")]
    [returned] = _logements(t0["numero_allocataire"])
    assert (returned.date_entree, returned.date_sortie) == (back, None)
    [gone] = _logements(t1["numero_allocataire"])
    assert (gone.date_sortie, gone.tiers_payant) == (left, False)
