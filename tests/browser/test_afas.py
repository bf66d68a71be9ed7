"""AFAS journeys in a real browser: the partner manager fills an EAJE réel and sees the points de
contrôle appear as they type, justifies the alerts, transmits and downloads the receipt; the Caf
agent requests a correction, the partner corrects, the agent validates and sees the régularisation.
Plus the keyboard-only test of the declaration form."""
import re
from datetime import date

import pytest
from playwright.sync_api import expect

from tests.support.browser import (assert_fits_width, assert_page_basics, check_a11y, confirm_modal,
                                   screenshot, sign_in, text)

pytestmark = pytest.mark.browser

EAJE = "Multi-accueil Les Hortillonnages"
LAEP = "LAEP La Passerelle"
REEL_YEAR = date.today().year - 1   # the demo has the prévisionnel of last year validated


def _euros(value: str) -> float:
    return float(value.replace(" ", "").replace(",", "."))


def _status(page) -> str:
    return page.get_by_test_id("afas-status").first.get_attribute("data-status")


def _flash(page) -> str:
    return text(page.locator("main .fr-alert").first)


def _wait_live(page):
    """Wait for the htmx preview request (points de contrôle, droit) to settle."""
    page.wait_for_function("() => !document.querySelector('#afas-data.htmx-request')")
    page.wait_for_timeout(50)


def _justify_alerts(page, reason: str) -> list[str]:
    codes = []
    for item in page.locator("#afas-live [data-severite='alerte']").all():
        code = item.get_attribute("data-code")
        box = page.get_by_test_id(f"justification-{code}")
        if not box.input_value():
            box.fill(reason)
        codes.append(code)
    return codes


def _open_equipement(page, nom: str):
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Déclarations AFAS").click()
    page.get_by_test_id("afas-equipements").get_by_role("link", name=nom).click()
    expect(page.locator("h1")).to_have_text(nom)


