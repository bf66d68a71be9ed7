"""Caf admin in a real browser: the audit trail page and its on-demand chain verification."""
import pytest

from tests.browser_support import assert_fits_width, assert_page_basics, sign_in, text

pytestmark = pytest.mark.browser


def test_caf_admin_verifies_the_audit_chain_on_demand(new_page):
    page = new_page()
    sign_in(page, "admin.caf@caf80.example")
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Piste d'audit").click()
    assert page.locator("h1").inner_text() == "Piste d'audit"
    status = page.get_by_test_id("chain-status")
    assert "Aucune vérification enregistrée" in text(status)  # opening the page verifies nothing
    assert_page_basics(page)
    page.get_by_role("button", name="Vérifier l'intégrité de la chaîne").click()
    page.wait_for_load_state()
    flash = text(page.locator("main .fr-alert").first)
    assert flash.startswith("Chaîne intègre :") and flash.endswith("entrée(s) vérifiée(s).")
    assert "Chaîne intègre lors de la dernière vérification" in text(status)
    assert "Hélène Dufresne" in text(status)
    assert page.locator("table tbody tr", has_text="chain_verified").count() == 1  # its own event
    assert_page_basics(page)
    page.set_viewport_size({"width": 375, "height": 812})
    assert_fits_width(page)
