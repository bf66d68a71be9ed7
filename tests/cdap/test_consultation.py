"""Consultation of the showcase file by each profile, through the page and the API: every field
outside the profile (policy table) is absent from both; scope; bad input; write methods."""
import html as html_lib
import json
import re

import pytest
from sqlalchemy import select

from cdap.journal import reference
from cdap.models import ConsultationJournal
from cdap.policy import ALL_FIELDS, FIELDS, POLICY, SECTIONS, allowed_fields
from portal.extensions import db

from .conftest import consult

MOTIF = {"quotient_familial": "tarification", "bailleur": "gestion_locative",
         "travailleur_social": "accompagnement_social", "prevention_expulsions": "prevention_expulsions",
         "responsable_equipe": "accompagnement_social", "agent_caf": "gestion_dossier"}
PROFILES = list(POLICY)

# Distinctive values of the showcase, per field, that must not leak to profiles without the field.
SENSITIVE = {
    "identite.date_naissance": ["02/11/1986", "1986-11-02"],
    "adresse.adresse": ["Jules Barni"],
    "foyer.conjoint_prenom": ["Julien"],
    "foyer.conjoint_date_naissance": ["09/03/1984", "1984-03-09"],
    "logement.code_bailleur": ["BL080001"],
}


def _html_fields(html: str) -> set[str]:
    return set(re.findall(r'data-field="([a-z_]+\.[a-z_]+)"', html))


def _json_fields(dossier: dict) -> set[str]:
    out = set()
    for section in SECTIONS:
        if section not in dossier:
            continue
        value = dossier[section]
        if section == "foyer":
            rows = ([value["conjoint"]] if "conjoint" in value else []) + value["enfants"]
        else:
            rows = value if isinstance(value, list) else [value]
        for row in rows:
            out.update(f"{section}.{key}" for key in row)
    return out


@pytest.mark.parametrize("profile", PROFILES)
def test_each_profile_sees_exactly_its_fields(profile, world, login, client, api_client, factory):
    user = world.users[profile]
    login(user)
    response = consult(client, "8000001", "LEFEVRE", MOTIF[profile])
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    allowed = allowed_fields(profile)
    forbidden = set(ALL_FIELDS) - allowed
    shown = _html_fields(html)
    assert shown <= allowed
    for field in forbidden:
        assert f'data-field="{field}"' not in html, field
    for section in SECTIONS:
        assert (f'id="section-{section}"' in html) == (section in POLICY[profile].sections), section
    # The showcase has data in every section, so every allowed section field family shows up.
    assert {f.split(".")[0] for f in shown} == set(POLICY[profile].sections)

    _token, raw = factory.api_token(world.orgs[profile], user, scopes=("CDAP",), profil=profile)
    api = api_client(raw)
    r = api.post("/api/v1/cdap/consultations", json={
        "numero_allocataire": "8000001", "nom": "lefèvre", "motif": MOTIF[profile]})
    assert r.status_code == 200, r.get_json()
    dossier = r.get_json()["dossier"]
    assert set(dossier) - {"profil", "sections"} == set(POLICY[profile].sections)
    assert _json_fields(dossier) <= allowed
    body = json.dumps(r.get_json(), ensure_ascii=False)
    for field, values in SENSITIVE.items():
        if field not in allowed:
            for value in values:
                assert value not in html, (field, value)
                assert value not in body, (field, value)
    if "droits.prestation" in allowed and POLICY[profile].sections["droits"].rows == "aides_logement":
        assert "Allocations familiales" not in html and '"AF"' not in body
    if "quotient_familial.qf" not in allowed:
        assert "data-qf" not in html and "chart.umd" not in html


def test_bailleur_sees_only_its_payments(world, login, client):
    login(world.users["bailleur"])
    html = consult(client, "8000001", "Lefèvre", "gestion_locative").get_data(as_text=True)
    assert ">versé au bailleur (tiers payant)</span>" in html
    assert "versé à l&#39;allocataire" not in html


