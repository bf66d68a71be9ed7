"""One JSON-body parser for every API (issue #18): whatever the endpoint, a body that is not
JSON, comes with another content type, nests too deep, is not an object or carries a number no
column can hold answers 400 problem+json with a French detail — never a 500, never `{}`.

"Every JSON endpoint" is every operation whose OpenAPI requestBody is application/json, so an
endpoint added later is covered too.
"""
from __future__ import annotations

import json
import re

import pytest

from portal.access import ATTR
from portal.extensions import db

HOSTILE = {
    "crochets": ("[" * 50_000, "application/json"),
    "objets": ('{"a":' * 15_000, "application/json"),
    "melange": ('[{"a":' * 10_000, "application/json"),
    "pas_du_json": ("pas du json", "application/json"),
    "json_tronque": ('{"donnees": {', "application/json"),
    "mauvais_type": ('{"nom": "Lefèvre"}', "text/plain"),
    "formulaire": ("nom=Lef%C3%A8vre", "application/x-www-form-urlencoded"),
    "tableau": ("[1, 2]", "application/json"),
    "texte": ('"bonjour"', "application/json"),
    "nombre": ("5", "application/json"),
    "null": ("null", "application/json"),
    "entier_geant": ('{"equipement_id": -2465535347645207805952}', "application/json"),
    "entier_10e30": ('{"annee": 1000000000000000000000000000000}', "application/json"),
    "entier_4300_chiffres": ('{"a": ' + "9" * 5000 + "}", "application/json"),
    "flottant_infini": ('{"donnees": {"capacite": 1e400}}', "application/json"),
    "nan": ('{"donnees": {"capacite": NaN}}', "application/json"),
    "infinity": ('{"justifications": {"X": -Infinity}}', "application/json"),
    "utf8_invalide": (b'{"nom": "\xff\xfe"}', "application/json"),
}


@pytest.fixture
def world(factory, client):
    """A partner with AFAS and CDAP contracts, one declaration, and a token with both scopes."""
    from afas import services
    from afas.models import Equipement
    org = factory.organisation("bailleur", services={"AFAS": [], "CDAP": ["bailleur"]})
    manager = factory.user(org, role="partner_manager", habilitations={"AFAS": None})
    eq = Equipement(organisation_id=org.id, type="RPE", nom="Relais", numero=f"RPE-J{org.id}")
    db.session.add(eq)
    db.session.flush()
    from tests.afas.conftest import sign_convention
    sign_convention(eq)   # the AFAS service of an équipement needs a signed convention in force
    decl = services.create_declaration(eq, services.today().year, "previsionnel", manager)
    db.session.flush()
    _token, raw = factory.api_token(org, manager, scopes=("AFAS", "CDAP"), profil="bailleur")
    return {"eq": eq, "decl": decl, "headers": {"Authorization": f"Bearer {raw}"}}


def json_endpoints(app):
    """(path, method) of every API operation documented with an application/json body."""
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if getattr(view, ATTR, None) is None or getattr(view, ATTR).kind != "api":
            continue
        for _path, method, spec in getattr(view, "_openapi", []):
            spec = spec(app) if callable(spec) else spec
            if "application/json" in spec.get("requestBody", {}).get("content", {}):
                yield rule, method.upper()


def _url(rule, world) -> str:
    return re.sub(r"<int:\w+>", str(world["decl"].id), rule.rule)


def test_there_are_json_endpoints_in_every_service_that_has_them(app):
    paths = {rule.rule for rule, _m in json_endpoints(app)}
    assert "/api/v1/afas/declarations" in paths and "/api/v1/cdap/consultations" in paths
    assert len(paths) >= 5


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_every_json_endpoint_answers_400_problem_json_to_a_hostile_body(app, client, world, case):
    body, content_type = HOSTILE[case]
    failures = []
    for rule, method in json_endpoints(app):
        url = _url(rule, world)
        response = client.open(url, method=method, data=body, content_type=content_type,
                               headers=world["headers"])
        problem = response.get_json(force=True, silent=True) or {}
        if (response.status_code != 400 or response.mimetype != "application/problem+json"
                or problem.get("status") != 400 or not problem.get("detail")):
            failures.append(f"{method} {url} -> {response.status_code} {response.mimetype} "
                            f"{response.get_data(as_text=True)[:200]}")
    assert failures == [], "\n".join(failures)


