"""API plumbing: Bearer tokens (valid, expired, revoked, wrong scope), problem+json errors,
the OpenAPI document and token introspection (/api/v1/moi)."""
import json
from datetime import timedelta

import pytest
from flask import jsonify

from portal.access import api_scope
from portal.extensions import db
from portal.models import utcnow


@pytest.fixture
def org(factory):
    return factory.organisation("bailleur", services={"EDI": [], "CDAP": ["bailleur"]})


@pytest.fixture
def creator(factory, org):
    return factory.user(org, role="partner_admin")


@pytest.fixture
def cdap_only(app, monkeypatch):
    """/api/v1/moi temporarily declared as a CDAP-scoped endpoint."""
    @api_scope("CDAP")
    def _cdap_probe():
        return jsonify(ok=True)
    monkeypatch.setitem(app.view_functions, "api.whoami", _cdap_probe)


def assert_problem(response, status):
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert body["status"] == status and body["title"]
    return body


def test_valid_token_introspection(factory, org, creator, api_client):
    token, raw = factory.api_token(org, creator, scopes=["EDI", "CDAP"], profil="bailleur", days=10)
    response = api_client(raw).get("/api/v1/moi")
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_json()
    assert body["organisation"] == {"id": org.id, "nom": org.nom, "siret": org.siret,
                                    "code_bailleur": org.code_bailleur}
    assert body["jeton"]["portees"] == ["EDI", "CDAP"] and body["jeton"]["profil_cdap"] == "bailleur"
    assert body["jeton"]["prefixe"] == token.prefix and raw not in json.dumps(body)
    db.session.refresh(token)
    assert token.last_used_at is not None


@pytest.mark.parametrize("header", [None, "Basic dXNlcjpwYXNz", "Bearer", "Bearer " + "x" * 300,
                                    "Bearer ep_inconnu"])
def test_missing_malformed_or_unknown_token_is_401(client, header):
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/v1/moi", headers=headers)
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_expired_token_is_401(factory, org, creator, api_client):
    token, raw = factory.api_token(org, creator)
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.flush()
    assert_problem(api_client(raw).get("/api/v1/moi"), 401)


def test_revoked_token_is_401(factory, org, creator, api_client):
    token, raw = factory.api_token(org, creator)
    token.revoked_at = utcnow()
    db.session.flush()
    assert_problem(api_client(raw).get("/api/v1/moi"), 401)


def test_wrong_scope_is_403(factory, org, creator, api_client, cdap_only):
    _token, edi_raw = factory.api_token(org, creator, scopes=["EDI"])
    body = assert_problem(api_client(edi_raw).get("/api/v1/moi"), 403)
    assert "CDAP" in body["detail"]
    _token, cdap_raw = factory.api_token(org, creator, scopes=["CDAP"], profil="bailleur")
    assert api_client(cdap_raw).get("/api/v1/moi").status_code == 200


def test_scope_without_active_contract_is_403(factory, org, creator, api_client, cdap_only):
    _token, raw = factory.api_token(org, creator, scopes=["CDAP"], profil="bailleur")
    org.active_contrat("CDAP").suspended_at = utcnow()
    db.session.flush()
    assert_problem(api_client(raw).get("/api/v1/moi"), 403)


def test_session_cookie_does_not_authenticate_the_api(client, factory, org, creator):
    factory.sign_in(client, creator)
    assert_problem(client.get("/api/v1/moi"), 401)


def test_a_bearer_call_neither_reads_nor_writes_the_cookie_session(app, client, factory, org, creator,
                                                                  monkeypatch):
    """A client that also holds a signed-in session cookie: the API call does not check the
    cookie's signature nor answer a cookie; the page beside it still reads its session."""
    _token, raw = factory.api_token(org, creator, scopes=["EDI"])
    factory.sign_in(client, creator)
    iface = app.session_interface
    reads = []
    original = iface.get_signing_serializer
    monkeypatch.setattr(iface, "get_signing_serializer", lambda a: reads.append(1) or original(a))
    response = client.get("/api/v1/moi", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 200 and response.get_json()["organisation"]["id"] == org.id
    assert reads == [] and "Set-Cookie" not in response.headers
    assert "cookie" not in response.headers.get("Vary", "").lower()
    client.get("/")
    assert reads  # a page reads its session


def test_the_token_snapshot_loads_what_it_does_not_hold(app, factory, org, creator, api_client, monkeypatch):
    """g.api_token / g.api_organisation hold the columns read with the token; anything else
    (a relationship, another scope's contract) comes from the model row, loaded on demand."""
    seen = {}

    @api_scope("EDI")
    def _probe():
        from flask import g
        seen.update(creator=g.api_token.created_by.email, nom=g.api_organisation.nom,
                    cdap=g.api_organisation.active_contrat("CDAP").profils,
                    edi=g.api_organisation.active_contrat("EDI").service)
        return jsonify(ok=True)
    monkeypatch.setitem(app.view_functions, "api.whoami", _probe)
    _token, raw = factory.api_token(org, creator, scopes=["EDI"])
    assert api_client(raw).get("/api/v1/moi").status_code == 200
    assert seen == {"creator": creator.email, "nom": org.nom, "cdap": ["bailleur"], "edi": "EDI"}


def test_unknown_api_path_and_method_are_problem_json(client):
    assert_problem(client.get("/api/v1/nexiste-pas"), 404)
    assert_problem(client.post("/api/v1/openapi.json"), 405)


@pytest.mark.parametrize("method, path", [("TRACE", "/api/v1/afas/equipements"),
                                          ("DELETE", "/api/v1/cdap/consultations"),
                                          ("POST", "/api/v1/openapi.json"),
                                          ("PATCH", "/connexion")])
def test_a_405_says_which_methods_the_address_takes(client, method, path):
    """RFC 9110: a 405 carries `Allow` (found by schemathesis: API and pages had none)."""
    response = client.open(path, method=method)
    assert response.status_code == 405
    allowed = {m.strip() for m in response.headers.get("Allow", "").split(",")}
    assert allowed & {"GET", "POST"} and method not in allowed


def test_openapi_document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = json.loads(response.get_data(as_text=True))
    assert doc["openapi"].startswith("3.") and doc["info"]["title"]
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert "/moi" in doc["paths"] and "get" in doc["paths"]["/moi"]
    for path, operations in doc["paths"].items():
        assert path.startswith("/")
        for method, operation in operations.items():
            assert method in {"get", "post", "put", "patch", "delete"}, (path, method)
            assert operation.get("responses"), (path, method)


def test_every_api_endpoint_is_documented(app):
    """Every token-authenticated route appears in the OpenAPI document."""
    from portal.access import ATTR
    from portal.api import build_openapi
    documented = {path for path in build_openapi(app)["paths"]}
    missing = []
    for rule in app.url_map.iter_rules():
        access = getattr(app.view_functions[rule.endpoint], ATTR, None)
        if access is not None and access.kind == "api":
            if not getattr(app.view_functions[rule.endpoint], "_openapi", None):
                missing.append(rule.rule)
    assert missing == [], "routes d'API sans @openapi : " + ", ".join(missing)
    assert documented
