"""The unpaid-rent follow-up in a real browser (#20): a social worker takes the case of 8000002
(Picardie Habitat), records the contact, the diagnostic, the plan and the FSL referral; a Caf
agent decides the maintien de l'aide; the landlord sees the plan and the decision, never the
notes nor the budget; the worker closes the case with its outcome; the CCAPEX records a
procedure stage on a demo case oriented to it; the team lead sees the dashboard."""
import pytest
from playwright.sync_api import expect

from portal.dates import today as paris_today
from tests.support.browser import assert_fits_width, assert_page_basics, screenshot, sign_in, text

pytestmark = pytest.mark.browser

NUMERO = "8000002"
NOTE = "Madame rappellera lundi matin"
DELAY = 60  # ms between keystrokes: a person typing


def _menu(page, label):
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name=label).click()


def _type(page, selector, value):
    page.locator(selector).press_sequentially(value, delay=DELAY)


def _check(page, label):
    """Tick a DSFR checkbox by its label, as a person clicks it (the label covers the box)."""
    if not page.get_by_label(label).is_checked():
        page.get_by_text(label, exact=True).click()
    assert page.get_by_label(label).is_checked()


def _open_case(page, numero=NUMERO, phone=False):
    if phone:  # at 375 px the menu folds behind its button: through the home page's callout
        page.get_by_role("link", name="Voir la file des impayés").click()
    else:
        _menu(page, "Impayés de loyer")
    row = page.locator(f"[data-testid^='impaye-item-'][data-numero='{numero}']").first
    row.locator("[data-testid^='impaye-situation-']").click()
    page.get_by_test_id("situation").wait_for()


def test_case_from_taking_to_closing_with_the_caf_decision_and_the_landlord_view(new_page):
    today = paris_today().strftime("%d/%m/%Y")
    worker = new_page()
    sign_in(worker, "ts@somme.example")
    _open_case(worker)
    assert_page_basics(worker)
    worker.get_by_role("button", name="Prendre la situation en charge").click()
    assert "Claire Petit" in text(worker.get_by_test_id("situation-referent"))

    _type(worker, "#contact-on", today)
    worker.select_option("#contact-canal", "telephone")
    worker.select_option("#contact-resultat", "joint")
    _type(worker, "#contact-note", NOTE)
    worker.get_by_test_id("situation-contact-submit").click()
    assert NOTE in text(worker.get_by_test_id("situation-contacts"))

    worker.select_option("#mode-mode", "accompagnement_social")
    worker.get_by_test_id("situation-mode-submit").click()

    # A wrong amount is refused at its field, then corrected.
    _type(worker, "#diagnostic-ressources", "mille")
    _type(worker, "#diagnostic-charges", "980")
    _type(worker, "#diagnostic-personnes", "3")
    _check(worker, "Éligibilité au FSL")
    worker.select_option("#diagnostic-capacite", "partielle")
    worker.get_by_test_id("situation-diagnostic-submit").click()
    expect(worker.locator("#diagnostic-ressources")).to_have_attribute("aria-invalid", "true")
    assert_page_basics(worker)
    worker.locator("#diagnostic-ressources").fill("")
    _type(worker, "#diagnostic-ressources", "1450")
    _check(worker, "Éligibilité au FSL")
    worker.get_by_test_id("situation-diagnostic-submit").click()
    assert "470,00 € ÷ 3 personnes ÷ 30 jours" in text(worker.get_by_test_id("situation-rav-formule"))

    worker.select_option("#action-type", "plan_apurement")
    worker.select_option("#action-statut", "accordee")
    _type(worker, "#action-on", today)
    _type(worker, "#action-montant", "60")
    _type(worker, "#action-duree", "10")
    _type(worker, "#action-debut", today)
    _check(worker, "Plan : accord du bailleur reçu")
    worker.get_by_test_id("situation-action-submit").click()
    worker.select_option("#action-type", "fsl")
    _type(worker, "#action-on", today)
    _type(worker, "#action-detail", "FSL de la Somme")
    worker.get_by_test_id("situation-action-submit").click()
    actions = text(worker.get_by_test_id("situation-actions"))
    assert "Plan d'apurement" in actions and "Saisine du FSL" in actions
    assert "Plan d'apurement convenu" in text(worker.get_by_test_id("situation-plan"))
    assert "R824-6" in text(worker.get_by_test_id("situation-echeances"))
    assert_page_basics(worker)
    screenshot(worker, "situation-travailleur-social", full_page=True)
    case_url = worker.url

    agent = new_page()
    sign_in(agent, "agent.caf@caf80.example")
    _open_case(agent)
    agent.select_option("#maintien-decision", "maintien")
    _type(agent, "#maintien-motif", "Plan d'apurement signé par le bailleur")
    agent.get_by_test_id("situation-maintien-submit").click()
    assert "Aide maintenue" in text(agent.get_by_test_id("situation-maintien"))
    assert_page_basics(agent)

    landlord = new_page()
    sign_in(landlord, "operateur@picardie-habitat.example")
    _menu(landlord, "Suivi de mes signalements")
    table = landlord.get_by_test_id("bailleur-signalements")
    rows = text(table)
    assert "Plan d'apurement convenu" in rows and "Aide maintenue" in rows
    html = landlord.content()
    assert NOTE not in html and "Reste à vivre" not in html and "signé par le bailleur" not in html
    assert_page_basics(landlord)
    screenshot(landlord, "situation-bailleur")

    worker.goto(case_url)
    worker.select_option("#cloture-issue", "plan_respecte")
    _type(worker, "#cloture-minutes", "240")
    worker.get_by_test_id("situation-cloture-submit").click()
    assert "Plan respecté" in text(worker.get_by_test_id("situation-issue"))
    _menu(worker, "Agenda des situations")
    assert_page_basics(worker)


def test_ccapex_records_a_stage_and_the_team_lead_sees_the_figures(new_page):
    ccapex = new_page()
    sign_in(ccapex, "ccapex@somme.example")
    _menu(ccapex, "Impayés de loyer")
    ccapex.locator("[data-testid^='impaye-situation-']").first.click()
    ccapex.get_by_test_id("situation").wait_for()
    assert ccapex.locator("#contact-on").count() == 0 and "Reste à vivre" not in ccapex.content()
    ccapex.select_option("#procedure-etape", "assignation")
    _type(ccapex, "#procedure-on", paris_today().strftime("%d/%m/%Y"))
    ccapex.get_by_test_id("situation-procedure-submit").click()
    assert "Assignation" in text(ccapex.get_by_test_id("situation-etapes"))
    assert_page_basics(ccapex)

    lead = new_page()
    sign_in(lead, "responsable@somme.example")
    board = lead.locator("[data-testid='situations-figures']")
    board.wait_for()
    assert int(text(lead.locator("[data-figure='open']"))) >= 1
    assert_page_basics(lead)
    screenshot(lead, "situations-tableau", full_page=True)
    small = new_page(width=375)
    sign_in(small, "ts@somme.example")
    _open_case(small, "8000001", phone=True)
    assert_fits_width(small)
