"""CDAP journey in a real browser: a social worker finds an impayé in the queue, consults the
file with a motif and sees exactly what the travailleur social profile allows; the CCAPEX
(prévention des expulsions) sees fewer sections; the Caf agent exports that allocataire's
consultation journal (the answer to a GDPR access request)."""
import csv
import io
import re

import pytest
from playwright.sync_api import expect

from cdap.policy import SECTIONS, categories
from portal.formatting import MOIS_ABREGES
from tests.support.browser import assert_fits_width, assert_page_basics, check_a11y, screenshot, sign_in, text

pytestmark = pytest.mark.browser

NUMERO, NOM = "8000001", "Lefèvre"   # the demo showcase: tenant of Picardie Habitat with an impayé


def _menu(page, label):
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name=label).click()


def _visible_sections(page) -> set[str]:
    return {s.get_attribute("data-testid").removeprefix("section-")
            for s in page.locator("[data-testid^='section-']").all()}


def _consult_from_queue(page, motif: str, comment: str):
    _menu(page, "Impayés de loyer")
    expect(page.locator("h1")).to_have_text("File des impayés de loyer")
    # The queue counts its rows, names landlords, and finds a file by its number.
    assert int(page.get_by_test_id("liste-total").get_attribute("data-total")) >= 1
    page.get_by_test_id("liste-recherche").press_sequentially(NUMERO, delay=40)
    page.get_by_role("button", name="Rechercher").click()
    assert page.get_by_test_id("liste-total").get_attribute("data-total") == str(
        page.locator("[data-testid^='impaye-item-']").count())
    assert {r.get_attribute("data-numero") for r in page.locator("[data-testid^='impaye-item-']").all()} == {NUMERO}
    row = page.locator(f"[data-testid^='impaye-item-'][data-numero='{NUMERO}']").first
    assert "Picardie Habitat" in text(row) and "code BL08" in text(row)
    assert NOM.upper() in text(row).upper() and "€" in text(row)
    assert_page_basics(page)
    row.get_by_role("link", name="Consulter le dossier").click()
    assert page.locator("#numero").input_value() == NUMERO
    assert page.locator("#nom").input_value().upper() == NOM.upper()
    assert_page_basics(page)
    # No motif: no data shown, the error is tied to the motif field.
    page.get_by_test_id("cdap-submit").click()
    assert page.get_by_test_id("cdap-dossier").count() == 0
    motif_field = page.locator("#motif")
    assert motif_field.get_attribute("aria-invalid") == "true"
    assert text(page.locator(f"#{motif_field.get_attribute('aria-describedby')}"))
    check_a11y(page)
    page.select_option("#motif", motif)
    page.fill("#commentaire", comment)
    page.get_by_test_id("cdap-submit").click()
    page.get_by_test_id("cdap-dossier").wait_for()


