"""Role × route: every user-facing route, for each of the six roles, answers according to
its own access declaration — so routes added later by any service are covered too.

- GET routes without parameters: allowed roles get 200 (or a redirect that stays in the
  signed-in area), the others 403; public routes never 403/500 for anyone; API routes refuse
  a browser session (401 problem+json: cookies never authenticate the API).
- Admin POST routes: explicit expectations, checked against the declaration *and* the behaviour.
"""
from __future__ import annotations

import pytest

from portal.access import ATTR, is_static_endpoint
from portal.models import ALL_ROLES

ROLES = sorted(ALL_ROLES)
# Redirect targets that mean "not really let in".
BOUNCES = ("/connexion", "/compte/double-authentification")

# Endpoints whose allowed answer is not 200/302 by design: endpoint -> accepted statuses.
SPECIAL_STATUSES: dict[str, set[int]] = {
    # The team lead's export: CDAP users of the territory reach the view, which checks the profile
    # (team lead, Caf agent) itself; tests/cdap/situations/test_oversight.py checks who gets it.
    "cdap.situations_csv": {200, 403},
}

CDAP_PROFILE = {"partner_manager": "quotient_familial", "partner_admin": "bailleur",
                "bailleur_operator": "bailleur", "travailleur_social": "travailleur_social",
                "caf_agent": "agent_caf", "caf_admin": "agent_caf"}


@pytest.fixture
def world(app, factory, client):
    """One partner organisation with every contract, the Caf, a user per role holding every
    habilitation its organisation allows, and objects for the admin POST routes."""
    partner = factory.organisation("bailleur", services={
        "AFAS": [], "EDI": [], "CDAP": ["quotient_familial", "bailleur", "travailleur_social"]})
    caf = factory.caf()
    clients, users = {}, {}
    for role in ROLES:
        org = caf if role.startswith("caf_") else partner
        user = factory.user(org, role=role, habilitations={
            "AFAS": None, "EDI": None, "CDAP": CDAP_PROFILE[role]})
        client = app.test_client()
        factory.sign_in(client, user)
        clients[role], users[role] = client, user
    target = factory.user(partner, role="partner_manager", habilitations={"AFAS": None})
    token, _raw = factory.api_token(partner, users["partner_admin"], scopes=["EDI"])
    edi_contract = partner.active_contrat("EDI")
    other_org = factory.organisation("association", services={"AFAS": []})
    return {"partner": partner, "caf": caf, "clients": clients, "users": users, "target": target,
            "hab": target.habilitations[0], "token": token, "contrat": edi_contract, "other_org": other_org}


def _rule_of(app, endpoint):
    return getattr(app.view_functions[endpoint], ATTR)


def _parameterless_get_routes(app):
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments or is_static_endpoint(rule.endpoint):
            continue
        yield rule


def _allowed(user, access_rule) -> bool:
    if access_rule.roles and user.role not in access_rule.roles:
        return False
    return not (access_rule.service and user.habilitation(access_rule.service) is None)


def test_every_get_route_for_every_role(app, world):
    from tests.support.factories import csrf_token  # noqa: F401 (sessions are already open)
    failures = []
    checked = 0
    for rule in _parameterless_get_routes(app):
        access = _rule_of(app, rule.endpoint)
        for role in ROLES:
            client, user = world["clients"][role], world["users"][role]
            response = client.get(rule.rule)
            status, location = response.status_code, response.headers.get("Location", "")
            checked += 1
            if access.kind == "public":
                ok = status not in (403, 500)
            elif access.kind == "api":
                ok = status == 401 and response.mimetype == "application/problem+json"
            elif _allowed(user, access):
                # 400/422: let in, but the page wants a query parameter (an export, a search).
                accepted = SPECIAL_STATUSES.get(rule.endpoint, {200, 302, 400, 422})
                ok = status in accepted and not (status == 302 and any(b in location for b in BOUNCES))
            else:
                ok = status == 403
            if not ok:
                failures.append(f"{role} GET {rule.rule} -> {status} {location}")
    assert checked >= 6 * 10
    # Admin pages with a parameter, explicitly.
    pages = {"partner_admin.user_detail": f"/administration/utilisateurs/{world['target'].id}",
             "caf_admin.organisation": f"/caf/administration/organisations/{world['partner'].id}"}
    for endpoint, path in pages.items():
        for role in ROLES:
            status = world["clients"][role].get(path).status_code
            if status != (200 if role in ADMIN_GETS[endpoint] else 403):
                failures.append(f"{role} GET {path} -> {status}")
    assert failures == [], "\n".join(failures)


def test_service_rule_needs_the_habilitation(app, factory, client):
    """A route declared with service=... refuses a user of the right role without that
    habilitation (derived from the declarations: covers the services' routes)."""
    org = factory.organisation("bailleur", services={"AFAS": [], "EDI": [], "CDAP": ["bailleur"]})
    bare = {role: None for role in ROLES}
    failures = []
    for rule in _parameterless_get_routes(app):
        access = _rule_of(app, rule.endpoint)
        if access.kind != "user" or not access.service:
            continue
        role = min(access.roles) if access.roles else "partner_manager"
        if bare[role] is None:
            o = factory.caf() if role.startswith("caf_") else org
            bare[role] = (factory.user(o, role=role, mfa=True), app.test_client())
            factory.sign_in(bare[role][1], bare[role][0])
        status = bare[role][1].get(rule.rule).status_code
        if status != 403:
            failures.append(f"{role} sans habilitation {access.service} GET {rule.rule} -> {status}")
    assert failures == [], "\n".join(failures)


