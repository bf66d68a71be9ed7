"""Nothing typed is ever lost on the AFAS form (issue 19): the live preview never replaces a field
being edited, drafts save themselves (« Brouillon enregistré à 14 h 32 », Paris time), leaving with
unsaved edits asks first, the controls stay in sight (sticky panel, summary bar at 375 px),
cross-field checks mark their fields, totals are computed as one types, and transmitting asks for
a confirmation that states the amount. Each journey works on its own declaration."""
import re
from datetime import date, datetime, timedelta

import pytest
from playwright.sync_api import expect

from portal.dates import PARIS
from tests.support.browser import check_a11y, confirm_modal, screenshot, sign_in, text
from tests.support.pdf import pdf_shown_strings

pytestmark = pytest.mark.browser

EAJE = "Multi-accueil Les Hortillonnages"
ALSH = "Accueil de loisirs Saint-Leu"
RPE = "Relais petite enfance Amiens Nord"
YEAR = date.today().year   # no demo declaration of this year for these two équipements

# 200 characters, typed at 20 ms per key; words that lost letters before (« les familles »,
# « Baisse »), accents the PDF's core fonts can render.
PHRASE = ("Baisse des heures facturées : les familles ont demandé des contrats ajustés ; "
          "la facturation à la demi-heure entamée reste conforme au règlement de fonctionnement "
          "validé par la commune en mars 2024 CM")
assert len(PHRASE) == 200, len(PHRASE)


def _squash(value: str) -> str:
    return " ".join(value.split())


def _wait_live(page):
    page.wait_for_function("() => !document.querySelector('#afas-data.htmx-request')")
    page.wait_for_timeout(50)


def _new_declaration(page, equipement: str, type_: str = "previsionnel"):
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Déclarations AFAS").click()
    page.get_by_test_id("afas-equipements").get_by_role("link", name=equipement).click()
    page.select_option("#new-type", type_)
    page.select_option("#new-annee", str(YEAR))
    page.get_by_test_id("afas-create").click()
    page.wait_for_url(re.compile(r".*/afas/declarations/\d+$"))


def _saved_at_now(status: str) -> bool:
    """« Brouillon enregistré à 14 h 32 » with the Paris time of now (or of the minute before)."""
    now = datetime.now(PARIS)
    return any(f"Brouillon enregistré à {t.hour} h {t.minute:02d}" in status
               for t in (now, now - timedelta(minutes=1)))