def test_the_dossier_speaks_french(world, login, client):
    """« versé à l'allocataire » (not « versé à Allocataire »), the ARS per year, the QF chart's
    months « décembre 2025 » (not « 2025-12 »)."""
    login(world.users["agent_caf"])
    html = consult(client, "8000001", "Lefèvre", "gestion_dossier").get_data(as_text=True)
    assert ">versé à l&#39;allocataire</span>" in html and "versé à <span" not in html
    points = json.loads(html_lib.unescape(re.search(r'data-qf="([^"]*)"', html).group(1)))
    assert points and all(re.fullmatch(r"[a-zéû]+ \d{4}", p["libelle"]) for p in points)
    for droit in re.findall(r'data-field="droits.prestation">[^<]*\((\w+)\)</strong>.*?data-field="droits.montant">([^<]*)<',
                            html, re.S):
        assert droit[1].endswith("par an" if droit[0] == "ARS" else "par mois"), droit


def test_name_match_is_exact_but_case_and_accent_insensitive(world, login, client):
    login(world.users["agent_caf"])
    assert consult(client, "8000001", "  lefevre ", "gestion_dossier").status_code == 200
    assert consult(client, "8000001", "LEFÈVRE", "gestion_dossier").status_code == 200
    assert consult(client, "8000001", "Lefe", "gestion_dossier").status_code == 404
    assert consult(client, "8000001", "Lefèvres", "gestion_dossier").status_code == 404
    assert consult(client, "8000002", "Lefèvre", "gestion_dossier").status_code == 404


def _not_found_block(html: str) -> str:
    start = html.index('data-testid="cdap-not-found"')
    return html[start:html.index("</div>", start)]


@pytest.mark.parametrize("who", ["other_bailleur", "ts02"])
def test_out_of_scope_answers_exactly_like_not_found(who, world, login, client, api_client, factory):
    user = world.other_bailleur_user if who == "other_bailleur" else world.ts02
    motif = "gestion_locative" if who == "other_bailleur" else "accompagnement_social"
    login(user)
    out = consult(client, "8000001", "Lefèvre", motif)
    missing = consult(client, "7999999", "Lefèvre", motif)
    assert out.status_code == missing.status_code == 404
    assert _not_found_block(out.get_data(as_text=True)) == _not_found_block(missing.get_data(as_text=True))
    assert "Amandine" not in out.get_data(as_text=True)
    profile = user.habilitation("CDAP").profil
    _t, raw = factory.api_token(user.organisation, user, scopes=("CDAP",), profil=profile)
    api = api_client(raw)
    a = api.post("/api/v1/cdap/consultations", json={"numero_allocataire": "8000001", "nom": "Lefèvre", "motif": motif})
    b = api.post("/api/v1/cdap/consultations", json={"numero_allocataire": "7999999", "nom": "Lefèvre", "motif": motif})
    assert a.status_code == b.status_code == 404
    assert a.get_json() == b.get_json()
    outcomes = db.session.scalars(select(ConsultationJournal.outcome).where(
        ConsultationJournal.organisation_id == user.organisation_id).order_by(ConsultationJournal.seq)).all()
    assert outcomes == ["out_of_scope", "not_found", "out_of_scope", "not_found"]


def test_territorial_profile_sees_its_territory(world, login, client):
    login(world.ts02)
    aisne = world.aisne
    assert consult(client, aisne["numero"], aisne["nom"], "accompagnement_social").status_code == 200


def test_bailleur_loses_access_after_tenant_left(world, login, client):
    from datetime import date
    from cdap.models import Logement
    lg = db.session.scalar(select(Logement).where(Logement.code_locataire == "LOC000123"))
    lg.date_sortie = date(2020, 1, 1)
    db.session.flush()
    login(world.users["bailleur"])
    assert consult(client, "8000001", "Lefèvre", "gestion_locative").status_code == 404


