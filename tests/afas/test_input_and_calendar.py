"""What a partner types is what is kept (yes/no answers, justifications never cut), the campaign
calendar (a transmission before the window opens is refused or flagged, a correction asked by
the Caf is not late), and the live estimate of the acomptes and régularisation."""
import re
import zlib
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from afas import services
from afas.droit import eur, regularisation, schedule_acomptes
from afas.models import Declaration
from afas.receipt import build_receipt
from afas.services import ActionRefused
from afas.validation import parse_boolean
from portal.dates import naive_utc
from portal.extensions import db

from .conftest import csrf
from .helpers import alsh, bareme, eaje

TOO_LONG = "x" * 2001


@pytest.fixture
def api(factory, api_client, afas_world):
    _, raw = factory.api_token(afas_world.org, afas_world.manager, scopes=("AFAS",))
    return api_client(raw)


def form(data, token, **extra):
    out = {k: ("on" if v is True else ("" if v is False else v)) for k, v in data.items()}
    out.update(extra, csrf_token=token)
    return out


def pdf_text(pdf: bytes) -> str:
    chunks = []
    for raw in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            chunks.append(zlib.decompress(raw))
        except zlib.error:
            chunks.append(raw)
    return b"".join(chunks).decode("latin-1")


def fresh(did: int) -> Declaration:
    """The declaration as stored (requests run in their own session)."""
    db.session.expire_all()
    return db.session.get(Declaration, did)


def new_draft(client, eq, annee, type_):
    token = csrf(client, f"/afas/equipements/{eq.id}")
    r = client.post(f"/afas/equipements/{eq.id}/declarations", data={"annee": annee, "type": type_, "csrf_token": token})
    return int(re.search(r"/afas/declarations/(\d+)", r.headers["Location"]).group(1))


# -- 1. one reading of yes/no answers ---------------------------------------------------------

def test_api_yes_is_stored_as_validated_and_changes_the_droit(api, afas_world):
    creche = afas_world.creche
    r = api.post("/api/v1/afas/declarations", json={"equipement_id": creche.id, "annee": 2026, "type": "previsionnel",
                                                    "donnees": {**eaje(), "couches_repas": "yes"}})
    assert r.status_code == 201
    did = r.get_json()["id"]
    assert r.get_json()["donnees"]["couches_repas"] is True
    with_couches = api.post(f"/api/v1/afas/declarations/{did}/controles").get_json()["droit"]["montant"]
    for word, stored in (("o", True), ("Yes", True), ("OUI", True), ("non", False), ("no", False), (False, False)):
        r = api.put(f"/api/v1/afas/declarations/{did}", json={"donnees": {"couches_repas": word}})
        assert r.status_code == 200 and r.get_json()["donnees"]["couches_repas"] is stored, word
    without = api.post(f"/api/v1/afas/declarations/{did}/controles").get_json()["droit"]["montant"]
    assert with_couches > without  # the plafond with couches et repas is the higher one
    for word in ("peut-être", "2", 1.5):
        r = api.put(f"/api/v1/afas/declarations/{did}", json={"donnees": {"couches_repas": word}})
        assert r.status_code == 422 and r.get_json()["errors"] == {"couches_repas": "Répondez par oui ou non."}
    assert fresh(did).data["couches_repas"] is False


def test_draft_save_reads_yes_no_like_the_validation(afas_world):
    w = afas_world
    decl = services.create_declaration(w.creche, 2026, "previsionnel", w.manager)
    for word in ("yes", "o", "Yes", "on", "1", True, "non", "", None, False):
        services.save_draft(decl, eaje(couches_repas=word) if word is not None else
                            {k: v for k, v in eaje().items() if k != "couches_repas"}, {}, w.manager)
        assert decl.data["couches_repas"] is parse_boolean(word), word
    ev = services.save_draft(decl, eaje(couches_repas="peut-être"), {}, w.manager)
    assert decl.data["couches_repas"] == "peut-être"  # kept as typed, never read as « non »
    assert ev.parsed.errors["couches_repas"].message == "Répondez par oui ou non."
    assert "SAISIE-INVALIDE" in {c.code for c in ev.bloquants}
    with pytest.raises(ActionRefused):
        services.transmit(decl, w.manager, now=datetime(2026, 1, 10))


