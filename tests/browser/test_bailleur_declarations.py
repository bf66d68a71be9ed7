"""Espace bailleur in a real browser: the private landlord (demo account, no EDI software) signals
an unpaid rent by web form, typing at human speed; a too small debt is refused at its field by
rule R824-1; the summary shows what will be sent; sending gives the signed PDF receipt; the
social worker of the territory then sees the item in the « impayé de loyer » queue, and the Caf
agent sees the tenancy's history with its channel; once the worker agrees a plan and the agent
keeps the aid, the landlord reads both on its declaration (« Suivi de votre signalement »)."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from portal.dates import add_months
from portal.dates import today as paris_today
from tests.support.browser import assert_fits_width, assert_page_basics, screenshot, sign_in, text

pytestmark = pytest.mark.browser

PRIVATE = "proprietaire@dupuis.example"
CODE = "BL080005"
DELAY = 40  # ms between keys: a person typing


def _tenant() -> dict:
    """The private landlord's second Somme tenant of the demo data (the first one already has a
    demo declaration): the demo extract is the same for a given day."""
    from cdap.demo import demo_records
    found = sorted((r["numero"], r["nom"], lg) for r in demo_records() for lg in r["logements"]
                   if lg["code_bailleur"] == CODE and lg["date_sortie"] is None and r["numero"].startswith("80"))
    numero, nom, lg = found[1]
    return {"numero": numero, "nom": nom, "loyer": lg["loyer_cents"], "charges": lg["charges_cents"]}


def _type(page, field: str, value: str) -> None:
    page.locator(f"#champ-{field}").press_sequentially(value, delay=DELAY)


def _type_date(page, field: str, day: date) -> None:
    # <input type="date"> in a French browser: day, month, year, typed as digits
    page.locator(f"#champ-{field}").press_sequentially(day.strftime("%d%m%Y"), delay=DELAY)


def _euros(cents: int) -> str:
    return f"{cents // 100},{cents % 100:02d}"


def test_private_landlord_signals_an_unpaid_rent_and_the_social_worker_sees_it(new_page, tmp_path):
    t = _tenant()
    today = paris_today()
    start = add_months(today.replace(day=1), -3)
    page = new_page()
    sign_in(page, PRIVATE)
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Mes déclarations").click()
    assert text(page.locator("h1")) == "Mes déclarations"
    assert page.get_by_test_id("declarations-table").count() == 1  # the demo's draft and sent report
    assert_page_basics(page)
    page.get_by_role("link", name="Signaler un impayé de loyer").click()
    assert_page_basics(page)

    _type(page, "nom", t["nom"])
    _type(page, "numero_allocataire", t["numero"])
    _type(page, "adresse", "12 rue des Jacobins, 80000 Amiens")
    _type(page, "loyer", _euros(t["loyer"]))
    _type(page, "charges", _euros(t["charges"]))
    _type(page, "dette", "100")  # far below two months of rent: not an impayé (R824-1)
    _type_date(page, "periode_debut", start)
    _type_date(page, "periode_fin", today.replace(day=1) - timedelta(days=1))
    _type_date(page, "date_constitution", add_months(start, 2))
    _type(page, "nb_relances", "2")
    _type_date(page, "derniere_relance", today - timedelta(days=5))
    page.get_by_text("Oui", exact=True).click()
    page.get_by_test_id("declaration-verify").click()

    # The rule speaks at the debt's field, the form keeps what was typed
    expect(page.get_by_test_id("declaration-errors")).to_be_visible()
    dette = page.locator("#champ-dette")
    assert dette.get_attribute("aria-invalid") == "true"
    assert "R824-1" in text(page.locator(f"#{dette.get_attribute('aria-describedby')}"))
    assert page.locator("#champ-nom").input_value() == t["nom"]
    assert_page_basics(page)
    screenshot(page, "bailleur-declaration-erreur", full_page=True)
    dette.fill("")
    debt = 3 * (t["loyer"] + t["charges"])
    _type(page, "dette", _euros(debt))
    page.get_by_test_id("declaration-verify").click()

    page.wait_for_url("**/recapitulatif")
    summary = text(page.get_by_test_id("declaration-summary"))
    assert t["nom"] in summary and t["numero"] in summary and "Oui" in summary
    assert_page_basics(page)
    screenshot(page, "bailleur-declaration-recapitulatif", full_page=True)
    page.get_by_test_id("declaration-send").click()

    assert text(page.get_by_test_id("declaration-status")).startswith("Prise en compte")
    with page.expect_download() as info:
        page.get_by_test_id("receipt-download").click()
    pdf = tmp_path / "accuse.pdf"
    info.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF") and info.value.suggested_filename.startswith("accuse-WEB-")
    assert_page_basics(page)
    screenshot(page, "bailleur-declaration-envoyee")
    declaration_url = page.url
    page.goto("/bailleur/declarations")
    screenshot(page, "bailleur-declarations")

    # The social worker of the Somme finds it in the unpaid-rent queue
    worker = new_page()
    sign_in(worker, "ts@somme.example")
    worker.goto("/cdap/impayes")
    row = worker.locator(f"[data-testid^='impaye-item-'][data-numero='{t['numero']}']").first
    assert CODE in text(row) and t["nom"].upper() in text(row).upper()

    # Received, nothing decided yet; then the worker agrees a plan, the Caf agent keeps the aid:
    # the private landlord reads both on its declaration, never the worker's notes nor the reason.
    suivi = page.get_by_test_id("suivi-signalement")
    page.goto(declaration_url)
    assert "Aucun plan d'apurement" in text(suivi) and "décision de la Caf à venir" in text(suivi)
    row.locator("[data-testid^='impaye-situation-']").click()
    worker.get_by_role("button", name="Prendre la situation en charge").click()
    day = today.strftime("%d/%m/%Y")
    worker.select_option("#action-type", "plan_apurement")
    worker.select_option("#action-statut", "accordee")
    for field, value in (("on", day), ("montant", "75"), ("duree", "12"), ("debut", day)):
        worker.locator(f"#action-{field}").press_sequentially(value, delay=DELAY)
    worker.get_by_text("Plan : accord du bailleur reçu", exact=True).click()
    worker.get_by_test_id("situation-action-submit").click()
    assert "Plan d'apurement convenu" in text(worker.get_by_test_id("situation-plan"))
    decider = new_page()
    sign_in(decider, "agent.caf@caf80.example")
    decider.goto(worker.url)
    decider.select_option("#maintien-decision", "maintien")
    decider.locator("#maintien-motif").press_sequentially("Motif réservé à la Caf", delay=DELAY)
    decider.get_by_test_id("situation-maintien-submit").click()
    assert "Aide maintenue" in text(decider.get_by_test_id("situation-maintien"))
    page.reload()
    followed = text(suivi)
    assert "Plan d'apurement convenu" in followed and "75,00" in followed and "12 mois" in followed
    assert f"Aide maintenue, décision du {day}" in followed and "Motif réservé" not in text(page.locator("main"))
    assert_page_basics(page)
    screenshot(page, "bailleur-declaration-suivi", full_page=True)

    # The Caf agent sees the declaration and the tenancy's history, channel « formulaire »
    agent = new_page()
    sign_in(agent, "agent.caf@caf80.example")
    agent.goto("/caf/declarations-bailleurs")
    agent.get_by_test_id("caf-declaration-row").filter(has_text=t["numero"]).get_by_role("link").click()
    assert agent.locator("[data-testid='history-row'][data-canal='formulaire']").count() >= 1
    assert_page_basics(agent)


def test_declaration_pages_fit_a_phone(new_page):
    page = new_page(width=375, height=812)
    sign_in(page, PRIVATE)
    for path in ("/bailleur/declarations", "/bailleur/declarations/nouvelle/impaye",
                 "/bailleur/declarations/nouvelle/mouvement", "/bailleur/declarations/nouvelle/loyer"):
        page.goto(path)
        assert_fits_width(page)