@pytest.mark.parametrize("data,field,outcome", [
    ({"numero": "80000", "nom": "Lefèvre", "motif": "accompagnement_social"}, "numero", "invalid_input"),
    ({"numero": "8000001", "nom": "  ", "motif": "accompagnement_social"}, "nom", "invalid_input"),
    ({"numero": "8000001", "nom": "Lefèvre", "motif": "curiosite"}, "motif", "invalid_input"),
    ({"numero": "8000001", "nom": "Lefèvre", "motif": "tarification"}, "motif", "invalid_input"),  # not for TS
    ({"numero": "8000001", "nom": "Lefèvre", "motif": ""}, "motif", "refused_motif"),
])
def test_bad_input_is_refused_clearly_and_journaled(data, field, outcome, world, login, client):
    login(world.users["travailleur_social"])
    response = consult(client, data["numero"], data["nom"], data["motif"])
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="{field}-error"' in html
    assert 'data-testid="cdap-dossier"' not in html and "Jules Barni" not in html
    row = db.session.scalars(select(ConsultationJournal).order_by(ConsultationJournal.seq.desc())).first()
    assert row.outcome == outcome and row.categories == []


def test_api_bad_input_and_missing_motif(world, api_client, factory):
    user = world.users["travailleur_social"]
    _t, raw = factory.api_token(world.cd80, user, scopes=("CDAP",), profil="travailleur_social")
    api = api_client(raw)
    r = api.post("/api/v1/cdap/consultations", json={"numero_allocataire": "12", "nom": "", "motif": "x"})
    assert r.status_code == 422 and set(r.get_json()["errors"]) == {"numero_allocataire", "nom", "motif"}
    r = api.post("/api/v1/cdap/consultations", json={"numero_allocataire": "8000001", "nom": "Lefèvre"})
    assert r.status_code == 422 and r.get_json()["title"] == "Motif obligatoire"
    assert "dossier" not in r.get_json()
    outcomes = db.session.scalars(select(ConsultationJournal.outcome).order_by(ConsultationJournal.seq)).all()
    assert outcomes[-2:] == ["invalid_input", "refused_motif"]
    # A body that is not a JSON object is refused like on every API (400, issue #18), before
    # any lookup: it names no dossier, so it is no consultation attempt to journal.
    r = api.post("/api/v1/cdap/consultations", data="not json", content_type="application/json")
    assert r.status_code == 400 and r.mimetype == "application/problem+json"
    assert "dossier" not in r.get_json()
    after = db.session.scalars(select(ConsultationJournal.outcome).order_by(ConsultationJournal.seq)).all()
    assert after == outcomes


@pytest.mark.parametrize("body, field", [
    ({"commentaire": None}, "commentaire"),          # was read as "" and the dossier shown
    ({"numero_allocataire": 8000001}, "numero_allocataire"),
    ({"nom": ["Lefèvre"]}, "nom"),
    ({"motif": None}, "motif"),
    ({"profil": "agent_caf"}, "profil"),             # unknown property: was ignored
])
def test_api_body_other_than_documented_is_refused_before_any_lookup(world, api_client, factory, body, field):
    """Issue #18 (schemathesis): a value that is not a text, or a property the document does not
    list (`additionalProperties: false`), is a 422 naming it; nothing is looked up or journaled."""
    user = world.users["travailleur_social"]
    _t, raw = factory.api_token(world.cd80, user, scopes=("CDAP",), profil="travailleur_social")
    r = api_client(raw).post("/api/v1/cdap/consultations", json={
        "numero_allocataire": "8000001", "nom": "Lefèvre", "motif": "accompagnement_social", **body})
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    assert set(r.get_json()["errors"]) == {field} and "dossier" not in r.get_json()
    assert db.session.scalar(select(ConsultationJournal.id)) is None