def test_web_unrecognised_yes_no_is_a_form_error(client, login, afas_world):
    w = afas_world
    login(w.manager)
    did = new_draft(client, w.creche, 2026, "previsionnel")
    token = csrf(client, f"/afas/declarations/{did}")
    r = client.post(f"/afas/declarations/{did}", data=form(eaje(couches_repas="peut-être"), token, action="save"))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert re.search(r'id="f-couches_repas-error"[^>]*><p class="fr-error-text">Répondez par oui ou non\.', html)
    r = client.post(f"/afas/declarations/{did}", data=form(eaje(), token, action="save"))  # ticked box: "on"
    assert r.status_code == 302 and fresh(did).data["couches_repas"] is True
    page = client.get(f"/afas/declarations/{did}").get_data(as_text=True)
    assert re.search(r'id="f-couches_repas"[^>]*checked', page)


# -- 2. over-long justifications are refused, never cut --------------------------------------

def test_api_refuses_a_justification_over_2000_characters(api, afas_world):
    data = {**alsh(), "p74": "252000", "total_produits": "252000"}  # 20 % surplus -> EXCEDENT alert
    r = api.post("/api/v1/afas/declarations", json={"equipement_id": afas_world.alsh.id, "annee": 2026,
                                                    "type": "previsionnel", "donnees": data})
    did = r.get_json()["id"]
    r = api.post(f"/api/v1/afas/declarations/{did}/transmission", json={"justifications": {"EXCEDENT": TOO_LONG}})
    assert r.status_code == 422
    assert "2\u202f001 caractères" in r.get_json()["errors"]["justification_EXCEDENT"]
    decl = fresh(did)
    assert decl.status == "brouillon" and not decl.versions and "EXCEDENT" not in decl.justifications
    r = api.put(f"/api/v1/afas/declarations/{did}", json={"justifications": {"EXCEDENT": TOO_LONG}})
    assert r.status_code == 422 and "justification_EXCEDENT" in r.get_json()["errors"]
    r = api.post("/api/v1/afas/declarations", json={"equipement_id": afas_world.alsh.id, "annee": 2027,
                                                    "type": "previsionnel", "justifications": {"EXCEDENT": TOO_LONG}})
    assert r.status_code == 422 and services.find_declaration(afas_world.alsh.id, 2027, "previsionnel") is None
    exact = "y" * 2000
    r = api.put(f"/api/v1/afas/declarations/{did}", json={"justifications": {"EXCEDENT": exact}})
    assert r.status_code == 200 and fresh(did).justifications["EXCEDENT"] == exact


def test_web_refuses_a_justification_over_2000_characters(client, login, afas_world):
    w = afas_world
    login(w.manager)
    did = new_draft(client, w.alsh, 2026, "previsionnel")
    token = csrf(client, f"/afas/declarations/{did}")
    data = {**alsh(), "p74": "252000", "total_produits": "252000"}
    r = client.post(f"/afas/declarations/{did}", data=form(data, token, action="transmit", justification_EXCEDENT=TOO_LONG))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'id="justification-EXCEDENT-error"' in html and "Justification trop longue" in html
    decl = fresh(did)
    assert decl.status == "brouillon" and not decl.versions and decl.justifications == {}


# -- 3. transmission outside the campaign window ---------------------------------------------

def test_reel_of_an_exercice_not_over_is_refused(api, afas_world):
    w = afas_world
    decl = services.create_declaration(w.alsh, 2026, "reel", w.manager)
    services.save_draft(decl, alsh(), {}, w.manager)
    with pytest.raises(ActionRefused) as exc:
        services.transmit(decl, w.manager, now=datetime(2026, 12, 31, 22, 59))  # 23:59 in Paris
    assert "avant la fin de l'exercice 2026" in exc.value.message and "16/01/2027" in exc.value.message
    assert decl.status == "brouillon" and not decl.versions
    future = api.post("/api/v1/afas/declarations", json={"equipement_id": w.creche.id, "annee": 2028, "type": "reel",
                                                         "donnees": eaje()}).get_json()["id"]
    r = api.post(f"/api/v1/afas/declarations/{future}/transmission", json={})
    assert r.status_code == 409 and "exercice 2028" in r.get_json()["detail"]
    assert fresh(future).status == "brouillon"


