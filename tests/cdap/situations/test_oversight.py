"""The team lead's dashboard (figures, charts with their tables, CSV) on the home page."""
from datetime import date, timedelta

from cdap.situations import agenda, services
from portal.dates import today as paris_today
from portal.extensions import db

from .conftest import text


def test_figures_count_open_uncontacted_modes_outcomes_and_plans(world, item):
    ts = world.users["travailleur_social"]
    item.impaye.date_signalement = date(2026, 11, 2)
    db.session.flush()
    rows = agenda.cases(territoire="80")
    f = agenda.figures(rows, date(2026, 12, 7), 10)
    assert f.open == len([i for i, _ in rows if i.statut != "clos"]) and item.id in agenda.overdue_ids(rows, date(2026, 12, 7), 10)
    s = services.take_case(item, ts)
    services.record_contact(s, ts, on=date(2026, 11, 6), canal="visite", resultat="joint")
    services.set_mode(s, ts, "information_conseil")
    services.add_action(s, ts, type="plan_apurement", on=date(2026, 11, 20), montant_mensuel_cents=3000, duree_mois=6,
                        debut=date(2026, 12, 1), accord_bailleur=True)
    f = agenda.figures(agenda.cases(territoire="80"), date(2026, 12, 7), 10)
    assert f.by_mode.get("information_conseil") == 1 and f.plans_in_progress == 1
    assert f.avg_days_to_contact == 4.0 and item.id not in agenda.overdue_ids(agenda.cases(territoire="80"), date(2026, 12, 7), 10)
    services.close_case(s, ts, issue="dette_soldee", minutes=90)
    f = agenda.figures(agenda.cases(territoire="80"), date(2026, 12, 7), 10)
    assert f.by_issue == {"dette_soldee": 1} and f.plans_in_progress == 0
    assert agenda.cases(territoire="02") == [] or all(i.allocataire.departement == "02" for i, _ in agenda.cases(territoire="02"))


def test_team_lead_sees_the_board_and_exports_csv(world, login, client, item):
    item.impaye.date_signalement = paris_today() - timedelta(days=40)
    db.session.flush()
    login(world.users["responsable_equipe"])
    home = text(client.get("/accueil"))
    assert "Suivi des impayés de loyer" in home
    assert 'id="cdap-situations-modes"' in home or "cdap-situations-modes" in home
    import re
    shown = int(re.search(r'data-figure="uncontacted">(\d+)<', home).group(1))
    assert shown == agenda.figures(agenda.cases(territoire="80"), paris_today(), 10).uncontacted >= 1
    r = client.get("/cdap/situations/tableau.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    body = r.get_data(as_text=True)
    assert body.splitlines()[0].lstrip("\ufeff").startswith("Élément;Signalé le;Statut;Mode")
    assert f"{item.id};" in body and ";oui;" in body
    assert "8000001" not in body and "Lefèvre" not in body
    # the team lead works the queue too, and sees notes and budget of every case there
    queue = text(client.get("/cdap/impayes"))
    assert f'data-testid="impaye-situation-{item.id}"' in queue


def test_plain_worker_has_no_board_nor_export(world, login, client, item):
    login(world.users["travailleur_social"])
    assert "Suivi des impayés de loyer" not in text(client.get("/accueil"))
    assert client.get("/cdap/situations/tableau.csv").status_code == 403
    login(world.users["bailleur"])
    assert client.get("/cdap/situations/tableau.csv").status_code == 403