def test_nothing_typed_is_lost_while_previews_return(new_page):
    page = new_page()
    sign_in(page, "gestionnaire@amiens.example")
    _new_declaration(page, EAJE)
    did = re.search(r"/declarations/(\d+)", page.url).group(1)

    # The EAJE label of heures_realisees, in the form and in the live messages.
    assert text(page.locator("label[for='f-heures_realisees']")).startswith("Heures réalisées")
    assert "actes" not in text(page.locator("label[for='f-heures_realisees']"))
    realisees = page.get_by_test_id("field-heures_realisees")
    realisees.fill("")
    realisees.press_sequentially("abc", delay=20)
    page.get_by_test_id("controle-SAISIE-INVALIDE").wait_for()
    assert "Heures réalisées :" in text(page.get_by_test_id("controle-SAISIE-INVALIDE"))
    assert "(actes)" not in text(page.locator("#afas-live"))

    # 80 000 h réalisées, 88 000 facturées: the 107 % alert asks for a justification.
    realisees.fill("80000")
    page.get_by_test_id("field-heures_facturees").fill("88000")
    page.get_by_test_id("justification-TAUX-FACTURATION-107").wait_for()
    _wait_live(page)

    # Previews keep coming back while the person types: a figure changes every 400 ms elsewhere
    # (the preview waits for 300 ms without input).
    page.evaluate("""() => {
        window.__previews = 0;
        document.body.addEventListener('htmx:afterRequest', (e) => { if (e.detail.successful) window.__previews += 1; });
        const f = document.getElementById('f-enfants_inscrits');
        let n = 0;
        window.__ticker = setInterval(() => {
            n += 1; f.value = String(85 + (n % 2));
            f.dispatchEvent(new Event('input', {bubbles: true}));
        }, 400);
    }""")
    boxes = page.locator("#afas-live textarea[name^='justification_']")
    codes = [b.get_attribute("name")[len("justification_"):] for b in boxes.all()]
    assert codes
    typed = {}
    for code in codes:
        box = page.get_by_test_id(f"justification-{code}")
        box.click()
        box.press_sequentially(PHRASE, delay=20)
        typed[code] = PHRASE
        assert box.input_value() == PHRASE, code
    # A figure typed at the same pace while previews return keeps every digit.
    participations = page.get_by_test_id("field-participations_familiales")
    participations.fill("")
    participations.press_sequentially("118250,5", delay=20)
    previews = page.evaluate("() => { clearInterval(window.__ticker); return window.__previews; }")
    assert previews >= 5 * len(codes), previews   # the previews did come back during the typing
    _wait_live(page)
    assert participations.input_value() == "118250,5"
    for code in codes:
        assert page.get_by_test_id(f"justification-{code}").input_value() == PHRASE

    # The draft saves itself, in Paris time.
    status = page.get_by_test_id("afas-autosave")
    page.wait_for_function("() => /Brouillon enregistré à/.test("
                           "document.querySelector('[data-testid=afas-autosave]').textContent)")
    page.wait_for_function("() => !document.querySelector('#afas-form[data-dirty]')")
    assert _saved_at_now(text(status)), text(status)

    # Leaving with unsaved edits asks first.
    dialogs = []

    def on_dialog(dialog):
        dialogs.append(dialog.type)
        dialog.dismiss()
    page.on("dialog", on_dialog)
    page.get_by_test_id("field-enfants_aeeh").fill("3")
    page.locator(".fr-breadcrumb a", has_text="Déclarations AFAS").click(no_wait_after=True)
    page.wait_for_timeout(300)
    assert dialogs == ["beforeunload"]
    assert page.url.endswith(f"/afas/declarations/{did}")
    page.wait_for_function("() => !document.querySelector('#afas-form[data-dirty]')")

    # Reloading shows what was typed (saved by the autosave, no question asked).
    page.reload()
    assert dialogs == ["beforeunload"]
    for code in codes:
        assert page.get_by_test_id(f"justification-{code}").input_value() == PHRASE
    assert page.get_by_test_id("field-participations_familiales").input_value() == "118250,5"
    assert page.get_by_test_id("field-enfants_aeeh").input_value() == "3"

    # Transmitting asks first, with a summary and the estimated amount.
    _wait_live(page)
    page.wait_for_function("() => !document.querySelector('#afas-form[data-dirty]')")
    droit = text(page.get_by_test_id("afas-droit-montant"))
    page.get_by_test_id("afas-transmit").click()
    modal = page.get_by_test_id("confirm-modal")
    modal.wait_for(state="visible")
    assert "Transmettre" in text(modal) and droit in text(modal), (droit, text(modal))
    page.wait_for_function("() => getComputedStyle(document.getElementById('confirm-modal')).opacity === '1'")
    check_a11y(page)
    page.screenshot(path="/tmp/typing-confirm.png")
    modal.get_by_role("button", name="Annuler").click()
    modal.wait_for(state="hidden")
    expect(page.get_by_test_id("afas-status").first).to_have_attribute("data-status", "brouillon")
    page.get_by_test_id("afas-transmit").click()
    confirm_modal(page)
    assert text(page.locator("main .fr-alert").first).startswith("Déclaration transmise (version 1")

    # The transmitted text, the PDF receipt and the agent's review have every character.
    for code in codes:
        assert f"Justification : {PHRASE}" in text(page.get_by_test_id(f"controle-{code}"))
    with page.expect_download() as download:
        page.get_by_test_id("afas-receipt").first.click()
    with open(download.value.path(), "rb") as pdf:
        receipt = _squash(pdf_shown_strings(pdf.read()))
    assert PHRASE in receipt
    agent = new_page()
    sign_in(agent, "agent.caf@caf80.example")
    agent.goto(f"/afas/instruction/{did}")
    for code in codes:
        assert text(agent.get_by_test_id(f"justification-{code}")) == f"Justification du partenaire : {PHRASE}"


def test_totals_and_cross_field_checks_as_one_types(new_page):
    page = new_page()
    sign_in(page, "gestionnaire@amiens.example")
    _new_declaration(page, RPE)
    # Totals computed as one types; a blocking cross-field check marks its field.
    charges = page.get_by_test_id("afas-somme-total_charges")
    before = charges.get_attribute("data-value")
    c60 = page.get_by_test_id("field-c60")
    c60.fill("")
    c60.press_sequentially("40000", delay=20)
    page.wait_for_function("(v) => document.querySelector('[data-testid=afas-somme-total_charges]')"
                           ".dataset.value !== v", arg=before)
    expected = sum(float(page.get_by_test_id(f"field-c6{i}").input_value().replace(",", ".") or 0)
                   for i in range(9))
    assert float(charges.get_attribute("data-value")) == pytest.approx(expected)
    page.get_by_test_id("controle-TOTAL-CHARGES").wait_for()
    total = page.get_by_test_id("field-total_charges")
    page.wait_for_function("() => document.getElementById('f-total_charges').getAttribute('aria-invalid') === 'true'")
    assert "diffère de la somme" in text(page.locator("#f-total_charges-error"))
    assert "fr-input-group--error" in page.locator("#f-total_charges").locator("xpath=..").get_attribute("class")
    total.scroll_into_view_if_needed()
    check_a11y(page)
    screenshot(page, "afas-saisie-totaux", element=page.locator("#groupe-charges"))
    page.screenshot(path="/tmp/typing-totals.png", full_page=False)
    # The field's state must be right as soon as the answer is merged, not only after htmx's
    # settle: a long settle delay makes a stale read visible (it failed once in CI).
    page.evaluate("htmx.config.defaultSettleDelay = 3000")
    page.get_by_test_id("afas-report-total_charges").click()
    assert float(total.input_value().replace("\u202f", "").replace(" ", "").replace(",", ".")) == pytest.approx(expected)
    page.get_by_test_id("controle-TOTAL-CHARGES").wait_for(state="detached")
    assert total.get_attribute("aria-invalid") is None
    assert "fr-input-group--error" not in page.locator("#f-total_charges").locator("xpath=..").get_attribute("class")
    page.evaluate("htmx.config.defaultSettleDelay = 20")

    # The controls panel stays in sight while scrolling down the form (sticky on a desktop).
    page.get_by_test_id("field-c68").scroll_into_view_if_needed()
    box = page.locator("#afas-side").bounding_box()
    assert 0 <= box["y"] < 40 and box["y"] + box["height"] <= 900, box
    page.get_by_test_id("field-p78").scroll_into_view_if_needed()
    transmit = page.get_by_test_id("afas-transmit").bounding_box()
    assert transmit["y"] >= 0 and transmit["y"] + transmit["height"] <= 900, transmit