def test_early_transmission_is_flagged_on_receipt_list_and_queue(client, login, afas_world):
    w = afas_world
    decl = services.create_declaration(w.alsh, 2026, "previsionnel", w.manager)  # opens 15/12/2025
    services.save_draft(decl, alsh(), {"EXCEDENT": "ok"}, w.manager)
    version = services.transmit(decl, w.manager, now=datetime(2025, 11, 2, 9, 0))
    assert version.anticipee and decl.anticipee and not version.late
    assert version.compute_hash() == version.content_hash
    text = pdf_text(build_receipt(decl, version))
    assert "AVANT l'ouverture" in text and "dans les d" not in text
    on_time = services.create_declaration(w.creche, 2026, "previsionnel", w.manager)
    services.save_draft(on_time, eaje(), {}, w.manager)
    assert not services.transmit(on_time, w.manager, now=datetime(2026, 1, 5)).anticipee
    assert "dans les d" in pdf_text(build_receipt(on_time, on_time.last_version))
    expected = {(e.equipement.id, e.campagne.annee, e.campagne.type_declaration): e
                for e in services.expected_declarations(w.org.id, on=date(2025, 12, 1))}
    assert expected[(w.alsh.id, 2026, "previsionnel")].declaration.anticipee
    db.session.commit()
    login(w.agent)
    queue = client.get("/afas/instruction").get_data(as_text=True)
    row = re.search(rf'data-id="{decl.id}".*?</tr>', queue, re.S).group(0)
    assert 'data-testid="afas-early"' in row
    api_view = services.find_declaration(w.alsh.id, 2026, "previsionnel")
    from afas.api import represent
    assert represent(api_view)["avant_ouverture"] is True and represent(api_view)["versions"][0]["avant_ouverture"]


def test_the_deadline_is_a_paris_calendar_day(client, login, afas_world):
    """Transmitted at 23:30 Paris on the deadline day: on time; at 00:30 Paris the day after
    (still the deadline day in UTC): late — on the record, the receipt and the pages."""
    w = afas_world
    camp = services.ensure_campagne(2026, "previsionnel")
    due = camp.echeance
    paris = ZoneInfo("Europe/Paris")
    evening = naive_utc(datetime(due.year, due.month, due.day, 23, 30, tzinfo=paris))
    after_midnight = naive_utc(datetime(due.year, due.month, due.day, 0, 30, tzinfo=paris) + timedelta(days=1))
    assert after_midnight.date() == due  # the UTC day is still the deadline day
    on_time = services.create_declaration(w.creche, 2026, "previsionnel", w.manager)
    services.save_draft(on_time, eaje(), {}, w.manager)
    late = services.create_declaration(w.alsh, 2026, "previsionnel", w.manager)
    services.save_draft(late, alsh(), {"EXCEDENT": "ok"}, w.manager)
    v1 = services.transmit(on_time, w.manager, now=evening)
    v2 = services.transmit(late, w.manager, now=after_midnight)
    assert not v1.late and not on_time.late
    assert v2.late and late.late
    assert f"{due:%d/%m/%Y} à 23 h 30" in pdf_text(build_receipt(on_time, v1))
    tomorrow = due + timedelta(days=1)
    text = pdf_text(build_receipt(late, v2))
    assert f"{tomorrow:%d/%m/%Y} à 00 h 30" in text and "heure de Paris" in text
    from afas.exports import to_csv
    export = to_csv([on_time, late])
    assert "Transmise le (heure de Paris)" in export
    assert f"{due.isoformat()}T23:30:00+0" in export and f"{tomorrow.isoformat()}T00:30:00+0" in export
    db.session.commit()
    login(w.manager)
    page = client.get(f"/afas/declarations/{late.id}").get_data(as_text=True)
    assert f"{tomorrow:%d/%m/%Y} à 00 h 30" in page and "en retard" in page
    page = client.get(f"/afas/declarations/{on_time.id}").get_data(as_text=True)
    assert f"{due:%d/%m/%Y} à 23 h 30" in page and "en retard" not in page


# -- 4. a correction the Caf asked for is not a late transmission -----------------------------

