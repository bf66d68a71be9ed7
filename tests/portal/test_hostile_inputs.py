"""Hostile inputs get a clear 4xx, never a 500 (issue #18): integers too large for the database
in paths, query strings and forms.

Identifiers are `integer` columns (32 bits on PostgreSQL, 64 on SQLite): a larger value used to
reach the database and fail there (OverflowError on SQLite, "integer out of range" on
PostgreSQL). The route walk below covers every `<int:...>` route, including the ones added later.
"""
from __future__ import annotations

import re

import pytest
from werkzeug.routing import IntegerConverter

from portal.access import ATTR, is_static_endpoint
from portal.models import ALL_ROLES

ID_MAX = 2**31 - 1  # PostgreSQL `integer`
TOO_LARGE = [2**31, 2**63, 999999999999999999999999999]
CDAP_PROFILE = {"partner_manager": "quotient_familial", "partner_admin": "bailleur",
                "bailleur_operator": "bailleur", "travailleur_social": "travailleur_social",
                "caf_agent": "agent_caf", "caf_admin": "agent_caf"}
# Values for the routes' other (non-integer) parts.
OTHER_ARGS = {"kind": "fichier", "action": "prendre", "fmt": "csv", "verb": "contact"}


@pytest.fixture
def world(app, factory, client):
    """A partner with every contract, the Caf, one signed-in client per role (every habilitation
    its organisation allows) and a bearer token with every scope."""
    partner = factory.organisation("bailleur", services={
        "AFAS": [], "EDI": [], "CDAP": ["quotient_familial", "bailleur", "travailleur_social"]})
    caf = factory.caf()
    clients = {}
    for role in sorted(ALL_ROLES):
        user = factory.user(caf if role.startswith("caf_") else partner, role=role,
                            habilitations={"AFAS": None, "EDI": None, "CDAP": CDAP_PROFILE[role]})
        client = app.test_client()
        factory.sign_in(client, user)
        clients[role] = (client, factory.csrf_token(client, "/accueil"))
    admin = factory.user(partner, role="partner_admin")
    _token, raw = factory.api_token(partner, admin, scopes=("AFAS", "CDAP", "EDI"),
                                    profil="bailleur")
    return {"clients": clients, "bearer": raw, "anonymous": app.test_client()}


def _int_routes(app):
    for rule in app.url_map.iter_rules():
        if is_static_endpoint(rule.endpoint):
            continue
        ints = [name for name, conv in rule._converters.items() if isinstance(conv, IntegerConverter)]
        if ints:
            yield rule, ints


def _path(rule, ints, value) -> str:
    def part(match):
        name = match.group(1).rsplit(":", 1)[-1]
        return str(value) if name in ints else OTHER_ARGS[name]
    return re.sub(r"<([^>]+)>", part, rule.rule)


def _requests(app, world, rule, path):
    """(who, send) for everyone the route's declaration lets in (the anonymous visitor for
    public routes, the bearer token for API routes)."""
    method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
    access = getattr(app.view_functions[rule.endpoint], ATTR)
    if access.kind == "api":
        yield "jeton", lambda: world["anonymous"].open(
            path, method=method, json={} if method != "GET" else None,
            headers={"Authorization": f"Bearer {world['bearer']}"})
    elif access.kind == "public":
        yield "anonyme", lambda: world["anonymous"].open(path, method=method)
    else:
        for role in sorted(access.roles or ALL_ROLES):
            client, token = world["clients"][role]
            yield role, lambda c=client, t=token: c.open(path, method=method, headers={"X-CSRFToken": t})


def test_every_int_route_answers_404_to_an_integer_too_large_for_the_database(app, world):
    failures, checked = [], 0
    for rule, ints in _int_routes(app):
        for value in TOO_LARGE:
            path = _path(rule, ints, value)
            for who, send in _requests(app, world, rule, path):
                response = send()
                checked += 1
                if response.status_code != 404:
                    failures.append(f"{who} {rule.endpoint} {path} -> {response.status_code}")
                elif path.startswith("/api/") and response.mimetype != "application/problem+json":
                    failures.append(f"{who} {path} -> 404 {response.mimetype}")
    assert checked > 100
    assert failures == [], "\n".join(failures)


def test_the_largest_identifier_still_reaches_the_view(app, world):
    """ID_MAX is routed (the view answers, 404 for a missing object): the bound is not lower."""
    failures = []
    for rule, ints in _int_routes(app):
        path = _path(rule, ints, ID_MAX)
        for who, send in _requests(app, world, rule, path):
            status = send().status_code
            if status >= 500:
                failures.append(f"{who} {rule.endpoint} {path} -> {status}")
    assert failures == [], "\n".join(failures)