def test_social_worker_consults_and_the_agent_exports_the_journal(new_page):
    worker = new_page()
    sign_in(worker, "ts@somme.example")
    _consult_from_queue(worker, "prevention_expulsions", "Signalement d'impayé reçu du bailleur")
    shown = _visible_sections(worker)
    assert shown == set(categories("travailleur_social"))
    assert NOM.upper() in text(worker.get_by_test_id("section-identite")).upper()
    # Tabs, not one long page: one section shows at a time, with a count beside its name. DSFR's
    # tabs script hides the other panels once it has started: the height is read after it has
    # (read at once, it was sometimes the whole 4,977 px page of every panel).
    try:
        worker.wait_for_function("() => document.documentElement.scrollHeight < 2500", timeout=10_000)
    finally:
        height = worker.evaluate("() => document.documentElement.scrollHeight")
        assert height < 2500, height
    assert worker.get_by_test_id("section-impayes").is_hidden()
    impayes_tab = worker.get_by_test_id("onglet-impayes")
    assert re.search(r"Impayés de loyer\s*\d+", impayes_tab.inner_text())
    impayes_tab.click()
    worker.get_by_test_id("section-impayes").wait_for(state="visible")  # DSFR shows the panel
    assert text(worker.get_by_test_id("section-impayes"))
    assert_page_basics(worker)
    # The payments timeline: dots, newest month first, no DSFR numbers in front of its items.
    worker.get_by_test_id("onglet-paiements").click()
    worker.get_by_test_id("section-paiements").wait_for(state="visible")
    item = worker.locator("#section-paiements .cdap-timeline__item").first
    assert item.evaluate("e => getComputedStyle(e, '::marker').content") in ("none", "normal", "")
    assert not item.evaluate("e => /^\\d/.test(e.innerText.trim())")
    # The QF: the current one called out, the table newest first.
    worker.get_by_test_id("onglet-quotient_familial").click()
    worker.get_by_test_id("qf-actuel").wait_for(state="visible")
    assert "Quotient familial actuel" in text(worker.get_by_test_id("qf-actuel"))
    expect(worker.locator("[data-testid=qf-table] tbody tr").first).to_have_attribute("data-testid", "qf-ligne-actuelle")
    worker.get_by_test_id("onglet-identite").click()
    worker.get_by_test_id("section-identite").wait_for(state="visible")
    screenshot(worker, "cdap-dossier")

    # The CCAPEX profile sees fewer sections of the same file: absent from the page, not hidden.
    ccapex = new_page()
    sign_in(ccapex, "ccapex@somme.example")
    _consult_from_queue(ccapex, "prevention_expulsions", "Commission de prévention")
    allowed = set(categories("prevention_expulsions"))
    assert _visible_sections(ccapex) == allowed
    # Unpaid rent first for the CCAPEX: its first tab, open on arrival.
    tabs = [t.get_attribute("data-testid") for t in ccapex.locator("[role=tab]").all()]
    assert tabs[0] == "onglet-impayes"
    ccapex.get_by_test_id("section-impayes").wait_for(state="visible")
    screenshot(ccapex, "cdap-dossier-ccapex")
    html = ccapex.content()
    for section in set(SECTIONS) - allowed:
        assert f'id="section-{section}"' not in html
    assert_page_basics(ccapex)

    # The Caf agent answers the access request: who consulted the file, when and why.
    agent = new_page()
    sign_in(agent, "agent.caf@caf80.example")
    _menu(agent, "Journal d'un allocataire")
    agent.fill("#numero", NUMERO)
    agent.get_by_test_id("gdpr-submit").click()
    rows = [text(r) for r in agent.get_by_test_id("gdpr-row").all()]
    assert any("Claire Petit" in r and "Prévention des expulsions" in r for r in rows), rows
    assert any("Marc Garnier" in r for r in rows), rows
    assert_page_basics(agent)
    screenshot(agent, "cdap-journal-allocataire")
    with agent.expect_download() as download:
        agent.get_by_test_id("gdpr-export-csv").click()
    with open(download.value.path(), encoding="utf-8-sig") as handle:
        exported = list(csv.DictReader(io.StringIO(handle.read()), delimiter=";"))
    people = {r["Personne"] for r in exported}
    assert {"Claire Petit", "Marc Garnier"} <= people
    assert any(r["Commentaire"] == "Commission de prévention" for r in exported)
    with agent.expect_download() as download:
        agent.get_by_test_id("gdpr-export-pdf").click()
    with open(download.value.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"


def test_cdap_pages_fit_a_phone(new_page):
    page = new_page(width=375, height=812)
    sign_in(page, "ts@somme.example")
    # The phone menu repeats the header's links: the signed-in user's long line (« Claire Petit —
    # Conseil départemental de la Somme ») wraps instead of running off the screen.
    page.get_by_role("button", name="Menu").click()
    links = page.locator(".fr-header__menu-links .fr-btn")
    expect(links.first).to_be_visible()
    assert links.evaluate_all("els => els.filter(e => e.scrollWidth > e.clientWidth).map(e => e.textContent.trim())") == []
    page.goto("/cdap/impayes")
    assert_fits_width(page)
    page.goto("/cdap/consultation")
    assert_fits_width(page)
    # The file's tabs scroll within their row on a phone, the page does not.
    page.fill("#numero", NUMERO)
    page.fill("#nom", NOM)
    page.select_option("#motif", "accompagnement_social")
    page.get_by_test_id("cdap-submit").click()
    page.get_by_test_id("cdap-onglets").wait_for()
    assert_fits_width(page)
    page.get_by_test_id("onglet-quotient_familial").click()
    page.wait_for_function("() => { const c = window.Chart && Chart.getChart(document.getElementById('qf-chart'));"
                           " return c && c.width > 0; }")
    assert_fits_width(page)
    # The months under the chart stay level and short (« déc. 2025 »): turned full names had the
    # first one cut at the chart's left edge.
    rotation, labels = page.evaluate("() => { const x = Chart.getChart(document.getElementById('qf-chart')).scales.x;"
                                     " return [x.labelRotation, x.ticks.map(t => t.label)]; }")
    assert rotation == 0
    assert labels and all(label.split(" ")[0] in MOIS_ABREGES for label in labels)
    tooltip = page.evaluate("() => Chart.getChart(document.getElementById('qf-chart'))"
                            ".options.plugins.tooltip.callbacks.label({formattedValue: '1 234'})")
    assert tooltip == "Quotient familial\u00a0: 1 234\u00a0€"
