"""AFAS aggregates used by the dashboards."""
from datetime import date, datetime

from afas import stats
from afas.models import Acompte, Campagne, Declaration, Equipement
from portal.extensions import db

TODAY = date(2031, 10, 1)


def _equipement(org, type_, n, actif=True):
    e = Equipement(organisation_id=org.id, type=type_, nom=f"{type_} {n}", numero=f"T-{org.id}-{type_}-{n}", actif=actif)
    db.session.add(e)
    db.session.flush()
    return e


def _declaration(e, type_, status, annee=2031, late=False, droit=None):
    d = Declaration(equipement_id=e.id, annee=annee, type=type_, status=status, late=late, droit=droit,
                    transmitted_at=None if status == "brouillon" else datetime(2031, 5, 1))
    db.session.add(d)
    db.session.flush()
    return d


def _setup(factory):
    org = factory.organisation(services={"AFAS": []})
    other = factory.organisation(services={"AFAS": []})
    db.session.add_all([
        Campagne(annee=2031, type_declaration="previsionnel", ouverture=date(2030, 9, 1), echeance=date(2031, 1, 31)),
        Campagne(annee=2031, type_declaration="actualise_juin", ouverture=date(2031, 6, 1), echeance=date(2031, 12, 31)),
        Campagne(annee=2031, type_declaration="reel", ouverture=date(2032, 1, 1), echeance=date(2032, 6, 30)),
    ])
    eaje1, eaje2 = _equipement(org, "EAJE", 1), _equipement(org, "EAJE", 2)
    alsh = _equipement(other, "ALSH", 1)
    _equipement(org, "RPE", 1, actif=False)
    _declaration(eaje1, "previsionnel", "validee", droit=1000)
    _declaration(eaje2, "previsionnel", "transmise", late=True)
    _declaration(eaje1, "actualise_juin", "brouillon")
    _declaration(alsh, "previsionnel", "payee", droit=250.5)
    _declaration(alsh, "reel", "validee", annee=2030, droit=300)
    return org, other, eaje1, alsh


def test_campaign_progress_counts_expected_transmitted_late_and_validated(factory):
    org, other, *_ = _setup(factory)
    assert stats.current_exercice(TODAY) == 2031
    rows = {r["type"]: r for r in stats.campaign_progress(2031, TODAY)}
    # 2 opened campaigns (prévisionnel past its deadline, actualisé juin open): inactive RPE ignored.
    assert rows["EAJE"] == {"type": "EAJE", "expected": 4, "transmitted": 2, "late": 1, "validated": 1}
    # ALSH: its prévisionnel was transmitted on time, its actualisé is not due yet.
    assert rows["ALSH"] == {"type": "ALSH", "expected": 2, "transmitted": 1, "late": 0, "validated": 1}
    assert "RPE" not in rows
    own = stats.campaign_progress(2031, TODAY, organisation_id=org.id)
    assert [r["type"] for r in own] == ["EAJE"]


def test_overdue_declarations_never_transmitted_count_as_late(factory):
    org = factory.organisation(services={"AFAS": []})
    db.session.add(Campagne(annee=2031, type_declaration="previsionnel", ouverture=date(2030, 9, 1), echeance=date(2031, 1, 31)))
    _equipement(org, "LAEP", 1)
    _equipement(org, "LAEP", 2)
    [row] = stats.campaign_progress(2031, TODAY, organisation_id=org.id)
    assert row == {"type": "LAEP", "expected": 2, "transmitted": 0, "late": 2, "validated": 0}


def test_droits_and_acomptes_by_type(factory):
    org, other, eaje1, alsh = _setup(factory)
    decl = db.session.query(Declaration).filter_by(equipement_id=eaje1.id, type="previsionnel").one()
    db.session.add_all([
        Acompte(declaration_id=decl.id, equipement_id=eaje1.id, annee=2031, numero=1, montant=350,
                date_prevue=date(2031, 3, 1), status="verse"),
        Acompte(declaration_id=decl.id, equipement_id=eaje1.id, annee=2031, numero=2, montant=350,
                date_prevue=date(2031, 9, 1), status="programme"),
    ])
    db.session.flush()
    droits = stats.droits_by_type()
    assert {(r["annee"], r["type"]): r["montant"] for r in droits} == {
        (2030, "ALSH"): 300.0, (2031, "ALSH"): 250.5, (2031, "EAJE"): 1000.0}
    assert stats.droits_by_type(organisation_id=org.id, annees=[2031]) == [
        {"annee": 2031, "type": "EAJE", "montant": 1000.0, "declarations": 1}]
    acomptes = {(r["type"], r["status"]): r["montant"] for r in stats.acomptes_by_type(annee=2031)}
    assert acomptes == {("EAJE", "verse"): 350.0, ("EAJE", "programme"): 350.0}
    assert stats.acomptes_by_type(organisation_id=other.id) == []
    by_status = {r["status"]: r["nombre"] for r in stats.declarations_by_status(org.id, annee=2031)}
    assert by_status == {"validee": 1, "transmise": 1, "brouillon": 1}


def test_the_exercice_being_worked_on_and_the_ones_to_choose(factory, app):
    from afas.dashboard import progress_chart
    _setup(factory)
    # Campaigns of 2032 open in the autumn of 2031: the latest opened is 2032, but the work is
    # on 2031's actualisé (open, due on 31/12/2031).
    db.session.add(Campagne(annee=2032, type_declaration="previsionnel", ouverture=date(2031, 9, 1),
                            echeance=date(2032, 1, 31)))
    db.session.flush()
    assert stats.current_exercice(TODAY) == 2032
    assert stats.worked_exercice(TODAY) == 2031
    assert stats.opened_exercices(TODAY) == [2032, 2031]
    assert stats.worked_exercice(date(2032, 3, 1)) == 2031  # réel 2031 open until 30/06/2032
    assert stats.worked_exercice(date(2032, 8, 1)) == 2032  # none open: the latest opened
    with app.test_request_context("/accueil"):
        chart = progress_chart(TODAY)
        assert "exercice 2031" in chart.title and chart.choice["value"] == 2031
        assert chart.choice["options"] == [2032, 2031]
    with app.test_request_context("/accueil?exercice=2032"):
        assert "exercice 2032" in progress_chart(TODAY).title
    for ignored in ("1999", "abc", "2031' OR 1=1"):
        with app.test_request_context("/accueil", query_string={"exercice": ignored}):
            assert "exercice 2031" in progress_chart(TODAY).title
