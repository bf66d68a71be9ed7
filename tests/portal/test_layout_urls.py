"""The layout's fixed links (static files, footer, menu entries) are built once per process and
script root, not at every page (≈ 20 `url_for` of 18 µs each before, issue #22), and stay right."""
import re

import pytest

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


def test_a_second_page_renders_no_fixed_fragment(client, factory, login, app, monkeypatch):
    """Head links, footer, confirmation modal and scripts: rendered once per process (#22)."""
    user = factory.user(factory.organisation(services={"AFAS": []}), "partner_manager", {"AFAS": None})
    login(user)
    first = client.get("/notifications").get_data(as_text=True)
    loaded = []
    real = app.jinja_env.get_template
    monkeypatch.setattr(app.jinja_env, "get_template", lambda name, *a, **k: loaded.append(name) or real(name, *a, **k))
    second = client.get("/notifications").get_data(as_text=True)
    assert not {"_layout_head.html", "_layout_footer.html", "_confirm_modal.html"} & set(loaded)
    assert _links(second) == _links(first)
    assert 'id="confirm-modal"' in second and "/static/portal.js" in second and "Plan du site" in second


def test_template_reload_is_a_setting_off_outside_development():
    from portal.config import ConfigError, load_config
    base = {"PORTAL_ENV": "testing", "SECRET_KEY": "t" * 40}
    assert load_config({**base})["TEMPLATES_AUTO_RELOAD"] is False
    assert load_config({**base, "PORTAL_ENV": "development"})["TEMPLATES_AUTO_RELOAD"] is True
    assert load_config({**base, "PORTAL_ENV": "development", "TEMPLATES_AUTO_RELOAD": "0"})["TEMPLATES_AUTO_RELOAD"] is False
    with pytest.raises(ConfigError, match="TEMPLATES_AUTO_RELOAD"):
        load_config({**base, "TEMPLATES_AUTO_RELOAD": "oui"})
