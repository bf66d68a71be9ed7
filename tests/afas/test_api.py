"""AFAS API: same validation and messages as the web form, problem+json, scope and organisation."""
import pytest

from afas.validation import parse_declaration

from .helpers import alsh


@pytest.fixture
def api(factory, api_client, afas_world):
    _, raw = factory.api_token(afas_world.org, afas_world.manager, scopes=("AFAS",))
    return api_client(raw)


def numbers(data):
    return {k: v for k, v in data.items()}


def test_list_equipements_and_campaigns(api, afas_world):
    response = api.get("/api/v1/afas/equipements")
    assert response.status_code == 200
    numeros = {e["numero"] for e in response.get_json()}
    assert numeros == {afas_world.creche.numero, afas_world.alsh.numero}
    camps = api.get("/api/v1/afas/campagnes?annee=2025").get_json()
    assert {"annee": 2025, "type": "reel", "ouverture": "2026-01-16", "echeance": "2026-03-31"} in camps
    assert api.get("/api/v1/afas/campagnes?annee=abc").status_code == 400


def test_same_field_errors_as_the_form(api, afas_world):
    bad = {**alsh(), "heures_realisees": "beaucoup", "capacite": -3, "inconnu": 1}
    response = api.post("/api/v1/afas/declarations", json={"equipement_id": afas_world.alsh.id, "annee": 2026,
                                                          "type": "previsionnel", "donnees": bad})
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    errors = response.get_json()["errors"]
    expected = parse_declaration("ALSH", {k: v for k, v in bad.items() if k != "inconnu"}).messages
    assert errors["heures_realisees"] == expected["heures_realisees"]
    assert errors["capacite"] == "La valeur ne peut pas être négative."
    assert "inconnu" in errors
    assert api.get("/api/v1/afas/equipements").status_code == 200


def test_draft_checks_transmit_and_status(api, afas_world):
    response = api.post("/api/v1/afas/declarations", json={"equipement_id": afas_world.alsh.id, "annee": 2026,
                                                          "type": "previsionnel", "donnees": {"capacite": 80}})
    assert response.status_code == 201
    did = response.get_json()["id"]
    assert response.get_json()["statut"] == "brouillon"
    # Incomplete: the checks say what is missing; transmission refused with the controls.
    checks = api.post(f"/api/v1/afas/declarations/{did}/controles").get_json()
    assert checks["transmissible"] is False and checks["controles"][0]["code"] == "VALEURS-MANQUANTES"
    refused = api.post(f"/api/v1/afas/declarations/{did}/transmission", json={})
    assert refused.status_code == 422 and refused.get_json()["controles"][0]["severite"] == "bloquant"
    # Complete with 20 % surplus -> EXCEDENT alert to justify.
    data = {**alsh(), "p74": "252000", "total_produits": "252000"}
    assert api.put(f"/api/v1/afas/declarations/{did}", json={"donnees": data}).status_code == 200
    checks = api.post(f"/api/v1/afas/declarations/{did}/controles").get_json()
    assert checks["justifications_manquantes"] == ["EXCEDENT"] and checks["droit"]["montant"] > 0
    refused = api.post(f"/api/v1/afas/declarations/{did}/transmission", json={})
    assert refused.status_code == 422 and "justification_EXCEDENT" in refused.get_json()["errors"]
    sent = api.post(f"/api/v1/afas/declarations/{did}/transmission",
                    json={"justifications": {"EXCEDENT": "Subvention exceptionnelle de la commune."}})
    assert sent.status_code == 201
    body = sent.get_json()
    assert len(body["empreinte"]) == 64 and body["droit"] == checks["droit"]["montant"]
    assert body["declaration"]["versions"][0]["via"] == "api"
    again = api.post(f"/api/v1/afas/declarations/{did}/transmission", json={})
    assert again.status_code == 409 and "déjà été transmise" in again.get_json()["detail"]
    assert api.put(f"/api/v1/afas/declarations/{did}", json={"donnees": {"capacite": 81}}).status_code == 409
    status = api.get(f"/api/v1/afas/declarations/{did}").get_json()
    assert status["statut"] == "transmise" and status["droit"] == body["droit"]


