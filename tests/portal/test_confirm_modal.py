"""Irreversible actions confirm (issue 19): the page carries the portal's one confirmation modal
and the buttons of suspensions and token revocations say what will happen (portal.js opens the
modal; the browser journeys click through it). Without JavaScript the forms submit as before."""
import html
import re

import pytest


@pytest.fixture
def caf_admin(factory, client):
    user = factory.user(factory.caf(), role="caf_admin")
    factory.sign_in(client, user)
    return user


def _confirm(page: str, title: str) -> dict:
    """The data-confirm-* attributes of the button whose title is `title`."""
    for button in re.findall(r"<button[^>]*data-confirm-title=[^>]*>", page):
        attrs = {k: html.unescape(v) for k, v in re.findall(r'data-confirm-([a-z-]+)="([^"]*)"', button)}
        if attrs["title"] == title:
            return attrs
    raise AssertionError(f"aucun bouton « {title} » à confirmer")


def test_organisation_suspension_asks_first(client, factory, caf_admin):
    org = factory.organisation("bailleur", services={"EDI": []})
    factory.user(org, role="partner_admin")
    page = client.get(f"/caf/administration/organisations/{org.id}").get_data(as_text=True)
    assert 'id="confirm-modal"' in page
    said = _confirm(page, f"Suspendre « {org.nom} » ?")
    assert said["action"] == "Suspendre"
    assert "Le compte et tous les jetons" in said["summary"]


def test_habilitation_suspension_asks_first(client, factory, caf_admin):
    org = factory.organisation("conseil_departemental", services={"CDAP": ["travailleur_social"]})
    worker = factory.user(org, role="travailleur_social", habilitations={"CDAP": "travailleur_social"})
    page = client.get(f"/administration/utilisateurs/{worker.id}").get_data(as_text=True)
    said = _confirm(page, f"Suspendre l'habilitation CDAP de {worker.full_name} ?")
    assert "perd immédiatement l'accès au service CDAP" in said["summary"]


def test_token_revocation_asks_first(client, factory):
    org = factory.organisation("bailleur", services={"EDI": []})
    admin = factory.user(org, role="partner_admin")
    token, _raw = factory.api_token(org, admin, scopes=["EDI"])
    factory.sign_in(client, admin)
    page = client.get("/administration/jetons").get_data(as_text=True)
    said = _confirm(page, f"Révoquer le jeton « {token.nom} » ?")
    assert f"Le jeton {token.prefix}… cesse de fonctionner immédiatement" in said["summary"]
