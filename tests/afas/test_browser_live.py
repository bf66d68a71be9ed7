"""AFAS in a real browser: live points de contrôle and droit estimate while typing (htmx, strict
CSP), justification, transmission, receipt; accessibility of the form."""
import re

import pytest

from tests.browser_support import check_a11y, screenshot, sign_in

pytestmark = pytest.mark.browser


def test_live_checks_justify_and_transmit_eaje_reel(new_page):
    page = new_page()
    sign_in(page, "gestionnaire@amiens.example")
    page.goto("/afas/")
    check_a11y(page)
    page.get_by_role("link", name="Multi-accueil Les Hortillonnages").first.click()
    year = int(page.locator("#new-annee option[selected]").get_attribute("value"))
    page.select_option("#new-type", "reel")
    page.select_option("#new-annee", str(year - 1))
    page.get_by_test_id("afas-create").click()
    page.wait_for_url(re.compile(r".*/afas/declarations/\d+$"))
    assert page.locator("#f-heures_realisees").input_value() != ""      # pre-filled from the prévisionnel
    check_a11y(page)
    before = page.get_by_test_id("afas-droit-montant").get_attribute("data-value")

    realisees = float(page.locator("#f-heures_realisees").input_value())
    page.fill("#f-heures_facturees", str(int(realisees * 1.12)))          # 112 %: plafond decreases
    alert = page.get_by_test_id("controle-TAUX-FACTURATION-107")
    alert.wait_for()
    assert "112 %" in alert.inner_text()
    after = page.get_by_test_id("afas-droit-montant").get_attribute("data-value")
    assert after != before

    page.fill("#f-places_agreees", "abc")
    page.locator("#f-places_agreees-error .fr-error-text").wait_for()
    assert page.locator("#f-places_agreees").get_attribute("aria-invalid") == "true"
    assert page.get_by_test_id("afas-controles-summary").get_attribute("data-bloquants") != "0"
    page.fill("#f-places_agreees", "40")
    page.wait_for_function("() => !document.querySelector('#f-places_agreees-error .fr-error-text')")

    for textarea in page.locator("textarea[data-testid^='justification-']").all():
        textarea.fill("Facturation à la demi-heure entamée ; écart expliqué.")
    screenshot(page, "afas-declaration-live")
    page.get_by_test_id("afas-transmit").click()
    assert "Déclaration transmise" in page.inner_text("main")
    assert page.get_by_test_id("afas-status").first.get_attribute("data-status") == "transmise"
    with page.expect_download() as download:
        page.get_by_test_id("afas-receipt").first.click()
    assert download.value.suggested_filename.endswith("-v1.pdf")


def test_agent_queue_review_and_validation(new_page):
    page = new_page()
    sign_in(page, "agent.caf@caf80.example")
    page.goto("/afas/instruction")
    check_a11y(page)
    row = page.get_by_test_id("afas-queue-row").filter(has_text="Relais petite enfance Amiens Nord")
    row.get_by_role("link").click()
    page.wait_for_url(re.compile(r".*/afas/instruction/\d+$"))
    check_a11y(page)
    assert page.get_by_test_id("afas-droit-montant").get_attribute("data-value")
    page.get_by_test_id("afas-take").click()
    assert "Déclaration prise en charge." in page.inner_text("main")
    page.get_by_test_id("afas-validate").click()
    assert "Déclaration validée." in page.inner_text("main")
    regularisation = page.get_by_test_id("afas-regularisation")
    assert "acomptes versés" in regularisation.inner_text()
    screenshot(page, "afas-instruction")
    page.screenshot(path="/tmp/afas-review.png", full_page=True)
