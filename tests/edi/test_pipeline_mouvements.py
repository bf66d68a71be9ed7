"""MOUVEMENTS files through the pipeline: a landlord reports its tenants' entries and exits."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from edi.models import EdiFichier
from portal.extensions import db

from .flow_fixtures import *  # noqa: F401,F403
from .flow_fixtures import build_xml
from .test_pipeline import ACC, accuse_of, upload, validate_accuse


def _logements(numero_allocataire: str):
    from cdap.models import Allocataire, Logement
    return db.session.scalars(select(Logement).join(Allocataire, Allocataire.id == Logement.allocataire_id)
                              .where(Allocataire.numero == numero_allocataire)).all()


def _movements(tenants, newcomer_numero: str, day: date) -> list[dict]:
    return [
        {"identifiant": "M1", "code_locataire": tenants[0]["code_locataire"],
         "numero_allocataire": tenants[0]["numero_allocataire"], "type": "SORTIE", "date_mouvement": day},
        {"identifiant": "M2", "code_locataire": "LOC000900", "numero_allocataire": newcomer_numero,
         "type": "ENTREE", "date_mouvement": day, "loyer_cents": 47000, "charges_cents": 6000},
        {"identifiant": "M3", "code_locataire": "LOC000901", "numero_allocataire": "7299999",
         "type": "ENTREE", "date_mouvement": day},
    ]


def test_entries_and_exits_are_applied_and_an_entry_opens_the_new_tenants_tenancy(
        app, api_client, edi_token, landlord, signer, tenants, run_jobs):
    from cdap.loyers import current_rent
    from tests.cdap.conftest import make_allocataire
    newcomer = make_allocataire(numero="7200001", nom="Nouveau")
    api = api_client(edi_token)
    day = date.today() - timedelta(days=5)
    data = build_xml("MOUVEMENTS", landlord, _movements(tenants, newcomer.numero, day), file_id="MVT-1")
    fid = upload(api, data, signer.sign(data))
    assert run_jobs() == ["done"]

    f = db.session.get(EdiFichier, fid)
    assert (f.statut, f.nb_acceptes, f.nb_rejetes, f.nb_appliques) == ("TRAITE_PARTIEL", 2, 1, 2)
    # The exit ends the tenancy and its tiers payant at its date.
    [left] = _logements(tenants[0]["numero_allocataire"])
    assert (left.date_sortie, left.tiers_payant) == (day, False)
    # The entry of a known allocataire opens the tenancy, with the rent it reports.
    [opened] = _logements(newcomer.numero)
    assert (opened.code_bailleur, opened.code_locataire) == (landlord.code_bailleur, "LOC000900")
    assert (opened.date_entree, opened.date_sortie, opened.tiers_payant) == (day, None, False)
    assert (current_rent(opened)["loyer_cents"], current_rent(opened)["charges_cents"]) == (47000, 6000)
    # An entry of someone the Caf does not know opens nothing and says why.
    doc = validate_accuse(accuse_of(api, fid)[0])
    results = [(r.findtext(f"{ACC}Identifiant"), r.findtext(f"{ACC}Code"), r.findtext(f"{ACC}Libelle"))
               for r in doc.findall(f"{ACC}Resultat")]
    assert results == [("M3", "ALLOCATAIRE_INCONNU", "Numéro allocataire inconnu de la Caf : allocataire 7299999")]
    assert _logements("7299999") == []


def test_a_test_mode_entry_is_checked_like_a_real_one_and_opens_nothing(
        app, api_client, edi_token, landlord, signer, tenants, run_jobs):
    from tests.cdap.conftest import make_allocataire
    newcomer = make_allocataire(numero="7200002", nom="Essai")
    api = api_client(edi_token)
    day = date.today() - timedelta(days=5)
    data = build_xml("MOUVEMENTS", landlord, _movements(tenants, newcomer.numero, day),
                     file_id="MVT-T", mode="TEST")
    fid = upload(api, data, signer.sign(data))
    run_jobs()
    f = db.session.get(EdiFichier, fid)
    assert (f.nb_acceptes, f.nb_rejetes, f.nb_appliques) == (2, 1, 0)
    assert _logements(newcomer.numero) == []
    [kept] = _logements(tenants[0]["numero_allocataire"])
    assert (kept.date_sortie, kept.tiers_payant) == (None, True)


def test_an_exit_of_a_tenancy_the_caf_does_not_know_is_rejected(
        app, api_client, edi_token, landlord, signer, tenants, run_jobs):
    from tests.cdap.conftest import make_allocataire
    stranger = make_allocataire(numero="7200003", nom="Ailleurs")
    api = api_client(edi_token)
    records = [{"identifiant": "S1", "code_locataire": "LOC000950", "numero_allocataire": stranger.numero,
                "type": "SORTIE", "date_mouvement": date.today() - timedelta(days=3)}]
    data = build_xml("MOUVEMENTS", landlord, records, file_id="MVT-S")
    fid = upload(api, data, signer.sign(data))
    run_jobs()
    assert db.session.get(EdiFichier, fid).statut == "REJETE"
    doc = validate_accuse(accuse_of(api, fid)[0])
    assert [r.findtext(f"{ACC}Code") for r in doc.findall(f"{ACC}Resultat")] == ["LOCATAIRE_INCONNU"]
    assert _logements(stranger.numero) == []
