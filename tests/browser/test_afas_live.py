"""AFAS in a real browser: live points de contrôle and droit estimate while typing (htmx, strict
CSP), justification, transmission, receipt; accessibility of the form."""
import re

import pytest

from tests.support.browser import check_a11y, confirm_modal, screenshot, sign_in, text

pytestmark = pytest.mark.browser


# The partner's EAJE réel journey (live checks, justification, transmission, receipt, then the
# agent's correction request, the partner's correction and the validation with its régularisation)
# is tests/browser/test_afas.py: both worked on the same demo declaration (réel N-1 of the EAJE)
# on the shared live server, so only one of them can create and transmit it.


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
    said = confirm_modal(page, "Relais petite enfance Amiens Nord")
    assert "Droit validé : " + text(page.get_by_test_id("afas-droit-montant")) in said, said
    assert "Déclaration validée." in page.inner_text("main")
    regularisation = page.get_by_test_id("afas-regularisation")
    assert "acomptes versés" in regularisation.inner_text()
    page.get_by_test_id("afas-mark-paid").click()
    said = confirm_modal(page, "le paiement est enregistré comme effectué")
    assert re.search(r"(Régularisation|Droit validé) : -?[\d ]+,\d\d €", said), said
    assert "Déclaration marquée payée." in page.inner_text("main")
    screenshot(page, "afas-instruction")
    page.screenshot(path="/tmp/afas-review.png", full_page=True)
