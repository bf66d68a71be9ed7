"""Caf admin in a real browser: the audit trail page and its on-demand chain verification (a
background job, run here by a real worker)."""
import time

import pytest
from playwright.sync_api import expect

from tests.support.browser import assert_fits_width, assert_page_basics, screenshot, sign_in, text

pytestmark = pytest.mark.browser


def _reload_until(page, locator, expected: str, timeout: float = 60) -> None:
    """The page does not refresh itself: reload it until the worker's result shows."""
    deadline = time.monotonic() + timeout
    while expected not in text(locator):
        assert time.monotonic() < deadline, f"toujours pas « {expected} » : {text(page.locator('main'))}"
        page.wait_for_timeout(500)
        page.reload()
        page.wait_for_load_state()


def test_caf_admin_verifies_the_audit_chain_on_demand(new_page, live_worker):
    page = new_page()
    sign_in(page, "admin.caf@caf80.example")
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Piste d'audit").click()
    expect(page.locator("h1")).to_have_text("Piste d'audit")
    status = page.get_by_test_id("chain-status")
    assert "Aucune vérification enregistrée" in text(status)  # opening the page verifies nothing
    assert_page_basics(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Vérifier l'intégrité de la chaîne").click()
    assert text(page.locator("main .fr-alert").first).startswith("Vérification lancée")
    _reload_until(page, status, "Chaîne intègre lors de la dernière vérification")
    assert page.get_by_test_id("chain-progress").count() == 0
    assert "Hélène Dufresne" in text(status)
    # Its own event, in words: action, details and time (Paris) — no code in front of people.
    row = page.locator("table tbody tr", has_text="Intégrité de la chaîne vérifiée")
    assert row.count() == 1
    assert "Entrées vérifiées :" in text(row) and "Intègre : oui" in text(row)
    assert page.get_by_role("columnheader", name="Date (heure de Paris)").count() == 1
    assert page.locator("table tbody tr", has_text="Code de double authentification accepté").count() >= 1
    assert "_" not in text(page.locator("table tbody"))
    assert_page_basics(page)
    # Filters by action names; an end date before the start date is refused, at the field.
    total = int(page.get_by_test_id("liste-total").get_attribute("data-total"))
    assert total > 1
    page.select_option("#action", label="Intégrité de la chaîne vérifiée")
    with page.expect_navigation():
        page.get_by_role("button", name="Filtrer").click()
    expect(page.get_by_test_id("liste-total")).to_have_attribute("data-total", "1")
    assert page.locator("table tbody tr").count() == 1
    page.select_option("#action", "")
    page.fill("#du", "2026-03-10")
    page.fill("#au", "2026-03-01")
    with page.expect_navigation():
        page.get_by_role("button", name="Filtrer").click()
    assert "La date de fin doit être le même jour que la date de début ou après." in text(page.locator("#au-error"))
    expect(page.locator("#au")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("liste-total")).to_have_attribute("data-total", "0")
    assert_page_basics(page)
    screenshot(page, "piste-audit")
    page.set_viewport_size({"width": 375, "height": 812})
    assert_fits_width(page)
