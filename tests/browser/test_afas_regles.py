"""AFAS rules of #21 in a real browser: the Caf agent sees the convention to renew, records its
successor and uploads the signed PDF; the partner sees it on the équipement page; the crèche's
step-by-step droit shows the bonus inclusion handicap and territoire."""
from datetime import date

import pytest
from playwright.sync_api import expect

from tests.support.browser import assert_page_basics, check_a11y, screenshot, sign_in, text

pytestmark = pytest.mark.browser

LAEP = "LAEP La Passerelle"
EAJE = "Multi-accueil Les Hortillonnages"


def test_caf_renews_a_convention_and_the_partner_sees_it(new_page, tmp_path):
    agent = new_page()
    sign_in(agent, "agent.caf@caf80.example")
    agent.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Conventions AFAS").click()
    alert = agent.get_by_test_id("afas-conventions-a-renouveler")
    assert "COF-LAEP-80-0004" in text(alert)
    assert_page_basics(agent)
    check_a11y(agent)
    agent.get_by_test_id("afas-conventions-list").get_by_role("link", name=LAEP).click()
    expect(agent.locator("h1")).to_have_text(LAEP)
    assert "prend fin le" in text(agent.get_by_test_id("afas-convention-renouveler"))

    year = date.today().year
    form = agent.get_by_test_id("afas-convention-new")
    form.get_by_label("Référence").press_sequentially(f"COF-LAEP-{year + 1}", delay=40)
    form.get_by_label("Début").press_sequentially(f"0101{year + 1}", delay=40)
    form.get_by_label("Fin").press_sequentially(f"3112{year + 4}", delay=40)
    form.get_by_role("button", name="Enregistrer la convention").click()
    assert "déposez son exemplaire signé" in text(agent.locator("main .fr-alert").first)

    pdf = tmp_path / "convention-signee.pdf"
    pdf.write_bytes(b"%PDF-1.4\n% convention signee de test\n%%EOF\n")
    upload = agent.get_by_test_id("afas-convention-upload")
    upload.get_by_label("Date de signature").press_sequentially(date.today().strftime("%d%m%Y"), delay=40)
    upload.get_by_label("Convention signée (PDF, 10 Mo au plus)").set_input_files(str(pdf))
    upload.get_by_role("button", name="Déposer la convention signée").click()
    assert "en vigueur du" in text(agent.locator("main .fr-alert").first)
    row = agent.locator(f"[data-testid='afas-conventions'] tr[data-reference='COF-LAEP-{year + 1}']")
    assert "signée le" in text(row)
    assert agent.get_by_test_id("afas-convention-renouveler").count() == 0   # a signed successor
    check_a11y(agent)
    screenshot(agent, "afas-conventions-caf", full_page=True)

    partner = new_page()
    sign_in(partner, "gestionnaire@amiens.example")
    partner.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Déclarations AFAS").click()
    partner.get_by_test_id("afas-equipements").get_by_role("link", name=LAEP).click()
    assert f"COF-LAEP-{year + 1}" in text(partner.get_by_test_id("afas-conventions"))
    check_a11y(partner)


def test_crèche_droit_shows_the_new_bonuses(new_page):
    page = new_page()
    sign_in(page, "gestionnaire@amiens.example")
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Déclarations AFAS").click()
    page.get_by_test_id("afas-equipements").get_by_role("link", name=EAJE).click()
    assert "10 places créées en QPV" in text(page.get_by_test_id("afas-territoire"))
    page.locator("[data-testid='afas-equipement-declarations'] a", has_text="Réel").first.click()
    page.wait_for_url("**/afas/declarations/*")
    body = text(page.locator("main"))
    assert "Bonus inclusion handicap" in body and "dès le premier enfant" in body
    assert "Bonus territoire" in body and "QPV" in body
    check_a11y(page)
    screenshot(page, "afas-droit-bonus", full_page=True)


LAPSED = "Micro-crèche Les Coquelicots"


def test_without_a_convention_in_force_the_partner_reads_why_and_the_agent_sees_the_status(new_page):
    partner = new_page()
    sign_in(partner, "gestionnaire@amiens.example")
    partner.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Déclarations AFAS").click()
    assert "Sans convention en vigueur" in text(partner.get_by_test_id("afas-equipements"))
    partner.get_by_test_id("afas-equipements").get_by_role("link", name=LAPSED).click()
    notice = partner.get_by_test_id("afas-service-inactif")
    assert "Service AFAS inactif pour « Micro-crèche Les Coquelicots »" in text(notice)
    assert "a pris fin le" in text(notice) and "Contactez votre Caf" in text(notice)
    assert partner.get_by_test_id("afas-new-declaration").count() == 0
    check_a11y(partner)
    screenshot(partner, "afas-service-inactif-partenaire", full_page=True)

    agent = new_page()
    sign_in(agent, "agent.caf@caf80.example")
    agent.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Conventions AFAS").click()
    row = agent.locator("[data-testid='afas-conventions-list'] tr[data-numero='EAJE-80-0007']")
    assert text(row.get_by_test_id("afas-statut-convention")) == "Sans convention en vigueur"
    laep = agent.locator("[data-testid='afas-conventions-list'] tr[data-numero='LAEP-80-0004']")
    assert text(laep.get_by_test_id("afas-statut-convention")) in ("Convention à renouveler", "Convention en vigueur")
    check_a11y(agent)
    screenshot(agent, "afas-conventions-statuts-caf", full_page=True)
