"""The file's sections read in one statement (cdap.dossier_query, issue #22): JSON columns on
PostgreSQL and SQLite give back the same view as typed rows would: booleans as booleans (not
SQLite's 0/1), dates as ISO text, amounts as integers, rows in the policy's order, empty
sections empty, the rent history and the current rent of each shown dwelling."""
from datetime import date

from cdap.dossier import build_view
from cdap.models import LoyerHistorique, Membre
from portal.extensions import db
from tests.support.statements import counted


def _history(lg, effet, loyer, key):
    db.session.add(LoyerHistorique(logement_id=lg.id, code_bailleur=lg.code_bailleur, idempotency_key=key,
                                   source="test", loyer_cents=loyer, charges_cents=7000, nb_colocataires=1,
                                   date_effet=effet))


def test_one_statement_view_keeps_types_order_and_history(world, cdap_data):
    a = cdap_data.allocataire(nom="Typé")
    cdap_data.logement(a, "BL080001", "L-OLD", tiers_payant=False, date_entree=date(2015, 1, 1),
                       date_sortie=date(2019, 12, 31))
    cur = cdap_data.logement(a, "BL080001", "L-CUR", date_entree=date(2020, 1, 1))
    _history(cur, date(2024, 1, 1), 51000, "h1")
    _history(cur, date(2026, 1, 1), 52000, "h2")
    _history(cur, date(2027, 6, 1), 99000, "h3")  # announced for later: not current yet
    cdap_data.droit(a, "APL", date_debut=date(2021, 1, 1))
    cdap_data.droit(a, "AF", date_debut=date(2023, 1, 1))
    db.session.add(Membre(allocataire_id=a.id, role="enfant", nom="Typé", prenom="Léa",
                          date_naissance=date(2015, 5, 1), a_charge=False))
    db.session.flush()
    today = date(2026, 12, 7)
    with counted() as statements:
        view = build_view(a.id, "travailleur_social", today=today)
    assert len(statements) == 1
    assert view["identite"]["date_naissance"] == "1985-04-12" and view["adresse"]["commune"] == "Amiens"
    enfant = view["foyer"]["enfants"][0]
    assert enfant["enfant_a_charge"] is False and enfant["enfant_date_naissance"] == "2015-05-01"
    assert "conjoint" not in view["foyer"]
    assert [d["prestation"] for d in view["droits"]] == ["AF", "APL"]  # latest start first
    assert view["droits"][0]["montant"] == 25000 and view["droits"][0]["date_debut"] == "2023-01-01"
    assert view["quotient_familial"] == [] and view["paiements"] == [] and view["impayes"] == []
    logements = view["logement"]
    assert [lg["code_locataire"] for lg in logements] == ["L-CUR", "L-OLD"]
    assert logements[0]["tiers_payant"] is True and logements[1]["tiers_payant"] is False
    assert logements[0]["loyer"] == 52000 and logements[0]["nb_colocataires"] == 1
    assert logements[1]["loyer"] == 50000 and logements[1]["historique_loyers"] == []
    assert [h["date_effet"] for h in logements[0]["historique_loyers"]] == ["2027-06-01", "2026-01-01", "2024-01-01"]
    assert logements[1]["date_sortie"] == "2019-12-31"


def test_a_profile_reads_only_its_own_rows_in_the_one_statement(world, cdap_data):
    """The landlord's profile: its own dwellings only, and no identity column it may not see."""
    a = cdap_data.allocataire(nom="Deux Bailleurs")
    cdap_data.logement(a, "BL080001", "MINE")
    cdap_data.logement(a, "BL999999", "OTHER")
    with counted() as statements:
        view = build_view(a.id, "bailleur", code_bailleur="BL080001", today=date(2026, 12, 7))
    assert [lg["code_locataire"] for lg in view["logement"]] == ["MINE"]
    assert "OTHER" not in statements[0] and "date_naissance" not in statements[0].split("FROM")[0]