def test_duplicate_and_bad_requests(api, afas_world):
    payload = {"equipement_id": afas_world.alsh.id, "annee": 2026, "type": "reel"}
    assert api.post("/api/v1/afas/declarations", json=payload).status_code == 201
    assert api.post("/api/v1/afas/declarations", json=payload).status_code == 409
    assert api.post("/api/v1/afas/declarations", json={**payload, "type": "annuel"}).status_code == 422
    assert api.post("/api/v1/afas/declarations", data="pas du json",
                    headers={"Content-Type": "application/json"}).status_code == 400
    assert api.post("/api/v1/afas/declarations", json={**payload, "donnees": {"capacite": {"x": 1}}}).status_code == 422


def test_other_organisation_and_scope(factory, api_client, afas_world):
    _, raw = factory.api_token(afas_world.other_org, afas_world.other_manager, scopes=("AFAS",))
    other = api_client(raw)
    assert other.get(f"/api/v1/afas/declarations/{afas_world.prev.id}").status_code == 404
    assert other.post("/api/v1/afas/declarations", json={"equipement_id": afas_world.alsh.id, "annee": 2026,
                                                         "type": "reel"}).status_code == 404
    _, raw = factory.api_token(afas_world.org, afas_world.manager, scopes=("EDI",))
    assert api_client(raw).get("/api/v1/afas/equipements").status_code == 403


def test_openapi_documents_afas(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/afas/equipements", "/afas/campagnes", "/afas/declarations", "/afas/declarations/{id}",
                 "/afas/declarations/{id}/controles", "/afas/declarations/{id}/transmission"):
        assert path in paths
    assert "put" in paths["/afas/declarations/{id}"]


def test_a_transmission_by_api_says_so_in_the_timeline_and_the_audit(factory, api_client, afas_world, client, login):
    from sqlalchemy import select

    from portal.audit import AuditEntry
    from portal.extensions import db
    token, raw = factory.api_token(afas_world.org, afas_world.manager, scopes=("AFAS",))
    api = api_client(raw)
    did = api.post("/api/v1/afas/declarations", json={"equipement_id": afas_world.alsh.id, "annee": 2026,
                                                      "type": "previsionnel", "donnees": alsh()}).get_json()["id"]
    sent = api.post(f"/api/v1/afas/declarations/{did}/transmission",
                    json={"justifications": {"EXCEDENT": "Subvention exceptionnelle de la commune."}})
    assert sent.status_code == 201
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.target == f"declaration:{did}",
                                                        AuditEntry.action == "transmise")).one()
    assert entry.actor_user_id == afas_world.manager.id and entry.details["jeton_api"] == token.id
    login(afas_world.manager)
    page = client.get(f"/afas/declarations/{did}").get_data(as_text=True)
    timeline = page[page.index('data-testid="afas-timeline"'):]
    transmitted = timeline[timeline.index('data-action="transmise"'):].split("</li>")[0]
    assert f"par {afas_world.manager.full_name}, par l'API (jeton « jeton de test »)" in " ".join(transmitted.split())
    # A declaration transmitted otherwise than by the API says nothing of the kind.
    other = client.get(f"/afas/declarations/{afas_world.prev.id}").get_data(as_text=True)
    assert 'data-action="transmise"' in other and "par l'API" not in other


# --- issue #18: the bodies are what the OpenAPI document says (found by schemathesis) -------------

def _create(api, afas_world, **extra):
    return api.post("/api/v1/afas/declarations", json={"equipement_id": afas_world.alsh.id, "annee": 2026,
                                                       "type": "previsionnel", **extra})