def test_declaration_from_input_to_regularisation(new_page):
    partner = new_page()
    sign_in(partner, "gestionnaire@amiens.example")
    partner.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Déclarations AFAS").click()
    expect(partner.locator("h1")).to_have_text("Déclarations d'activité et financières (AFAS)")
    assert_page_basics(partner)
    screenshot(partner, "afas-partenaire")
    partner.get_by_test_id("afas-equipements").get_by_role("link", name=EAJE).click()
    assert_page_basics(partner)

    # Create the réel of last year: pre-filled from the validated prévisionnel.
    partner.select_option("#new-type", "reel")
    partner.select_option("#new-annee", str(REEL_YEAR))
    partner.get_by_test_id("afas-create").click()
    expect(partner.locator("h1")).to_have_text(f"Réel {REEL_YEAR} — {EAJE}")
    realisees = partner.get_by_test_id("field-heures_realisees")
    assert realisees.input_value() not in ("", "0")
    summary = partner.get_by_test_id("afas-controles-summary")
    droit_before = partner.get_by_test_id("afas-droit-montant").get_attribute("data-value")

    # Typing garbage: the message appears next to the field, tied to it, without a reload.
    realisees.fill("beaucoup")
    error = partner.locator("#f-heures_realisees-error")
    error.get_by_text("Saisissez un nombre", exact=False).wait_for()
    assert "f-heures_realisees-error" in realisees.get_attribute("aria-describedby")

    # Real figures: 80 000 h réalisées, 88 000 facturées = 110 % -> the 107 % alert appears live.
    realisees.fill("80000")
    partner.get_by_test_id("field-heures_facturees").fill("88000")
    alert = partner.get_by_test_id("controle-TAUX-FACTURATION-107")
    alert.wait_for()
    assert "110" in text(alert) and text(alert).startswith("Alerte :")  # the sentence first, its code after
    assert text(error) == ""
    _wait_live(partner)
    assert summary.get_attribute("data-bloquants") == "0"
    droit = partner.get_by_test_id("afas-droit-montant")
    assert re.search(r"\d[\d\u202f ]*,\d\d €", text(droit)), text(droit)
    assert droit.get_attribute("data-value") != droit_before  # the estimate follows the figures
    check_a11y(partner)
    screenshot(partner, "afas-declaration-live")

    # Transmitting without justification is refused; the justification field is flagged.
    partner.get_by_test_id("afas-transmit").click()
    confirm_modal(partner, "Droit estimé")
    assert "justifi" in _flash(partner)
    box = partner.get_by_test_id("justification-TAUX-FACTURATION-107")
    assert box.get_attribute("aria-invalid") == "true"
    check_a11y(partner)
    codes = _justify_alerts(partner, "Facturation à la demi-heure entamée, conforme au règlement.")
    assert "TAUX-FACTURATION-107" in codes
    partner.get_by_test_id("afas-transmit").click()
    confirm_modal(partner, "la version 1 sera scellée")
    assert _flash(partner).startswith("Déclaration transmise (version 1")
    assert _status(partner) == "transmise"

    # The receipt (PDF) downloads.
    with partner.expect_download() as download:
        partner.get_by_test_id("afas-receipt").first.click()
    assert download.value.suggested_filename.startswith("accuse-reception-EAJE-80-0001-reel")
    with open(download.value.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    assert_page_basics(partner)
    did = re.search(r"/declarations/(\d+)", partner.url).group(1)

    # The Caf agent finds it in the queue and asks for a correction.
    agent = new_page()
    sign_in(agent, "agent.caf@caf80.example")
    agent.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Instruction AFAS").click()
    row = agent.locator(f"[data-testid='afas-queue-row'][data-id='{did}']")
    assert "Commune d'Amiens" in text(row) or EAJE in text(row)
    assert_page_basics(agent)
    screenshot(agent, "afas-instruction")
    # Searched by the équipement's name, typed; sorted by a column header.
    agent.get_by_test_id("liste-recherche").press_sequentially(EAJE, delay=30)
    with agent.expect_navigation():
        agent.get_by_role("button", name="Filtrer").click()
    assert row.count() == 1 and int(agent.get_by_test_id("liste-total").get_attribute("data-total")) >= 1
    with agent.expect_navigation():
        agent.get_by_test_id("tri-organisation").click()
    assert "tri=organisation" in agent.url and row.count() == 1
    assert agent.locator("th[aria-sort=ascending]").count() == 1
    assert_page_basics(agent)
    row.get_by_role("link").first.click()
    assert "Facturation à la demi-heure entamée" in text(agent.get_by_test_id("justification-TAUX-FACTURATION-107"))
    assert_page_basics(agent)
    agent.get_by_test_id("afas-take").click()
    agent.get_by_test_id("afas-correction-message").fill("Merci de revoir les heures facturées : 84 000 h selon nos relevés.")
    agent.get_by_test_id("afas-request-correction").click()
    assert _status(agent) == "a_corriger"

    # The partner sees the request, corrects, sees what changed, and transmits version 2.
    partner.reload()
    assert "84 000 h selon nos relevés" in text(partner.get_by_test_id("afas-correction-requested"))
    partner.get_by_test_id("field-heures_facturees").fill("84000")
    _wait_live(partner)
    partner.get_by_test_id("afas-save").click()
    assert _flash(partner) == "Brouillon enregistré."
    assert partner.locator("[data-testid='afas-diff'] [data-field='heures_facturees']").is_visible()
    _justify_alerts(partner, "Heures corrigées d'après les relevés de la Caf.")
    partner.get_by_test_id("afas-transmit").click()
    confirm_modal(partner, "la version 2 sera scellée")
    assert _flash(partner).startswith("Déclaration transmise (version 2")
    assert partner.get_by_test_id("afas-versions").locator("li").count() == 2

    # The agent validates and sees the régularisation (droit réel − acomptes versés).
    agent.reload()
    agent.get_by_test_id("afas-validate").click()
    said = confirm_modal(agent, "la régularisation (droit réel moins acomptes versés) est calculée")
    assert re.search(r"Droit validé : [\d ]+,\d\d €", said), said
    assert _status(agent) == "validee"
    regul = agent.get_by_test_id("afas-regularisation")
    assert "de droit réel" in text(regul) and "d'acomptes versés" in text(regul)
    droit_reel, verses, solde = [_euros(x) for x in re.findall(r"(-?[\d ]+,\d\d) €", text(regul))]
    assert droit_reel > 0 and round(droit_reel - verses, 2) == abs(solde)
    assert abs(float(regul.get_attribute("data-solde"))) == abs(solde)
    assert_page_basics(agent)

    # And the partner sees it too.
    partner.reload()
    assert _status(partner) == "validee"
    assert partner.get_by_test_id("afas-regularisation").get_attribute("data-solde") == regul.get_attribute("data-solde")


def test_declaration_form_with_the_keyboard_only(new_page):
    page = new_page()
    sign_in(page, "gestionnaire@amiens.example")
    _open_equipement(page, LAEP)
    page.locator("[data-testid='afas-equipement-declarations'] a", has_text="Actualisé").first.click()
    form = page.get_by_test_id("afas-declaration-form")
    first = form.locator("input.fr-input").first
    first.focus()
    first_id = first.get_attribute("id")
    visited, outlines = [], []
    for _ in range(200):
        active = page.evaluate("""() => { const e = document.activeElement; const s = getComputedStyle(e);
            return {id: e.id, tag: e.tagName, type: e.type || '', testid: e.dataset.testid || '',
                    outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 1}; }""")
        visited.append(active)
        outlines.append(active["outline"])
        if active["tag"] == "INPUT" and active["type"] == "text":
            page.keyboard.press("Control+a")
            page.keyboard.type("douze" if active["id"] == first_id else "12")
        if active["testid"] == "afas-save":
            break
        page.keyboard.press("Tab")
    else:
        pytest.fail("le bouton « Enregistrer le brouillon » n'est pas atteignable au clavier")
    fields = [v for v in visited if v["tag"] == "INPUT" and v["type"] == "text"]
    assert len(fields) == form.locator("input.fr-input").count()  # every field reached, in order
    assert all(outlines), [v["id"] for v, o in zip(visited, outlines) if not o]  # visible focus
    page.keyboard.press("Enter")
    # "douze" in the first field: the draft is kept, the error is announced and tied to the field.
    flash = page.locator("main .fr-alert", has_text="Brouillon enregistré").first
    flash.wait_for()  # the POST reloads the page: wait for the flash, not the old live panel
    assert flash.get_attribute("role") in ("status", "alert")
    assert "Brouillon enregistré. 1 champ à corriger" in text(flash)
    field = page.locator(f"#{first_id}")
    assert field.get_attribute("aria-invalid") == "true" and field.input_value() == "douze"
    described = field.get_attribute("aria-describedby").split()
    assert "Saisissez un nombre" in " ".join(text(page.locator(f"#{i}")) for i in described)
    check_a11y(page)


def test_afas_pages_fit_a_phone(new_page):
    page = new_page(width=375, height=812)
    sign_in(page, "gestionnaire@amiens.example")
    # On a phone the menu is behind the DSFR "Menu" button.
    page.get_by_role("button", name="Menu").click()
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Déclarations AFAS").click()
    assert_fits_width(page)
    page.get_by_test_id("afas-equipements").get_by_role("link", name=EAJE).click()
    page.wait_for_url("**/afas/equipements/*")
    assert_fits_width(page)
    page.locator("[data-testid='afas-equipement-declarations'] a").first.click()
    page.wait_for_url("**/afas/declarations/*")
    assert_fits_width(page)
