"""The payment hand-off in a real browser (#21): the Caf agent validates a réel whose droit is
below the acomptes paid → the partner gets the indu notice and asks for the offset → the agent
validates this year's actualisé and produces the day's payment order (the acompte minus the
indu) → the payment system's signed return file is uploaded → the partner sees « versé le »."""
from datetime import date

import pytest

from afas.paiement.xml import ReturnResult, build_return
from portal.crypto.pki import caf_signing_material
from portal.crypto.signature import sign_detached
from portal.formatting import accord
from tests.support.browser import assert_page_basics, check_a11y, confirm_modal, screenshot, sign_in, text

pytestmark = pytest.mark.browser

ALSH = "Accueil de loisirs Saint-Leu"


def _validate(agent, title: str) -> None:
    agent.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Instruction AFAS").click()
    row = agent.get_by_test_id("afas-queue-row").filter(has_text=ALSH).filter(has_text=title)
    row.get_by_role("link", name=title).click()
    agent.get_by_test_id("afas-validate").click()
    confirm_modal(agent, "Droit validé")
    assert "validée" in text(agent.locator("main"))


def test_negative_regularisation_indu_offset_order_return_verse(new_page, live_server, tmp_path):
    year = date.today().year
    agent = new_page()
    sign_in(agent, "agent.caf@caf80.example")
    _validate(agent, f"Réel {year - 1}")

    partner = new_page()
    sign_in(partner, "gestionnaire@amiens.example")
    partner.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Paiements AFAS").click()
    notice = partner.locator("[data-testid^='afas-indu-']").filter(has_text=ALSH)
    assert "de trop (indu)" in text(notice) and f"exercice {year - 1}" in text(notice)
    assert_page_basics(partner)
    check_a11y(partner)
    screenshot(partner, "afas-paiement-indu", full_page=True)
    notice.locator("label", has_text="Déduire l'indu de mes prochains acomptes").click()
    notice.get_by_role("button", name="Enregistrer mon choix").click()
    assert "déduit de vos prochains acomptes" in text(partner.locator("main .fr-alert").first)

    _validate(agent, f"Actualisé juin {year}")
    agent.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Paiements AFAS").click()
    agent.get_by_role("button", name="Produire l'ordre de paiement du jour").click()
    assert "produit et signé" in text(agent.locator("main .fr-alert").first)
    lines = agent.get_by_test_id("afas-paiement-lignes").locator("tbody tr")
    row = lines.filter(has_text=ALSH).filter(has_text=f"Actualisé juin {year}")
    assert "Acompte" in text(row) and f"Actualisé juin {year}" in text(row)
    assert row.count() == 1 and "Acompte n° 1" in text(row)      # one catch-up acompte, ordered once
    assert "indu" in text(row)                                    # net of the offset
    references = [lines.nth(i).get_attribute("data-reference") for i in range(lines.count())]
    assert_page_basics(agent)
    check_a11y(agent)
    screenshot(agent, "afas-paiement-ordre", full_page=True)

    # The payment system pays every line and signs its return file.
    xml = build_return(f"RP-{date.today():%Y%m%d}-001",
                       [ReturnResult(ref, "PAYE", date.today(), None) for ref in references])
    material = caf_signing_material({"VAR_DIR": live_server.overrides["PORTAL_VAR_DIR"]})
    (tmp_path / "retour.xml").write_bytes(xml)
    (tmp_path / "retour.xml.p7s").write_bytes(sign_detached(xml, material.key, material.cert))
    agent.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Paiements AFAS").click()
    form = agent.get_by_test_id("afas-paiement-retour")
    form.get_by_label("Fichier retour (.xml)").set_input_files(str(tmp_path / "retour.xml"))
    form.get_by_label("Signature (.p7s)").set_input_files(str(tmp_path / "retour.xml.p7s"))
    form.get_by_role("button", name="Vérifier et appliquer").click()
    assert f"{accord(len(references), 'versée')}, 0 rejetée" in text(agent.locator("main .fr-alert").first)
    check_a11y(agent)
    screenshot(agent, "afas-paiement-agent", full_page=True)

    partner.reload()
    table = partner.locator("table").filter(has_text=f"exercice {year}").filter(has_text=ALSH)
    assert f"Versé le {date.today():%d/%m/%Y}" in text(table)
    assert "Remboursé" not in text(table)
    check_a11y(partner)
    screenshot(partner, "afas-paiement-partenaire", full_page=True)