# Admin POST routes: endpoint -> (roles allowed, URL builder from the world).
ADMIN_POSTS = {
    "partner_admin.user_new": ({"partner_admin"}, lambda w: "/administration/utilisateurs/nouveau"),
    "partner_admin.user_disable": ({"partner_admin", "caf_admin"}, lambda w: f"/administration/utilisateurs/{w['target'].id}/desactiver"),
    "partner_admin.user_enable": ({"partner_admin", "caf_admin"}, lambda w: f"/administration/utilisateurs/{w['target'].id}/reactiver"),
    "partner_admin.habilitation_grant": ({"partner_admin", "caf_admin"}, lambda w: f"/administration/utilisateurs/{w['target'].id}/habilitations"),
    "partner_admin.habilitation_review": ({"partner_admin", "caf_admin"}, lambda w: f"/administration/habilitations/{w['hab'].id}/revue"),
    "partner_admin.habilitation_revoke": ({"partner_admin", "caf_admin"}, lambda w: f"/administration/habilitations/{w['hab'].id}/retirer"),
    "partner_admin.token_new": ({"partner_admin"}, lambda w: "/administration/jetons/nouveau"),
    "partner_admin.token_revoke": ({"partner_admin"}, lambda w: f"/administration/jetons/{w['token'].id}/revoquer"),
    "caf_admin.organisation_new": ({"caf_admin"}, lambda w: "/caf/administration/organisations/nouvelle"),
    "caf_admin.organisation_update": ({"caf_admin"}, lambda w: f"/caf/administration/organisations/{w['other_org'].id}"),
    "caf_admin.contrat_add": ({"caf_admin"}, lambda w: f"/caf/administration/organisations/{w['other_org'].id}/contrats"),
    "caf_admin.contrat_update": ({"caf_admin"}, lambda w: f"/caf/administration/contrats/{w['contrat'].id}"),
    "caf_admin.organisation_suspend": ({"caf_admin"}, lambda w: f"/caf/administration/organisations/{w['other_org'].id}/suspendre"),
    "caf_admin.organisation_lift": ({"caf_admin"}, lambda w: f"/caf/administration/organisations/{w['other_org'].id}/retablir"),
    "caf_admin.organisation_user_new": ({"caf_admin"}, lambda w: f"/caf/administration/organisations/{w['other_org'].id}/utilisateurs"),
    "caf_admin.habilitation_suspend": ({"caf_admin"}, lambda w: f"/caf/administration/habilitations/{w['hab'].id}/suspendre"),
    "caf_admin.habilitation_lift": ({"caf_admin"}, lambda w: f"/caf/administration/habilitations/{w['hab'].id}/lever"),
    "caf_admin.audit_verify": ({"caf_admin"}, lambda w: "/caf/administration/audit/verification"),
}
ADMIN_GETS = {
    "partner_admin.users": {"partner_admin"}, "partner_admin.user_new": {"partner_admin"},
    "partner_admin.user_detail": {"partner_admin", "caf_admin"},
    "partner_admin.tokens": {"partner_admin"}, "partner_admin.token_new": {"partner_admin"},
    "caf_admin.organisations": {"caf_admin"}, "caf_admin.organisation_new": {"caf_admin"},
    "caf_admin.organisation": {"caf_admin"}, "caf_admin.audit_trail": {"caf_admin"},
}


def test_admin_declarations_match_explicit_expectations(app):
    admin_endpoints = {r.endpoint for r in app.url_map.iter_rules()
                       if r.endpoint.startswith(("partner_admin.", "caf_admin."))}
    assert admin_endpoints == set(ADMIN_POSTS) | set(ADMIN_GETS)
    for endpoint, (roles, _url) in ADMIN_POSTS.items():
        assert set(_rule_of(app, endpoint).roles) == roles, endpoint
    for endpoint, roles in ADMIN_GETS.items():
        assert set(_rule_of(app, endpoint).roles) == roles, endpoint


def test_admin_post_routes_for_every_role(app, world):
    from tests.support.factories import csrf_token
    tokens = {role: csrf_token(world["clients"][role], "/accueil") for role in ROLES}
    failures = []
    for endpoint, (allowed, url) in ADMIN_POSTS.items():
        path = url(world)
        for role in ROLES:
            response = world["clients"][role].post(path, data={"csrf_token": tokens[role]})
            status = response.status_code
            if role in allowed:
                ok = status in (200, 201, 302, 422)
            else:
                ok = status == 403
            if not ok:
                failures.append(f"{role} POST {path} ({endpoint}) -> {status}")
    assert failures == [], "\n".join(failures)


def test_every_parameterless_post_route_refuses_other_roles(app, world):
    """Write routes without URL parameters (the services' included): a role outside the
    declaration gets 403 before the view runs; an allowed role never gets a 500 (a view may
    still refuse it, e.g. a POST reserved to the organisation's admin)."""
    from tests.support.factories import csrf_token
    tokens = {role: csrf_token(world["clients"][role], "/accueil") for role in ROLES}
    failures, checked = [], set()
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.arguments or rule.endpoint in ADMIN_POSTS:
            continue
        access = _rule_of(app, rule.endpoint)
        if access.kind != "user" or rule.endpoint == "accounts.logout":
            continue
        for role in ROLES:
            user = world["users"][role]
            status = world["clients"][role].post(rule.rule, data={"csrf_token": tokens[role]}).status_code
            checked.add(rule.rule)
            if _allowed(user, access):
                ok = status != 500  # a view may narrow its declaration further (e.g. admins only)
            else:
                ok = status == 403
            if not ok:
                failures.append(f"{role} POST {rule.rule} -> {status}")
    assert failures == [], "\n".join(failures)
    assert {"/compte/mot-de-passe", "/compte/double-authentification"} <= checked
