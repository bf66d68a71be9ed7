"""The layout's fixed links (static files, footer, menu entries) are built once per process and
script root, not at every page (≈ 20 `url_for` of 18 µs each before, issue #22), and stay right."""
import re

import portal.layout as layout


def _links(html: str) -> list[str]:
    return re.findall(r'(?:href|src|action)="([^"#]+)"', html)


def test_a_second_page_builds_no_layout_url(client, factory, login, monkeypatch):
    user = factory.user(factory.organisation(services={"AFAS": []}), "partner_manager", {"AFAS": None})
    login(user)
    first = client.get("/notifications").get_data(as_text=True)  # builds what is missing
    calls = []
    real = layout.url_for
    monkeypatch.setattr(layout, "url_for", lambda *a, **k: calls.append(a) or real(*a, **k))
    second = client.get("/notifications").get_data(as_text=True)
    assert calls == []
    assert _links(second) == _links(first)
    assert '/static/dsfr/dsfr.min.css' in second and 'href="/afas/"' in second  # a menu entry


def test_layout_urls_follow_the_script_root(client, factory, login):
    """Behind a proxy mounting the portal under a path, the links carry it (the cache is per
    script root: the same process may be reached both ways)."""
    user = factory.user(factory.organisation(services={"AFAS": []}), "partner_manager", {"AFAS": None})
    login(user)
    plain = client.get("/notifications").get_data(as_text=True)
    mounted = client.get("/notifications", base_url="http://localhost/extranet/").get_data(as_text=True)
    assert 'href="/static/dsfr/dsfr.min.css"' in plain
    assert 'href="/extranet/static/dsfr/dsfr.min.css"' in mounted and 'href="/extranet/afas/"' in mounted
    assert 'href="/extranet/mentions-legales"' in mounted
