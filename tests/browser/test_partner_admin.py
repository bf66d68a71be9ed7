"""Partner admin journey: creates a user (least-privileged role pre-selected, the focus on the
error summary after a failed submit), grants a habilitation, creates an API token (copied with
one button) and revokes it (and the revoked token stops working on the API). The EDI
certificates menu shows only for organisations with the EDI service."""
import pytest
from playwright.sync_api import expect

from tests.support.browser import assert_fits_width, assert_page_basics, confirm_modal, screenshot, sign_in, text

pytestmark = pytest.mark.browser


def _flash(page) -> str:
    return page.locator("main .fr-alert").first.inner_text()


def test_partner_admin_manages_users_habilitations_and_tokens(new_page):
    page = new_page(permissions=["clipboard-read", "clipboard-write"])
    sign_in(page, "admin@amiens.example")
    menu = page.get_by_role("navigation", name="Menu principal")
    assert menu.get_by_role("link", name="Jetons d'API").count() == 1
    assert menu.get_by_role("link", name="Certificats EDI").count() == 0  # no EDI service
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Utilisateurs").click()
    expect(page.locator("h1")).to_have_text("Utilisateurs — Commune d'Amiens")
    assert page.get_by_role("cell", name="Sophie Martin").is_visible()
    assert_page_basics(page)
    screenshot(page, "administration-utilisateurs")
    # Searched by name, typed: only that person, counted.
    page.get_by_test_id("liste-recherche").press_sequentially("martin", delay=30)
    with page.expect_navigation():
        page.get_by_role("button", name="Rechercher").click()
    expect(page.get_by_test_id("liste-total")).to_have_attribute("data-total", "1")
    assert page.get_by_role("cell", name="Sophie Martin").is_visible()
    page.goto("/administration/utilisateurs")

    # Create a user (no password: an activation link is sent).
    page.get_by_role("link", name="Créer un utilisateur").click()
    assert_page_basics(page)
    assert page.locator("#role").input_value() == "partner_manager"  # least privileged, never admin
    expect(page.locator("#role option").first).to_have_attribute("value", "partner_manager")
    with page.expect_navigation():
        page.get_by_role("button", name="Créer le compte").click()  # empty form: errors tied to fields
    summary = page.get_by_test_id("error-summary")
    summary.wait_for()
    assert page.evaluate("document.activeElement.id") == "error-summary"  # the keyboard lands there
    assert "3 erreurs à corriger" in summary.inner_text()
    assert "Prénom : Saisissez le prénom." in summary.inner_text()
    assert_page_basics(page)
    screenshot(page, "administration-erreurs-formulaire")
    summary.get_by_role("link", name="Nom : Saisissez le nom.").click()
    assert page.evaluate("document.activeElement.id") == "nom"
    prenom = page.locator("#prenom")
    assert prenom.get_attribute("aria-invalid") == "true"
    assert page.locator(f"#{prenom.get_attribute('aria-describedby')}").inner_text() == "Saisissez le prénom."
    assert page.locator("#role").input_value() == "partner_manager"
    prenom.press_sequentially("Élodie", delay=40)
    page.locator("#nom").press_sequentially("Caron", delay=40)
    page.locator("#email").press_sequentially("elodie.caron@amiens.example", delay=20)
    page.get_by_role("button", name="Créer le compte").click()
    assert _flash(page) == "Compte créé : un lien d'activation a été envoyé à elodie.caron@amiens.example."
    expect(page.locator("h1")).to_have_text("Élodie Caron")
    assert "En attente d'activation" in text(page.locator("main"))  # badges are upper-cased by CSS
    assert "Aucune habilitation." in page.inner_text("main")

    # Grant the AFAS habilitation.
    page.select_option("#hab-service", "AFAS")
    page.get_by_role("button", name="Accorder").click()
    assert _flash(page) == "Habilitation accordée."
    row = page.locator("table tbody tr", has_text="AFAS")
    assert "Active" in text(row)
    assert_page_basics(page)

    # Create an API token, shown once.
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Jetons d'API").click()
    page.get_by_role("link", name="Créer un jeton").click()
    assert_page_basics(page)
    page.fill("#nom", "Logiciel petite enfance")
    page.locator("label", has_text="AFAS").click()  # DSFR: the label covers the checkbox
    assert page.get_by_label("AFAS").is_checked()
    page.fill("#days", "30")
    page.get_by_role("button", name="Créer le jeton").click()
    expect(page.locator("h1")).to_have_text("Jeton « Logiciel petite enfance » créé")
    raw = page.get_by_test_id("raw-token").inner_text().strip()
    assert len(raw) > 30
    page.get_by_role("button", name="Copier le jeton").click()
    # The clipboard answers asynchronously: wait for the status, do not read it at once.
    expect(page.get_by_test_id("copy-status")).to_have_text("Jeton copié dans le presse-papiers.")
    assert page.evaluate("navigator.clipboard.readText()") == raw
    assert_page_basics(page)
    screenshot(page, "administration-jeton-copie")
    api = page.request.get("/api/v1/moi", headers={"Authorization": f"Bearer {raw}"})
    assert api.status == 200 and api.json()["organisation"]["nom"] == "Commune d'Amiens"

    # Revoke it: the list shows it revoked, and the API refuses it.
    page.get_by_role("link", name="Retour aux jetons").click()
    row = page.locator("table tbody tr", has_text="Logiciel petite enfance")
    assert "Actif" in text(row)
    row.get_by_role("button", name="Révoquer").click()
    confirm_modal(page, "Révoquer le jeton « Logiciel petite enfance » ?")
    assert _flash(page) == "Jeton « Logiciel petite enfance » révoqué."
    assert "Révoqué" in text(page.locator("table tbody tr", has_text="Logiciel petite enfance"))
    assert raw not in page.content()
    refused = page.request.get("/api/v1/moi", headers={"Authorization": f"Bearer {raw}"})
    assert refused.status == 401
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert_page_basics(page)


def test_landlord_admin_sees_the_edi_certificates_menu(new_page):
    page = new_page()
    sign_in(page, "admin@picardie-habitat.example")
    menu = page.get_by_role("navigation", name="Menu principal")
    menu.get_by_role("link", name="Certificats EDI").click()
    assert page.locator("h1").count() == 1 and "/edi/certificats" in page.url


def test_admin_pages_fit_a_phone(new_page):
    page = new_page(width=375, height=812)
    sign_in(page, "admin@picardie-habitat.example")
    for path in ("/administration/utilisateurs", "/administration/jetons", "/administration/jetons/nouveau"):
        page.goto(path)
        assert_fits_width(page)
