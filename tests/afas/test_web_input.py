"""Bad input on the web form: clear message next to the field, never a 500, nothing lost."""
import io
import json
from datetime import date, datetime

from sqlalchemy import func, select

from afas import services
from afas.bareme import file_baremes
from afas.models import BaremeAnnee, Campagne, Declaration
from portal.extensions import db

from .conftest import csrf
from .helpers import alsh


def test_bad_values_are_kept_and_shown_next_to_their_field(client, login, afas_world):
    w = afas_world
    decl = services.create_declaration(w.alsh, 2026, "previsionnel", w.manager)
    login(w.manager)
    token = csrf(client, f"/afas/declarations/{decl.id}")
    data = {**alsh(), "capacite": "-4", "heures_realisees": "12abc", "jours_ouverture": "999999999999999999999",
            "csrf_token": token, "action": "save"}
    response = client.post(f"/afas/declarations/{decl.id}", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'aria-describedby="f-capacite-error"' in html and 'aria-invalid="true"' in html
    assert '<div id="f-capacite-error" class="afas-field-error"><p class="fr-error-text">La valeur ne peut pas être négative.' in html
    assert "Saisissez un nombre" in html
    assert 'value="12abc"' in html                               # what was typed is kept
    db.session.refresh(decl)
    assert decl.data["heures_realisees"] == "12abc" and decl.status == "brouillon"
    transmit = client.post(f"/afas/declarations/{decl.id}", data={**data, "action": "transmit"})
    assert transmit.status_code == 422 and "bloquant" in transmit.get_data(as_text=True)


def test_late_transmission_is_flagged(afas_world):
    w = afas_world
    decl = services.create_declaration(w.alsh, 2024, "reel", w.manager)
    services.save_draft(decl, alsh(), {"EXCEDENT": "-"}, w.manager)
    version = services.transmit(decl, w.manager, now=datetime(2025, 4, 1, 8, 0))   # deadline 31/03/2025
    assert version.late and decl.late
    on_time = services.create_declaration(w.alsh, 2023, "reel", w.manager)
    services.save_draft(on_time, alsh(), {}, w.manager)
    # 21:30 UTC is 23:30 in Paris (summer time): still the deadline day
    assert not services.transmit(on_time, w.manager, now=datetime(2024, 3, 31, 21, 30)).late


def test_expected_declarations_flag_late_ones(afas_world):
    expected = services.expected_declarations(afas_world.org.id, on=date(2025, 6, 20))
    mine = {(e.campagne.annee, e.campagne.type_declaration): e for e in expected
            if e.equipement.id == afas_world.creche.id}
    assert mine[(2024, "reel")].late and mine[(2024, "reel")].declaration is None
    assert not mine[(2025, "previsionnel")].late and mine[(2025, "previsionnel")].declaration.status == "payee"
    assert mine[(2025, "actualise_juin")].open and not mine[(2025, "actualise_juin")].late


def test_campaign_windows_are_read_without_being_recorded(afas_world):
    """Pages and API GETs read the windows (from the barème) without recording them; the daily
    task (or the first declaration) records them, once."""
    def recorded():
        return db.session.scalar(select(func.count()).select_from(Campagne))
    before, on = recorded(), date(2030, 6, 20)
    expected = services.expected_declarations(afas_world.org.id, on=on)
    assert {e.campagne.annee for e in expected} >= {2030} and all(e.campagne.id is None for e in expected)
    db.session.flush()
    assert recorded() == before
    assert services.record_campaigns(on=on) == 12           # 2029, 2030, 2031 × 4 types
    assert services.record_campaigns(on=on) == 0            # idempotent
    assert recorded() == before + 12
    assert services.campagne_window(2030, "reel").id is not None


def test_messages_both_ways(client, login, app, afas_world):
    w = afas_world
    login(w.manager)
    token = csrf(client, f"/afas/declarations/{w.prev.id}")
    assert client.post(f"/afas/declarations/{w.prev.id}/messages", data={"csrf_token": token, "body": ""},
                       follow_redirects=True).status_code == 200
    client.post(f"/afas/declarations/{w.prev.id}/messages", data={"csrf_token": token, "body": "Bonjour, une question."})
    agent = app.test_client()
    login(w.agent, on=agent)
    page = agent.get(f"/afas/instruction/{w.prev.id}").get_data(as_text=True)
    assert "Bonjour, une question." in page
    token = csrf(agent, f"/afas/instruction/{w.prev.id}")
    agent.post(f"/afas/declarations/{w.prev.id}/messages", data={"csrf_token": token, "body": "Réponse de la Caf."})
    assert "Réponse de la Caf." in client.get(f"/afas/declarations/{w.prev.id}").get_data(as_text=True)
    assert [m.from_caf for m in w.prev.messages] == [False, True]
    too_long = client.post(f"/afas/declarations/{w.prev.id}/messages",
                           data={"csrf_token": csrf(client, "/afas/"), "body": "x" * 5001}, follow_redirects=True)
    assert "dépasse 5000" in too_long.get_data(as_text=True)


def test_acomptes_paid_on_their_date(afas_world):
    prev = afas_world.prev
    assert prev.status == "payee" and all(a.status == "verse" for a in prev.acomptes)
    assert [a.date_prevue for a in prev.acomptes] == [date(2025, 3, 1), date(2025, 10, 2)]
    assert services.pay_due_acomptes(on=date(2025, 12, 31)) == 0     # idempotent


def test_caf_admin_adds_a_bareme_year(client, login, afas_world):
    login(afas_world.admin_caf)
    doc = json.loads(json.dumps(file_baremes()[2027].doc))
    doc["annee"], doc["libelle"] = 2030, "Barème 2030 de test (fictif)"
    doc["alsh"]["prix_plafond_acte"] = 7.5
    token = csrf(client, "/afas/baremes")
    response = client.post("/afas/baremes", data={"csrf_token": token, "fichier": (io.BytesIO(json.dumps(doc).encode()), "b.json")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    assert services.get_bareme(2030).doc["alsh"]["prix_plafond_acte"] == 7.5
    assert db.session.query(BaremeAnnee).filter_by(annee=2030).one().imported_by_id == afas_world.admin_caf.id
    doc["acomptes"]["taux_max"] = 3
    bad = client.post("/afas/baremes", data={"csrf_token": token, "fichier": (io.BytesIO(json.dumps(doc).encode()), "b.json")},
                      content_type="multipart/form-data")
    assert bad.status_code == 422 and "acomptes.taux_max" in bad.get_data(as_text=True)
    assert services.get_bareme(2030).doc["acomptes"]["taux_max"] == 0.7


def test_cli_bareme_import(app, tmp_path, afas_world):
    doc = json.loads(json.dumps(file_baremes()[2027].doc))
    doc["annee"] = 2031
    path = tmp_path / "bareme-2031.json"
    path.write_text(json.dumps(doc))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["afas", "bareme", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "Barème 2031 enregistré" in result.output
    path.write_text("{}")
    result = runner.invoke(args=["afas", "bareme", "import", str(path)])
    assert result.exit_code == 1 and "annee" in result.output


def test_demo_seeder_builds_a_history(app, factory):
    from afas.demo import seed
    from portal.demo import seed_demo
    seed_demo()
    count = db.session.query(Declaration).count()
    assert seed() == 0 and db.session.query(Declaration).count() == count   # idempotent
    decls = db.session.query(Declaration).all()
    kinds = {(d.equipement.type, d.type, d.status) for d in decls if d.equipement.numero.endswith(("0001", "0002", "0003", "0004"))}
    assert ("EAJE", "reel", "payee") in kinds and ("EAJE", "previsionnel", "payee") in kinds
    assert ("RPE", "reel", "transmise") in kinds
    assert any(d.regularisation is not None for d in decls)
    # #21: every équipement under a signed convention, the LAEP's due for renewal; the new types
    # and rules are shown (territoire, handicap, plan mercredi, PS Jeunes, FJT).
    from afas.conventions import a_renouveler
    from afas.models import Equipement
    equipements = {e.type: e for e in db.session.query(Equipement).filter(Equipement.numero.like("%-80-%"),
                                                                          Equipement.numero != "EAJE-80-0007")}
    assert {"PSJ", "FJT"} <= set(equipements) and all(e.conventions[0].signee for e in equipements.values())
    assert [c.equipement_id for c in a_renouveler(equipements.values())] == [equipements["LAEP"].id]
    assert equipements["EAJE"].territoire["valide"]
    from afas.convention_service import service_actif
    assert all(service_actif(e) for e in equipements.values())
    lapsed = db.session.query(Equipement).filter_by(numero="EAJE-80-0007").one()
    assert lapsed.conventions[0].signee and not service_actif(lapsed) and not lapsed.declarations
    by_type = {d.equipement.type: d for d in decls if d.type == "reel" and d.last_version is not None}
    steps = {s["libelle"]: s["valeur"] for s in by_type["EAJE"].last_version.droit["etapes"]}
    assert steps["Bonus territoire"] != "0,00 €" and steps["Bonus inclusion handicap"] != "0,00 €"
    assert {s["libelle"]: s["valeur"] for s in by_type["ALSH"].last_version.droit["etapes"]}[
        "Bonification plan mercredi"] != "0,00 €"
    assert by_type["FJT"].last_version.montant > 0 and by_type["PSJ"].last_version.montant > 0


def test_actualise_rebases_the_remaining_acomptes(afas_world):
    """Validated actualisé: remaining acomptes re-based on 70 % of the droit actualisé minus what
    was paid; the prévisionnel, whose share is paid or replaced, is settled."""
    from afas.models import Acompte
    from .helpers import eaje as eaje_data
    w = afas_world
    prev = services.create_declaration(w.creche, 2026, "previsionnel", w.manager)
    services.save_draft(prev, eaje_data(), {}, w.manager)
    services.transmit(prev, w.manager, now=datetime(2026, 1, 5, 9, 0))
    services.validate(prev, w.agent, now=datetime(2026, 1, 12, 10, 0))
    services.pay_due_acomptes(on=date(2026, 3, 2))             # first instalment paid
    first = float(prev.acomptes[0].montant)
    actu = services.create_declaration(w.creche, 2026, "actualise_juin", w.manager)
    data = eaje_data(heures_realisees=60000, heures_facturees=62000, participations_familiales=89280,
                     c64=720000, total_charges=720000, p74=720000, total_produits=720000)
    evaluation = services.save_draft(actu, data, {}, w.manager)
    services.save_draft(actu, data, {c.code: "Baisse d'activité." for c in evaluation.alertes}, w.manager)
    services.transmit(actu, w.manager, now=datetime(2026, 6, 20, 9, 0))
    services.validate(actu, w.agent, now=datetime(2026, 6, 25, 11, 0))
    assert prev.acomptes[1].status == "annule" and prev.status == "payee"
    new = [a for a in actu.acomptes if a.status == "programme"]
    target = round(actu.droit * 0.70 - first, 2)
    assert round(sum(float(a.montant) for a in new), 2) == target
    assert all(date(2026, 6, 25) <= a.date_prevue <= date(2026, 12, 31) for a in new)
    assert db.session.query(Acompte).filter_by(equipement_id=w.creche.id, annee=2026, status="programme").count() == len(new)


def test_acomptes_are_never_dated_before_their_validation(afas_world):
    """A prévisionnel validated in January, an actualisé (droit up) validated in July: the part
    of the droit actualisé that should have been paid by then is paid on the validation day,
    never before, and over the year the Caf pays exactly 70 % of the last validated droit. A
    prévisionnel validated late (April) pays its 1 March share on its validation day."""
    from afas.models import Acompte
    from .helpers import eaje as eaje_data
    w = afas_world
    prev = services.create_declaration(w.creche, 2026, "previsionnel", w.manager)
    services.save_draft(prev, eaje_data(), {}, w.manager)
    services.transmit(prev, w.manager, now=datetime(2026, 1, 5, 9, 0))
    services.validate(prev, w.agent, now=datetime(2026, 1, 20, 14, 0))
    late = services.create_declaration(w.alsh, 2026, "previsionnel", w.manager)
    services.save_draft(late, alsh(), {}, w.manager)
    services.transmit(late, w.manager, now=datetime(2026, 1, 8, 9, 0))
    services.validate(late, w.agent, now=datetime(2026, 4, 15, 16, 0))
    services.pay_due_acomptes(on=date(2026, 4, 15))
    actu = services.create_declaration(w.creche, 2026, "actualise_juin", w.manager)
    data = eaje_data(heures_realisees=80000, heures_facturees=83000, participations_familiales=120000)
    evaluation = services.save_draft(actu, data, {}, w.manager)
    services.save_draft(actu, data, {c.code: "Hausse d'activité." for c in evaluation.alertes}, w.manager)
    services.transmit(actu, w.manager, now=datetime(2026, 6, 20, 9, 0))
    services.validate(actu, w.agent, now=datetime(2026, 7, 6, 15, 0))
    assert actu.droit > prev.droit
    services.pay_due_acomptes(on=date(2026, 7, 6))
    services.pay_due_acomptes(on=date(2026, 12, 31))

    def rows(eq):
        return db.session.scalars(select(Acompte).where(Acompte.equipement_id == eq.id, Acompte.annee == 2026)
                                  .order_by(Acompte.date_prevue, Acompte.id)).all()
    for a in rows(w.creche) + rows(w.alsh):
        assert a.date_prevue >= db.session.get(Declaration, a.declaration_id).validated_at.date()
    d, d2 = prev.droit, actu.droit

    def half(droit):   # 35 % of the droit: half of its 70 %, in cents
        return round(round(0.7 * droit, 2) / 2, 2)
    paid = [(a.date_prevue, float(a.montant)) for a in rows(w.creche) if a.status == "verse"]
    assert paid == [(date(2026, 3, 1), half(d)), (date(2026, 7, 6), round(half(d2) - half(d), 2)),
                    (date(2026, 10, 2), round(round(0.7 * d2, 2) - half(d2), 2))]
    assert services.paid_acomptes_total(w.creche.id, 2026) == round(0.70 * d2, 2)
    assert [(a.date_prevue, a.status) for a in rows(w.alsh)] == [(date(2026, 4, 15), "verse"), (date(2026, 10, 2), "verse")]
    assert services.paid_acomptes_total(w.alsh.id, 2026) == round(0.70 * late.droit, 2)
    assert actu.status == "payee" and late.status == "payee"


def test_exports_neutralise_formulas_and_control_characters(afas_world):
    from openpyxl import load_workbook
    from afas import exports
    w = afas_world
    decl = services.create_declaration(w.alsh, 2025, "reel", w.manager)
    services.save_draft(decl, alsh(p74=252000, total_produits=252000), {"EXCEDENT": '=HYPERLINK("http://x")\x01', "INCONNU": "ignoré"}, w.manager)
    services.transmit(decl, w.manager)
    assert decl.last_version.justifications == {"EXCEDENT": '=HYPERLINK("http://x")'}
    text = exports.to_csv([decl])
    assert "'=HYPERLINK" in text and "ignoré" not in text
    sheet = load_workbook(io.BytesIO(exports.to_xlsx([decl])), read_only=True).active
    values = [v for row in sheet.iter_rows(values_only=True) for v in row if isinstance(v, str)]
    assert "'=HYPERLINK(\"http://x\")" in values
