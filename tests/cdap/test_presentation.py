"""The file's layout (cdap.presentation): section order per profile, counts, current QF; and the
page that shows it as tabs, most useful first, without changing what the policy lets through."""
import re

from cdap.dossier import build_view
from cdap.models import Allocataire
from cdap.policy import POLICY
from cdap.presentation import layout, ordered_sections, section_count
from portal.extensions import db
from sqlalchemy import select

from .conftest import consult


def view_for(profile, world):
    a = db.session.scalar(select(Allocataire).where(Allocataire.numero == "8000001"))
    return build_view(a.id, profile, code_bailleur=world.ph.code_bailleur)


def test_order_puts_the_profiles_first_need_first_and_keeps_every_section(world):
    for profile in POLICY:
        view = view_for(profile, world)
        order = ordered_sections(view)
        assert sorted(order) == sorted(view["sections"])  # nothing added, nothing dropped
    assert ordered_sections(view_for("prevention_expulsions", world))[0] == "impayes"
    assert ordered_sections(view_for("bailleur", world))[0] == "impayes"
    assert ordered_sections(view_for("quotient_familial", world))[0] == "quotient_familial"
    assert ordered_sections(view_for("travailleur_social", world))[0] == "identite"


def test_counts_and_current_qf(world):
    view = view_for("travailleur_social", world)
    assert section_count(view, "identite") is None
    assert section_count(view, "impayes") == len(view["impayes"])
    assert section_count(view, "paiements") == len({p["mois"] for p in view["paiements"]})
    assert section_count(view, "foyer") == len(view["foyer"]["enfants"]) + (1 if view["foyer"].get("conjoint") else 0)
    assert layout(view)["current_qf"] == view["quotient_familial"][-1]
    assert layout({"sections": ["quotient_familial"], "quotient_familial": []})["current_qf"] is None


def test_ccapex_page_opens_on_unpaid_rent_as_tabs(world, login, client):
    login(world.users["prevention_expulsions"])
    html = consult(client, "8000001", "Lefèvre", "prevention_expulsions").get_data(as_text=True)
    tabs = re.findall(r'data-testid="onglet-([a-z_]+)"', html)
    assert tabs == ["impayes", "logement", "paiements", "droits", "identite"]
    first = re.search(r'<button[^>]*data-testid="onglet-impayes"[^>]*>', html).group(0)
    assert 'aria-selected="true"' in first
    assert 'id="panneau-impayes" class="fr-tabs__panel fr-tabs__panel--selected"' in html
    # Sections the profile may not see are neither tabs nor panels.
    for hidden in ("adresse", "foyer", "quotient_familial"):
        assert f"onglet-{hidden}" not in html and f"section-{hidden}" not in html


def test_qf_table_is_newest_first_with_the_current_month_marked(world, login, client):
    login(world.users["quotient_familial"])
    html = consult(client, "8000001", "Lefèvre", "tarification").get_data(as_text=True)
    months = re.findall(r'<td data-field="quotient_familial.mois">([^<]+)', html)
    view = view_for("quotient_familial", world)
    assert len(months) == 12
    current = html.split('data-testid="qf-ligne-actuelle"', 1)[1].split("</tr>", 1)[0]
    assert months[0].strip() in current and "actuel" in current
    assert f"{view['quotient_familial'][-1]['qf']} €" in re.search(
        r'data-testid="qf-actuel-valeur">([^<]+)', html).group(1).replace("\u202f", "")
    assert re.findall(r'data-testid="onglet-([a-z_]+)"', html)[0] == "quotient_familial"


def test_qf_chart_points_carry_a_full_and_a_short_month_label():
    from cdap.views import mois_fr, qf_points
    points = qf_points([{"mois": "2025-12", "qf": 812}, {"mois": "2026-02", "qf": 790}])
    assert [(p["libelle"], p["court"], p["qf"]) for p in points] == [
        ("décembre 2025", "déc. 2025", 812), ("février 2026", "févr. 2026", 790)]
    # anything that is not a month stays as it is, month 0 and 13 included (0 once gave « décembre »)
    assert [mois_fr(v) for v in ("2025-00", "2025-13", "n/a", None)] == ["2025-00", "2025-13", "n/a", None]
