"""The Caf agent enters a partner's IBAN in a real browser (#21): a typo in the key is refused
with its message, the corrected IBAN is saved, shown masked in the list and in the history; the
partner sees it masked on its payments page."""
import pytest

from tests.support.browser import assert_page_basics, check_a11y, screenshot, sign_in, text

pytestmark = pytest.mark.browser

AMIENS = "Commune d'Amiens"


def test_agent_corrects_a_partner_iban_and_the_partner_sees_it_masked(new_page):
    agent = new_page()
    sign_in(agent, "agent.caf@caf80.example")
    agent.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Paiements AFAS").click()
    agent.get_by_test_id("afas-coordonnees-lien").click()
    row = agent.get_by_test_id("afas-coordonnees-list").locator("tr", has_text=AMIENS)
    assert "••••" in text(row)
    check_a11y(agent)
    row.get_by_role("link", name="Modifier").click()
    iban = agent.get_by_label("IBAN")
    assert iban.input_value().startswith("FR")            # shown whole here only
    iban.fill("")
    iban.press_sequentially("fr14 2004 1010 0505 0001 3m02 607", delay=35)   # last digit wrong
    agent.get_by_role("button", name="Enregistrer les coordonnées").click()
    assert "La clé de contrôle ne correspond pas" in text(agent.locator("#iban-error"))
    assert "IBAN : La clé de contrôle" in text(agent.get_by_test_id("error-summary"))
    assert_page_basics(agent)
    check_a11y(agent)
    screenshot(agent, "afas-coordonnees-erreur", full_page=True)
    iban = agent.get_by_label("IBAN")
    iban.fill("")
    iban.press_sequentially("FR14 2004 1010 0505 0001 3M02 606", delay=35)
    bic = agent.get_by_label("BIC (facultatif)")
    bic.fill("")
    bic.press_sequentially("psstfrpplil", delay=35)
    agent.get_by_role("button", name="Enregistrer les coordonnées").click()
    assert "IBAN FR14 •••• 2606" in text(agent.locator("main .fr-alert").first)
    row = agent.get_by_test_id("afas-coordonnees-list").locator("tr", has_text=AMIENS)
    assert "FR14 •••• 2606" in text(row) and "PSSTFRPPLIL" in text(row)
    assert "2004 1010" not in text(agent.locator("main"))
    row.get_by_role("link", name="Modifier").click()
    assert "→ FR14 •••• 2606" in text(agent.get_by_test_id("afas-coordonnees-historique"))
    screenshot(agent, "afas-coordonnees-formulaire", full_page=True)

    partner = new_page()
    sign_in(partner, "gestionnaire@amiens.example")
    partner.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Paiements AFAS").click()
    mine = text(partner.get_by_test_id("afas-coordonnees-partenaire"))
    assert "FR14 •••• 2606" in mine and "2004 1010" not in text(partner.locator("main"))
    check_a11y(partner)