@pytest.mark.parametrize("value", [{}, [], 1, None, True])
def test_a_type_that_is_no_text_is_a_field_error_not_a_500(api, afas_world, value):
    """`{"type": {}}` was a TypeError (unhashable dict) and a 500."""
    response = _create(api, afas_world, type=value)
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"type"}


def test_unknown_properties_are_refused_everywhere(api, afas_world):
    did = afas_world.prev.id
    for method, url, body in [
            ("post", "/api/v1/afas/declarations", {"equipement_id": afas_world.alsh.id, "annee": 2026,
                                                   "type": "previsionnel", "commentaire": "x"}),
            ("put", f"/api/v1/afas/declarations/{did}", {"donnees": {}, "statut": "validee"}),
            ("post", f"/api/v1/afas/declarations/{did}/controles", {"donnes": {"capacite": 1}}),
            ("post", f"/api/v1/afas/declarations/{did}/transmission", {"justification": {}})]:
        response = getattr(api, method)(url, json=body)
        assert response.status_code == 422 and response.mimetype == "application/problem+json", url
        unknown = set(body) - {"equipement_id", "annee", "type", "donnees"}
        assert set(response.get_json()["errors"]) == unknown, url
        assert "inconnue" in response.get_json()["detail"]


@pytest.mark.parametrize("field, value", [("donnees", None), ("donnees", False), ("donnees", [1]),
                                          ("justifications", None), ("justifications", "texte"),
                                          ("justifications", {"EXCEDENT": 12})])
def test_null_or_wrong_objects_are_refused_not_read_as_empty(api, afas_world, field, value):
    """`{"donnees": null}` was read as `{}` (and `{"donnees": false}` by the checks too)."""
    did = afas_world.prev.id
    calls = [lambda: _create(api, afas_world, **{field: value}),
             lambda: api.put(f"/api/v1/afas/declarations/{did}", json={field: value})]
    if field == "donnees":
        calls.append(lambda: api.post(f"/api/v1/afas/declarations/{did}/controles", json={field: value}))
    else:
        calls.append(lambda: api.post(f"/api/v1/afas/declarations/{did}/transmission", json={field: value}))
    for call in calls:
        response = call()
        assert response.status_code == 422, response.get_json()
        assert response.mimetype == "application/problem+json"


def test_the_checks_refuse_what_a_draft_would_refuse(api, afas_world):
    """Nested values and fields of another équipement were run through the checks silently."""
    did = afas_world.prev.id
    nested = api.post(f"/api/v1/afas/declarations/{did}/controles", json={"donnees": {"places_agreees": {"x": 1}}})
    assert nested.status_code == 422 and "places_agreees" in nested.get_json()["errors"]
    other = api.post(f"/api/v1/afas/declarations/{did}/controles", json={"donnees": {"capacite": "80"}})  # ALSH
    assert other.status_code == 422 and "capacite" in other.get_json()["errors"]
    ok = api.post(f"/api/v1/afas/declarations/{did}/controles", json={"donnees": {"places_agreees": "40"}})
    assert ok.status_code == 200


@pytest.mark.parametrize("annee", ["", "٢٠٢٥", "2_025", "1999", "2101"])
def test_campaign_year_is_an_ascii_integer_in_range(api, annee):
    """`int()` read Arabic-Indic digits and `2_025`; an empty `annee` fell back to three years."""
    assert api.get(f"/api/v1/afas/campagnes?annee={annee}").status_code == 400


def test_the_declaration_as_returned_is_the_declaration_as_documented(api, afas_world, client):
    """`statut_libelle` was returned but not documented, `echeance` documented as never null."""
    schema = client.get("/api/v1/openapi.json").get_json()["paths"]["/afas/declarations/{id}"]["get"]
    documented = schema["responses"]["200"]["content"]["application/json"]["schema"]
    body = api.get(f"/api/v1/afas/declarations/{afas_world.prev.id}").get_json()
    assert set(body) == set(documented["properties"]) == set(documented["required"])
    assert "null" in documented["properties"]["echeance"]["type"]
