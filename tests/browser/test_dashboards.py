"""Dashboards in a real browser: charts drawn (Chart.js, no CSP violation), table alternatives,
accessibility, phone width."""
import pytest
from playwright.sync_api import expect

from tests.support.browser import assert_fits_width, assert_page_basics, screenshot, sign_in

pytestmark = pytest.mark.browser


def _drawn_charts(page) -> list[str]:
    """Ids of the canvases Chart.js has drawn on (a chart instance bound to a sized canvas)."""
    return page.evaluate("""() => [...document.querySelectorAll('canvas[data-chart]')]
        .filter(c => window.Chart && Chart.getChart(c) && c.width > 0 && c.height > 0).map(c => c.id)""")


def test_caf_admin_home_draws_the_charts(new_page):
    page = new_page(height=1400)
    sign_in(page, "admin.caf@caf80.example")
    panel = page.get_by_test_id("tableau-de-bord-caf")
    assert panel.locator("h2").inner_text() == "Tableau de bord de la Caf"
    canvases = page.eval_on_selector_all("canvas[data-chart]", "cs => cs.map(c => c.id)")
    assert "caf-cdap-consultations" in canvases or page.get_by_test_id("vide-caf-cdap-consultations").is_visible()
    assert sorted(_drawn_charts(page)) == sorted(canvases)
    # The text alternative opens with the keyboard and shows the figures.
    for summary in page.locator("details.portal-chart-table summary").all()[:1]:
        summary.focus()
        page.keyboard.press("Enter")
        assert summary.locator("xpath=..").locator("table").is_visible()
    # Each series its own colour, whole numbers on the count axes, Marianne on the axes.
    charts = page.evaluate("""() => [...document.querySelectorAll('canvas[data-chart]')].map(c => {
        const chart = Chart.getChart(c);
        const spec = JSON.parse(document.getElementById(c.dataset.chart).textContent);
        return {id: c.id, unit: spec.unit, colors: chart.data.datasets.map(d => d.backgroundColor),
                ticks: chart.scales.y.ticks.map(t => t.value), font: chart.options.font.family};
    })""")
    assert charts
    for chart in charts:
        assert len(set(chart["colors"])) == len(chart["colors"]), chart
        assert chart["font"].startswith("Marianne"), chart
        if not chart["unit"]:
            assert all(float(v).is_integer() for v in chart["ticks"]), chart
    assert page.evaluate("() => document.fonts.check('12px Marianne')")
    assert_page_basics(page)
    screenshot(page, "accueil-caf", element=panel)
    # The campaign chart: the exercice being worked on, another one chosen by the person.
    choice = page.get_by_test_id("choix-caf-afas-campagne")
    assert choice.count() == 1  # the demo has campaigns of several exercices
    select = choice.locator("select")
    current = select.input_value()
    assert f"exercice {current}" in page.locator("#caf-afas-campagne-titre").inner_text()
    other = [o for o in select.locator("option").all_inner_texts() if o != current][0]
    select.select_option(other)
    choice.get_by_role("button", name="Afficher").click()
    page.wait_for_url(f"**exercice={other}**")
    assert f"exercice {other}" in page.locator("#caf-afas-campagne-titre").inner_text()
    assert "caf-afas-campagne" in _drawn_charts(page)
    assert_page_basics(page)


def test_caf_dashboard_fits_a_phone(new_page):
    page = new_page(width=375, height=812)
    sign_in(page, "agent.caf@caf80.example")
    expect(page.get_by_test_id("tableau-de-bord-caf")).to_be_visible()
    assert_fits_width(page)


def test_partner_home_draws_its_droits_over_the_years(new_page):
    page = new_page(height=1100)
    sign_in(page, "gestionnaire@amiens.example")
    panel = page.get_by_test_id("tableau-de-bord-partenaire")
    assert panel.locator("h2").inner_text() == "Vos équipements en chiffres"
    # The demo has validated droits for the last two exercices: the chart is drawn, with its table.
    assert "partenaire-afas-droits" in _drawn_charts(page)
    table = page.get_by_test_id("table-partenaire-afas-droits")
    assert table.locator("thead th").first.text_content() == "Exercice"
    assert "€" in table.locator("tbody").text_content()
    assert "Total des droits validés" in page.get_by_test_id("resume-partenaire-afas-droits").inner_text()
    assert_page_basics(page)
    screenshot(page, "accueil-partenaire", element=panel)


@pytest.mark.parametrize("email", ["agent.caf@caf80.example", "admin.caf@caf80.example"])
def test_the_longest_menus_fit_a_laptop_screen(new_page, email):
    """The Caf agent's menu holds every service's entries: at 1280 px it wraps onto a second
    line instead of pushing the page sideways, and no entry breaks inside its words."""
    page = new_page(width=1280, height=800)
    sign_in(page, email)
    assert_fits_width(page, width=1280)
    links = page.get_by_role("navigation", name="Menu principal").get_by_role("link")
    assert links.count() >= 8
    for i in range(links.count()):
        box = links.nth(i).bounding_box()
        assert box["x"] + box["width"] <= 1280
        line_height = float(links.nth(i).evaluate("e => parseFloat(getComputedStyle(e).lineHeight)"))
        assert box["height"] < 2.5 * line_height + 1, links.nth(i).inner_text()  # one line of text
    screenshot(page, f"menu-{email.split('@')[0].replace('.', '-')}")