def test_the_400_says_what_is_wrong_in_french(client, world):
    def detail(body, content_type="application/json"):
        response = client.post("/api/v1/cdap/consultations", data=body, content_type=content_type,
                               headers=world["headers"])
        assert response.status_code == 400
        return response.get_json(force=True)["detail"]

    assert "imbriqué" in detail("[" * 50_000)
    assert "JSON valide" in detail("pas du json")
    assert "application/json" in detail('{"nom": "x"}', "text/plain")
    assert "objet JSON" in detail("[1, 2]")
    assert "nombre" in detail('{"annee": 1000000000000000000000000000000}').lower()
    assert "nombre" in detail('{"x": NaN}').lower()


def test_an_empty_body_is_refused_where_the_body_is_required(client, world):
    for url in ("/api/v1/afas/declarations", "/api/v1/cdap/consultations"):
        response = client.post(url, headers=world["headers"])
        assert response.status_code == 400 and response.mimetype == "application/problem+json", url
    # …and is no body at all where it is optional (checks, transmission).
    did = world["decl"].id
    assert client.post(f"/api/v1/afas/declarations/{did}/controles", headers=world["headers"]).status_code == 200


def test_too_large_a_body_is_413(client, world):
    big = json.dumps({"commentaire": "x" * 200_000})
    for url in ("/api/v1/afas/declarations", "/api/v1/cdap/consultations"):
        response = client.post(url, data=big, content_type="application/json", headers=world["headers"])
        assert response.status_code == 413 and response.mimetype == "application/problem+json", url


def test_reasonable_bodies_still_work(client, world):
    nested = {"equipement_id": world["eq"].id, "annee": 2026, "type": "previsionnel",
              "donnees": {"etp_animateur": {"a": [[[1]]]}}}
    response = client.post("/api/v1/afas/declarations", json=nested, headers=world["headers"])
    assert response.status_code == 422  # the field's own message, as before
    assert response.get_json()["errors"]["etp_animateur"] == "Saisissez un nombre."
    response = client.post("/api/v1/afas/declarations", data=json.dumps({"equipement_id": world["eq"].id}),
                           content_type="application/merge-patch+json", headers=world["headers"])
    assert response.status_code == 422  # a +json type is JSON
    assert client.post("/api/v1/afas/declarations", json={"equipement_id": 2**63 - 1, "annee": 2026,
                                                          "type": "reel"},
                       headers=world["headers"]).status_code == 404


@pytest.mark.parametrize("equipement_id", [2**31, 2**63 - 1, -1])
def test_an_equipement_id_no_column_can_hold_is_not_found(client, world, equipement_id):
    """Within the 64 bits every JSON integer may use, an id beyond the id columns (32 bits on
    PostgreSQL) is an unknown équipement, not a database error."""
    response = client.post("/api/v1/afas/declarations", headers=world["headers"],
                           json={"equipement_id": equipement_id, "annee": 2026, "type": "reel"})
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


@pytest.mark.parametrize("equipement_id", [True, 1.0, "1", None])
def test_an_equipement_id_that_is_no_integer_is_a_field_error(client, world, equipement_id):
    """The document says `integer`: anything else is a 422 naming the field (it was a 404)."""
    response = client.post("/api/v1/afas/declarations", headers=world["headers"],
                           json={"equipement_id": equipement_id, "annee": 2026, "type": "reel"})
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert set(response.get_json()["errors"]) == {"equipement_id"}


@pytest.mark.parametrize("body", ["[" * 50_000, '{"a":' * 50_000, "5", "[1, 2]", '"x"',
                                  '{"email": "a@b.fr", "password": "x"}'])
def test_a_json_body_on_a_web_page_is_415(client, factory, body):
    """The pages take forms, never JSON (Flask-WTF would read it: a number was a TypeError, deep
    nesting a RecursionError), even with a valid CSRF token."""
    token = factory.csrf_token(client, "/connexion")
    response = client.post("/connexion", data=body, content_type="application/json",
                           headers={"X-CSRFToken": token})
    assert response.status_code == 415
    assert "formulaire" in response.get_data(as_text=True)


def test_the_openapi_document_describes_the_400_of_json_endpoints(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    for rule, method in json_endpoints(app):
        path = re.sub(r"<int:(\w+)>", lambda m: "{" + ("id" if m.group(1) == "did" else m.group(1)) + "}",
                      rule.rule[len("/api/v1"):])
        operation = doc["paths"][path][method.lower()]
        assert "application/problem+json" in operation["responses"]["400"]["content"], (path, method)
