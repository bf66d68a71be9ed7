"""Deny by default: every route declares who may use it."""
from portal.access import ATTR, is_static_endpoint


def test_every_route_declares_its_access(app):
    missing = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if is_static_endpoint(rule.endpoint):
            continue
        if getattr(view, ATTR, None) is None:
            missing.append(f"{rule.rule} ({rule.endpoint})")
    assert missing == [], "routes sans déclaration d'accès : " + ", ".join(missing)


def test_undeclared_route_is_refused(app, client, monkeypatch):
    # An existing URL whose view lost its declaration (swapping the view leaves the URL map
    # untouched for the other tests that walk it).
    monkeypatch.setitem(app.view_functions, "home.health", lambda: "secret")
    response = client.get("/sante")
    assert response.status_code == 403 and "secret" not in response.get_data(as_text=True)


def test_no_state_change_on_get(app):
    """Routes that change state use POST (or other write methods); GET-only routes are reads.
    Logout, for instance, must not be reachable by GET."""
    rules = {r.endpoint: r.methods for r in app.url_map.iter_rules()}
    assert "GET" not in rules["accounts.logout"]


def test_static_files_are_served_to_anonymous_visitors(client):
    """The DSFR stylesheet and the scripts load on the sign-in page (before any login)."""
    with client.get("/static/portal.js") as response:
        assert response.status_code == 200
        assert b"htmx:configRequest" in response.data