@pytest.mark.parametrize("who, path", [
    ("bailleur_operator", "/edi/fichiers?page={}"),
    ("caf_agent", "/edi/fichiers?page={}"),
    ("jeton", "/api/v1/edi/fichiers?page={}"),
    ("jeton", "/api/v1/edi/fichiers?par_page={}"),
    ("travailleur_social", "/cdap/consultation?impaye={}"),
])
@pytest.mark.parametrize("value", ["9223372036854775807", "99999999999999999999999", "-1", "0",
                                   "9" * 5000, "douze"],
                         ids=["2puiss63-1", "1e23", "moins1", "zero", "5000chiffres", "texte"])
def test_integer_query_parameters_out_of_range_are_400_with_a_french_message(world, who, path, value):
    url = path.format(value)
    if who == "jeton":
        response = world["anonymous"].get(url, headers={"Authorization": f"Bearer {world['bearer']}"})
        assert response.status_code == 400 and response.mimetype == "application/problem+json", url
        detail = response.get_json()["detail"]
    else:
        response = world["clients"][who][0].get(url)
        assert response.status_code == 400, url
        detail = response.get_data(as_text=True)
    name = url.split("?")[1].split("=")[0]
    assert f"« {name} »" in detail and "nombre entier" in detail, detail[:300]


def test_integer_query_parameters_in_range_still_work(world):
    operator = world["clients"]["bailleur_operator"][0]
    assert operator.get("/edi/fichiers?page=3").status_code == 200
    assert operator.get("/edi/fichiers?page=").status_code == 200  # empty: the default
    api = {"Authorization": f"Bearer {world['bearer']}"}
    listing = world["anonymous"].get("/api/v1/edi/fichiers?page=2&par_page=200", headers=api)
    assert listing.status_code == 200 and listing.get_json()["page"] == 2
    assert listing.get_json()["par_page"] == 200


@pytest.mark.parametrize("annee", ["9" * 30, "2147483648", "-9223372036854775809", "9" * 5000])
def test_a_form_year_too_large_for_the_database_is_refused_like_any_bad_year(world, factory, annee):
    from afas.models import Equipement
    from portal.extensions import db
    manager = next(u for u in db.session.scalars(db.select(factory.User))
                   if u.role == "partner_manager" and u.organisation.kind == "bailleur")
    eq = Equipement(organisation_id=manager.organisation_id, type="RPE", nom="Relais", numero="RPE-H1")
    db.session.add(eq)
    db.session.flush()
    client, token = world["clients"]["partner_manager"]
    response = client.post(f"/afas/equipements/{eq.id}/declarations",
                           data={"annee": annee, "type": "reel", "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/afas/equipements/{eq.id}")
    assert "Choisissez un exercice valide." in client.get(response.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize("maximum", [0, 7, 10, 99, 100, 209, 1000, 2**31 - 1])
def test_the_route_pattern_accepts_exactly_0_to_its_maximum(maximum):
    from portal.inputs import digits_up_to
    pattern = re.compile(digits_up_to(maximum))
    probes = set(range(0, 1200)) | {maximum - 1, maximum, maximum + 1, maximum * 10, 2**31, 2**63}
    assert [v for v in sorted(probes) if v >= 0 and bool(pattern.fullmatch(str(v))) != (v <= maximum)] == []
    assert pattern.fullmatch("٣") is None  # ASCII digits only


# --- redirect targets from the user ----------------------------------------------------------

HOSTILE_NEXT = ["/accueil\r\nSet-Cookie: piege=1", "/accueil\nLocation: https://evil.example",
                "/\r\n", "/\x00", "/\t/evil.example", "/\\evil.example", "/\\/evil.example",
                "//evil.example", "https://evil.example/", "/accueil\u2028x", "/\x7f"]


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_login_ignores_a_next_that_is_not_a_plain_local_path(client, factory, target):
    from urllib.parse import urlencode
    user = factory.user(role="partner_manager", mfa=False)
    token = factory.csrf_token(client, "/connexion")
    response = client.post("/connexion?" + urlencode({"next": target}),
                           data={"email": user.email, "password": factory.PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/accueil"


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_the_second_factor_step_ignores_it_too(client, factory, target):
    from urllib.parse import urlencode
    user = factory.user(factory.caf(), role="caf_agent", mfa=True)
    token = factory.csrf_token(client, "/connexion")
    first = client.post("/connexion?" + urlencode({"next": target}),
                        data={"email": user.email, "password": factory.PASSWORD, "csrf_token": token})
    assert first.status_code == 302 and first.headers["Location"].startswith("/connexion/code")
    step = first.headers["Location"]
    response = client.post(step, data={"code": factory.totp_now(user),
                                       "csrf_token": factory.csrf_token(client, step)})
    assert response.status_code == 302
    assert response.headers["Location"] == "/accueil"


def test_a_plain_local_next_is_still_followed(client, factory):
    user = factory.user(role="partner_manager", mfa=False)
    token = factory.csrf_token(client, "/connexion")
    response = client.post("/connexion?next=/compte%3Fonglet%3D2", data={
        "email": user.email, "password": factory.PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/compte?onglet=2"
