"""Home-page dashboards: who sees which panel, and the figures in the charts' data and tables."""
import json
import re
from datetime import date, datetime

from afas.models import Campagne, Declaration, Equipement
from portal.dashboards.charts import Chart, Dataset, pivot
from portal.extensions import db


def _chart_data(html: str, chart_id: str) -> dict:
    match = re.search(rf'<script type="application/json" id="{chart_id}-donnees">(.*?)</script>', html, re.S)
    assert match, f"pas de données pour {chart_id}"
    return json.loads(match.group(1))


def _afas_data(org, droit=1234.5):
    today = date.today()
    db.session.add(Campagne(annee=today.year, type_declaration="previsionnel",
                            ouverture=date(today.year - 1, 9, 1), echeance=date(today.year + 1, 1, 31)))
    e = Equipement(organisation_id=org.id, type="EAJE", nom="Crèche", numero=f"D-{org.id}")
    db.session.add(e)
    db.session.flush()
    db.session.add(Declaration(equipement_id=e.id, annee=today.year, type="previsionnel", status="validee",
                               droit=droit, transmitted_at=datetime.now()))
    db.session.flush()


def test_caf_agent_home_shows_charts_with_table_alternatives(client, factory, login):
    org = factory.organisation(services={"AFAS": []})
    _afas_data(org)
    agent = factory.user(org=factory.caf(), role="caf_agent", habilitations={"AFAS": None})
    login(agent)
    html = client.get("/accueil").get_data(as_text=True)
    assert 'data-testid="tableau-de-bord-caf"' in html
    progress = _chart_data(html, "caf-afas-campagne")
    assert progress["labels"] == ["EAJE"]
    assert [d["label"] for d in progress["datasets"]] == ["Attendues", "Transmises", "En retard", "Validées"]
    assert [d["data"] for d in progress["datasets"]] == [[1], [1], [0], [1]]
    droits = _chart_data(html, "caf-afas-droits")
    assert droits["datasets"][0]["label"] == "EAJE" and droits["datasets"][0]["data"][-1] == 1234.5
    assert "1\u202f234,50 €" in html  # the table alternative, French formatting
    assert 'role="img"' in html and "Tableau des données" in html
    assert "Consultations CDAP par profil" in html and "Aucune alerte sur la période." in html
    assert "<script>" not in html  # strict CSP: data blocks only


def test_partner_home_shows_only_its_own_droits(client, factory, login):
    mine = factory.organisation(services={"AFAS": []})
    other = factory.organisation(services={"AFAS": []})
    _afas_data(mine, droit=500)
    e = Equipement(organisation_id=other.id, type="ALSH", nom="Centre", numero=f"O-{other.id}")
    db.session.add(e)
    db.session.flush()
    db.session.add(Declaration(equipement_id=e.id, annee=date.today().year, type="previsionnel",
                               status="validee", droit=9999))
    db.session.flush()
    manager = factory.user(org=mine, role="partner_manager", habilitations={"AFAS": None})
    login(manager)
    html = client.get("/accueil").get_data(as_text=True)
    assert 'data-testid="tableau-de-bord-partenaire"' in html
    assert 'data-testid="tableau-de-bord-caf"' not in html
    droits = _chart_data(html, "partenaire-afas-droits")
    assert [d["label"] for d in droits["datasets"]] == ["EAJE"]
    assert "9999" not in html and "9\u202f999" not in html


def test_panels_are_not_shown_to_other_roles(client, factory, login):
    org = factory.organisation(kind="conseil_departemental", services={"CDAP": ["travailleur_social"]})
    worker = factory.user(org=org, role="travailleur_social", habilitations={"CDAP": "travailleur_social"})
    login(worker)
    html = client.get("/accueil").get_data(as_text=True)
    assert "tableau-de-bord" not in html
    assert "chart.umd.min.js" not in html


def test_chart_table_and_pivot():
    assert pivot([{"d": "a", "s": "x", "v": 2}, {"d": "b", "s": "x", "v": 3}, {"d": "a", "s": "y", "v": 1},
                  {"d": "zz", "s": "x", "v": 7}], "d", "s", "v", ["a", "b"], ["x", "y"]) == {"x": [2, 3], "y": [1, 0]}
    chart = Chart(id="c", title="T", kind="bar", labels=["01/03"], label_header="Jour", unit="€", unit2="%",
                  datasets=[Dataset("Montant", [1500.5]), Dataset("Taux", [12.5], axis="y2"), Dataset("Vide", [None])])
    assert chart.table() == {"headers": ["Jour", "Montant", "Taux", "Vide"],
                             "rows": [["01/03", "1\u202f500,50 €", "12,5 %", "—"]]}
    assert not chart.empty
    assert Chart(id="e", title="E", kind="bar", labels=["a"], datasets=[Dataset("x", [0])]).empty


def test_landlord_home_shows_its_files_and_rejection_rate(client, factory, login):
    from edi.models import EdiEnregistrement, EdiFichier
    mine = factory.organisation(kind="bailleur", services={"EDI": []})
    other = factory.organisation(kind="bailleur", services={"EDI": []})
    now = datetime.now()
    for org, statut in ((mine, "TRAITE"), (mine, "REJETE"), (mine, "TRAITE_PARTIEL"), (other, "REJETE")):
        f = EdiFichier(organisation_id=org.id, canal="portail", nom_fichier="f.xml", sha256="a" * 64, taille=1,
                       statut=statut, recu_le=now)
        db.session.add(f)
        db.session.flush()
        if statut == "TRAITE_PARTIEL":
            db.session.add(EdiEnregistrement(fichier_id=f.id, rang=1, identifiant="R1", accepte=False,
                                             severite="ERREUR", code="LOCATAIRE_INCONNU",
                                             libelle="Locataire inconnu", anomalies=[]))
    db.session.flush()
    operator = factory.user(org=mine, role="bailleur_operator", habilitations={"EDI": None})
    login(operator)
    html = client.get("/accueil").get_data(as_text=True)
    assert 'data-testid="tableau-de-bord-bailleur"' in html
    flows = _chart_data(html, "bailleur-edi-flux")
    by_label = {d["label"]: d["data"][-1] for d in flows["datasets"]}
    assert by_label == {"Acceptés": 1, "Acceptés partiellement": 1, "Rejetés": 1, "Taux de rejet (%)": 33.3}
    assert "LOCATAIRE_INCONNU" in html and "Locataire inconnu" in html
    assert "3 fichiers traités en 90 jours, dont 1 rejeté (33,3 %)." in html


def test_each_series_of_a_chart_has_its_own_colour():
    from portal.dashboards.charts import PALETTE, Chart, Dataset
    chart = Chart(id="c", title="t", kind="bar", labels=["a"], datasets=[
        Dataset("Attendues", [1]), Dataset("Transmises", [1]),
        Dataset("En retard", [1], color="#E1000F"), Dataset("Validées", [1], color="#009081"),
        Dataset("Encore", [1], color="#e1000f")])
    colors = [d["color"] for d in chart.spec()["datasets"]]
    assert len(set(colors)) == 5 and set(colors) <= set(PALETTE)
    # Explicit colours are kept where they are free; the defaults avoid them.
    assert colors[2:4] == ["#E1000F", "#009081"] and colors[1] != "#009081"


def test_chart_days_read_as_people_write_them():
    from datetime import date

    from portal.dashboards.charts import day_label
    assert day_label(date(2025, 12, 12)) == "12 décembre 2025"
    assert day_label(date(2026, 3, 1)) == "1er mars 2026"