def test_controls_summary_bar_on_a_phone(new_page):
    page = new_page(width=375, height=812)
    sign_in(page, "gestionnaire@amiens.example")
    page.goto("/afas/")
    page.get_by_test_id("afas-equipements").get_by_role("link", name=ALSH).click()
    page.select_option("#new-type", "previsionnel")
    page.select_option("#new-annee", str(YEAR))
    page.get_by_test_id("afas-create").click()
    page.wait_for_url(re.compile(r".*/afas/declarations/\d+$"))
    # The ALSH keeps its own label (an acte is an hour of a child's presence).
    assert "actes" in text(page.locator("label[for='f-heures_realisees']"))

    bar = page.get_by_test_id("afas-live-bar")
    page.get_by_test_id("field-capacite").fill("")
    page.get_by_test_id("field-capacite").press_sequentially("1", delay=20)
    page.get_by_test_id("controle-CAPACITE-HEURES").wait_for(state="attached")
    _wait_live(page)
    # The bar stays at the bottom of the screen and sums up the checks.
    assert bar.is_visible()
    box = bar.bounding_box()
    assert box["y"] + box["height"] <= 812 + 1 and box["y"] > 600, box
    # CAPACITE-HEURES at least (the Wednesday caps of the plan mercredi may block too)
    assert re.search(r"\b[1-9]\d* bloquants?\b", text(bar)), text(bar)
    expect(page.locator("#f-heures_realisees")).to_have_attribute("aria-invalid", "true")
    assert "capacité théorique" in text(page.locator("#f-heures_realisees-error"))
    live = page.get_by_test_id("afas-live")
    assert not live.is_visible() or live.bounding_box()["y"] > 812
    bar.click()
    assert bar.get_attribute("aria-expanded") == "true"
    page.get_by_test_id("controle-CAPACITE-HEURES").wait_for(state="visible")
    panel = live.bounding_box()
    assert panel["y"] < 812 and panel["y"] + 10 > 0, panel
    check_a11y(page)
    page.screenshot(path="/tmp/typing-mobile.png")
    screenshot(page, "afas-saisie-mobile")
    page.get_by_test_id("afas-live-close").click()
    assert bar.get_attribute("aria-expanded") == "false"


def test_the_form_works_without_javascript(new_page):
    """Progressive enhancement: no script, no modal, no bar; the buttons post the form and the
    server shows the sums and the checks at their fields."""
    page = new_page(java_script_enabled=False)
    sign_in(page, "gestionnaire@amiens.example")
    page.goto("/afas/")
    page.get_by_test_id("afas-equipements").get_by_role("link", name="LAEP La Passerelle").click()
    page.locator("[data-testid='afas-equipement-declarations'] a", has_text="Actualisé").first.click()
    assert not page.get_by_test_id("afas-live-bar").is_visible()
    assert not page.get_by_test_id("afas-report-total_charges").is_visible()
    for i in range(9):   # the draft is empty: every line, and a total that does not add up
        page.get_by_test_id(f"field-c6{i}").fill("12")
    page.get_by_test_id("field-total_charges").fill("1")
    page.get_by_test_id("afas-save").click()
    assert "Brouillon enregistré" in text(page.locator("main .fr-alert").first)
    assert page.get_by_test_id("field-c60").input_value() == "12"
    assert "diffère de la somme" in text(page.locator("#f-total_charges-error"))
    expect(page.get_by_test_id("field-total_charges")).to_have_attribute("aria-invalid", "true")
    assert text(page.get_by_test_id("afas-somme-total_charges")) == "Somme des comptes 60 à 68 saisis : 108,00 €"