def test_correction_after_the_deadline_is_not_late(client, login, afas_world):
    w = afas_world
    decl = services.create_declaration(w.alsh, 2025, "previsionnel", w.manager)   # deadline 13/02/2025
    services.save_draft(decl, alsh(), {"EXCEDENT": "ok"}, w.manager)
    v1 = services.transmit(decl, w.manager, now=datetime(2025, 2, 1, 10, 0))
    services.request_correction(decl, w.agent, "Merci de corriger la capacité.")
    mine = [e for e in services.expected_declarations(w.org.id, on=date(2025, 3, 2)) if e.declaration is decl]
    assert mine and not mine[0].late
    db.session.commit()
    login(w.manager)
    page = client.get(f"/afas/declarations/{decl.id}").get_data(as_text=True)
    assert 'data-testid="afas-late"' not in page and "sera signalée en retard" not in page
    services.save_draft(decl, alsh(capacite="81"), {"EXCEDENT": "ok"}, w.manager)
    v2 = services.transmit(decl, w.manager, now=datetime(2025, 3, 1, 10, 0))
    assert not v1.late and not v2.late and not decl.late
    text = pdf_text(build_receipt(decl, v2))
    assert "APR" not in text and "demande de la Caf" in text
    late_filter = db.session.scalars(services.queue_query({"retard": True})).all()
    assert decl not in late_filter and decl in db.session.scalars(services.queue_query({})).all()
    # A first transmission that was late stays late, once, whatever the corrections.
    late = services.create_declaration(w.creche, 2024, "reel", w.manager)
    services.save_draft(late, eaje(), {"TAUX-FACTURATION-107": "ok"}, w.manager)
    assert services.transmit(late, w.manager, now=datetime(2025, 4, 2)).late
    services.request_correction(late, w.agent, "Précisez les heures.")
    assert services.transmit(late, w.manager, now=datetime(2025, 4, 10)).late and late.late


# -- 5. the live estimate shows the acomptes and the régularisation --------------------------

def test_live_estimate_shows_acomptes_and_regularisation(client, login, afas_world, monkeypatch):
    w = afas_world
    monkeypatch.setattr(services, "today", lambda: date(2026, 1, 15))   # before the 1 March instalment
    login(w.manager)
    did = new_draft(client, w.alsh, 2026, "previsionnel")
    token = csrf(client, f"/afas/declarations/{did}")
    hx = {"HX-Request": "true", "X-CSRFToken": token}
    html = client.post(f"/afas/declarations/{did}/apercu", data=form(alsh(), token), headers=hx).get_data(as_text=True)
    droit = services.evaluate_declaration(fresh(did), alsh()).droit.montant
    plan = schedule_acomptes(droit, 2026, bareme(2026), on=date(2026, 1, 15))
    assert f'data-total="{sum(e.montant for e in plan):.2f}"' in html
    assert "Acompte 1 le 01/03/2026" in html and "Acompte 2 le 02/10/2026" in html
    # Typed in July: the 1 March share is paid when the Caf validates, not on a past date.
    monkeypatch.setattr(services, "today", lambda: date(2026, 7, 10))
    html = client.post(f"/afas/declarations/{did}/apercu", data=form(alsh(), token), headers=hx).get_data(as_text=True)
    assert f'data-total="{sum(e.montant for e in plan):.2f}"' in html and "01/03/2026" not in html
    assert f"Acompte 1 à la validation : {eur(plan[0].montant)}" in html and "Acompte 2 le 02/10/2026" in html
    reel = new_draft(client, w.creche, 2025, "reel")  # the prévisionnel's two acomptes were paid
    data = eaje(heures_realisees="70000")
    html = client.post(f"/afas/declarations/{reel}/apercu", data=form(data, token), headers=hx).get_data(as_text=True)
    droit = services.evaluate_declaration(fresh(reel), data).droit.montant
    expected = regularisation(droit, services.paid_acomptes_total(w.creche.id, 2025))
    assert f'data-solde="{expected["solde"]:.2f}"' in html and "Régularisation estimée" in html
    page = client.get(f"/afas/declarations/{reel}").get_data(as_text=True)
    assert 'data-testid="afas-live-paiements"' in page
    assert db.session.scalars(select(Declaration).where(Declaration.id == reel)).one().status == "brouillon"