def test_api_token_without_profile_or_scope_is_refused(world, api_client, factory):
    user = world.users["travailleur_social"]
    _t, raw = factory.api_token(world.cd80, user, scopes=("CDAP",), profil=None)
    r = api_client(raw).post("/api/v1/cdap/consultations", json={"numero_allocataire": "8000001", "nom": "Lefèvre", "motif": "accompagnement_social"})
    assert r.status_code == 403
    _t, raw = factory.api_token(world.cd80, user, scopes=("CDAP",), profil="agent_caf")  # not in contract
    r = api_client(raw).post("/api/v1/cdap/consultations", json={"numero_allocataire": "8000001", "nom": "Lefèvre", "motif": "gestion_dossier"})
    assert r.status_code == 403
    _t, raw = factory.api_token(world.cd80, user, scopes=("EDI",), profil="travailleur_social")
    r = api_client(raw).post("/api/v1/cdap/consultations", json={"numero_allocataire": "8000001", "nom": "Lefèvre", "motif": "accompagnement_social"})
    assert r.status_code == 403
    assert db.session.scalar(select(ConsultationJournal.id)) is None


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_write_methods_other_than_the_consultation_post_are_refused(method, world, login, client, api_client, factory):
    login(world.users["travailleur_social"])
    for path in ("/cdap/consultation", "/cdap/consultation/impression", "/cdap/journal", "/cdap/impayes"):
        assert getattr(client, method)(path).status_code == 405, path
    _t, raw = factory.api_token(world.cd80, world.users["travailleur_social"], scopes=("CDAP",),
                                profil="travailleur_social")
    api = api_client(raw)
    assert getattr(api, method)("/api/v1/cdap/consultations").status_code == 405
    assert api.get("/api/v1/cdap/consultations").status_code == 405
    assert client.post("/cdap/journal").status_code == 405


def test_print_view_is_journaled(world, login, client):
    login(world.users["prevention_expulsions"])
    r = consult(client, "8000001", "Lefèvre", "prevention_expulsions", path="/cdap/consultation/impression")
    assert r.status_code == 200 and 'data-testid="cdap-impression"' in r.get_data(as_text=True)
    row = db.session.scalars(select(ConsultationJournal).order_by(ConsultationJournal.seq.desc())).first()
    assert row.channel == "impression" and row.outcome == "found"
    assert row.categories == ["identite", "droits", "paiements", "logement", "impayes"]


def test_qf_chart_uses_static_script_and_table_alternative(world, login, client):
    login(world.users["quotient_familial"])
    html = consult(client, "8000001", "Lefèvre", "tarification").get_data(as_text=True)
    assert "/static/vendor/chart.umd.min.js" in html and "/cdap/static/cdap.js" in html
    assert 'data-testid="qf-table"' in html
    assert "<script>" not in html and "style=" not in html
    assert len(re.findall(r'data-field="quotient_familial.qf"', html)) == 12


def test_user_without_cdap_habilitation_is_refused(world, login, client):
    login(world.no_cdap)
    assert client.get("/cdap/consultation").status_code == 403


def test_journal_reference_is_an_hmac_not_a_name(world, login, client, app):
    login(world.users["agent_caf"])
    consult(client, "8000001", "Lefèvre", "gestion_dossier", commentaire="appel de l'allocataire")
    row = db.session.scalars(select(ConsultationJournal)).first()
    assert row.reference == reference("8000001", app.config["SECRET_KEY"])
    payload = json.dumps(row.chain_payload(), ensure_ascii=False, default=str)
    for value in ("8000001", "Lefèvre", "LEFEVRE", "Amandine"):
        assert value not in payload
    assert row.request_id and row.motif == "gestion_dossier" and row.user_id == world.users["agent_caf"].id
    assert row.organisation_id == world.caf.id and row.profile == "agent_caf"
    assert row.categories == list(SECTIONS)


def test_policy_table_is_consistent():
    for p in POLICY.values():
        for section, rule in p.sections.items():
            assert set(rule.fields) <= set(FIELDS[section])
    assert allowed_fields("agent_caf") == set(ALL_FIELDS)
    assert "adresse.adresse" not in allowed_fields("prevention_expulsions")
