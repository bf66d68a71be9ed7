"""The DSFR footer and the pages it links: open to everyone, signed in or not."""
from __future__ import annotations

import re

import pytest

PAGES = {"/plan-du-site": "Plan du site", "/accessibilite": "Déclaration d'accessibilité",
         "/mentions-legales": "Mentions légales", "/donnees-personnelles": "Données personnelles",
         "/cookies": "Cookies", "/aide": "Aide et contact"}


def test_the_footer_links_every_page_and_the_brand(client):
    html = client.get("/connexion").get_data(as_text=True)
    footer = re.search(r'<footer class="fr-footer".*?</footer>', html, re.S).group(0)
    assert 'class="fr-footer__brand' in footer and "République<br>Française" in footer
    for path in PAGES:
        assert f'href="{path}"' in footer, path
    assert "Accessibilité : partiellement conforme" in footer
    assert 'rel="icon" href="/static/dsfr/favicon/favicon.svg"' in html


@pytest.mark.parametrize("path,title", PAGES.items())
def test_each_page_is_public(client, path, title):
    response = client.get(path)
    assert response.status_code == 200
    assert f"<h1>{title}</h1>" in response.get_data(as_text=True)


def test_accessibility_statement_gives_its_status_and_audit_date(client):
    html = client.get("/accessibilite").get_data(as_text=True)
    assert "<strong>partiellement conforme</strong>" in html
    assert "L'évaluation du 30 novembre 2026" in html.replace("&#39;", "'")


def test_cookies_none_beyond_the_session(client):
    html = client.get("/cookies").get_data(as_text=True)
    assert "qu'un seul cookie : le cookie de\n  session" in html.replace("&#39;", "'")


def test_help_page_speaks_to_the_role(client, factory, login):
    org = factory.organisation("bailleur", services={"EDI": []})
    login(factory.user(org, role="bailleur_operator", habilitations={"EDI": None}))
    html = client.get("/aide").get_data(as_text=True)
    assert "Votre rôle : Opérateur bailleur" in html and "mailto:edi@caf80.example" in html
    assert "Contacts par rôle" not in html
    plan = client.get("/plan-du-site").get_data(as_text=True)
    assert 'data-testid="plan-du-site"' in plan and "Mon compte" in plan


def test_help_page_lists_every_contact_when_signed_out(client):
    html = client.get("/aide").get_data(as_text=True)
    assert "Contacts par rôle" in html and "Votre rôle" not in html


def test_favicon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response.headers["Location"].endswith("/static/dsfr/favicon/favicon.ico")
