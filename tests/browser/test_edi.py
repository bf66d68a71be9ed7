"""EDI pages for the landlord operator in a real browser: home dashboard, files list, upload form
(accessibility, errors tied to the fields, phone width)."""
import re

import pytest
from playwright.sync_api import expect

from tests.support.browser import assert_fits_width, assert_page_basics, screenshot, sign_in, text

pytestmark = pytest.mark.browser


def test_landlord_sees_its_dashboard_files_and_upload_form(new_page):
    page = new_page()
    sign_in(page, "operateur@picardie-habitat.example")
    panel = page.get_by_test_id("tableau-de-bord-bailleur")
    assert panel.locator("h2").inner_text() == "Vos fichiers EDI"
    assert re.search(r"\d+ fichiers? traités? en 90 jours", text(page.get_by_test_id("resume-bailleur-edi-flux")))
    assert_page_basics(page)
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Fichiers EDI").click()
    assert_page_basics(page)
    screenshot(page, "edi-fichiers")
    page.get_by_test_id("edi-upload-link").click()
    assert_page_basics(page)
    # Submitting nothing: both errors shown, tied to their fields, nothing received.
    page.evaluate("() => document.getElementById('edi-upload-form').noValidate = true")
    page.locator("#edi-upload-form button[type=submit]").click()
    expect(page.get_by_test_id("edi-upload-errors")).to_be_visible()
    for field in ("edi-fichier", "edi-signature"):
        input_ = page.locator(f"#{field}")
        assert input_.get_attribute("aria-invalid") == "true"
        assert text(page.locator(f"#{input_.get_attribute('aria-describedby')}"))
    assert_page_basics(page)
    screenshot(page, "edi-depot")
    # A PDF chosen as the file, the XML as the signature: each said in words, at its field.
    page.set_input_files("#edi-fichier", files=[{"name": "loyers.pdf", "mimeType": "application/pdf",
                                                 "buffer": b"%PDF-1.7\n1 0 obj"}])
    page.set_input_files("#edi-signature", files=[{"name": "loyers.xml", "mimeType": "application/xml",
                                                   "buffer": b'<?xml version="1.0"?><Loyers/>'}])
    page.locator("#edi-upload-form button[type=submit]").click()
    # the first try's errors stay on screen until the answer replaces them: wait for the new ones
    expect(page.locator("#edi-fichier-error")).to_contain_text("c'est un document PDF")
    assert "La signature choisie est un fichier XML" in text(page.locator("#edi-signature-error"))
    assert_page_basics(page)


def test_edi_pages_fit_a_phone(new_page):
    page = new_page(width=375, height=812)
    sign_in(page, "operateur@picardie-habitat.example")
    for path in ("/accueil", "/edi/fichiers", "/edi/depot"):
        page.goto(path)
        assert_fits_width(page)
