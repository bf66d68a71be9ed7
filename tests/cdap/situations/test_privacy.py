"""Who sees what of a case (cdap.policy.SUIVI), field by field, profile by profile; every read
journaled in the chained journal and listed in the person's right-of-access export; the
landlord's view; retention and purge."""
import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from cdap.models import ConsultationJournal
from cdap.policy import SUIVI, SUIVI_FIELDS, suivi_fields
from cdap.situations import services
from cdap.situations.models import Action, Contact, RendezVous, Situation
from portal.extensions import db
from portal.models import utcnow
from tests.support.factories import csrf_token

from .conftest import text

NOTE = "Note confidentielle 7731"
BUDGET = "Reste à vivre"  # shown only with the budget


@pytest.fixture
def full_case(world, item):
    """A case with data in every field: contact and appointment with notes, budget, plan,
    orientation to the CCAPEX, a stage, the Caf's decision."""
    ts = world.users["travailleur_social"]
    s = services.take_case(item, ts)
    services.record_contact(s, ts, on=date(2026, 12, 1), canal="telephone", resultat="joint", note=NOTE)
    services.set_mode(s, ts, "accompagnement_social")
    services.add_rdv(s, ts, at=datetime(2026, 12, 10, 13, 0), modalite="visio", note=NOTE)
    services.save_diagnostic(s, ts, ressources_cents=123400, charges_cents=90000, personnes=2, droits=["eligibilite_fsl"],
                             capacite="oui")
    services.add_action(s, ts, type="plan_apurement", on=date(2026, 12, 2), statut="accordee", montant_mensuel_cents=5000,
                        duree_mois=12, debut=date(2027, 1, 5), accord_bailleur=True)
    services.add_action(s, ts, type="orientation_ccapex", on=date(2026, 12, 2))
    services.record_etape(s, world.users["prevention_expulsions"], etape="assignation", on=date(2026, 12, 3))
    services.decide_maintien(s, world.users["agent_caf"], decision="maintien", motif="Plan signé", on=date(2026, 12, 4))
    return s


def _shown(html: str) -> set[str]:
    return set(re.findall(r'data-field="suivi\.([a-z_]+)"', html))


CASES = [("travailleur_social", True), ("travailleur_social", False), ("responsable_equipe", False),
         ("agent_caf", False), ("prevention_expulsions", False), ("bailleur", False)]


@pytest.mark.parametrize("profile,referent", CASES)
def test_each_profile_sees_exactly_its_case_fields(profile, referent, world, login, client, item, full_case, factory):
    user = world.users[profile] if referent or profile != "travailleur_social" else factory.user(
        world.cd80, "travailleur_social", {"CDAP": "travailleur_social"})
    login(user)
    r = client.get(f"/cdap/situations/{item.id}")
    assert r.status_code == 200
    html = text(r)
    expected = suivi_fields(profile, referent=referent)
    assert _shown(html) == expected
    assert (NOTE in html) == ("notes" in expected)
    assert (BUDGET in html) == ("budget" in expected)
    assert ("Plan signé" in html) == (profile != "bailleur")  # the Caf's reason is not the landlord's business
    if profile == "bailleur":
        assert "8000001" not in html and "Lefèvre" not in html


def test_policy_table_keeps_notes_and_budget_to_three_profiles():
    assert set(SUIVI_FIELDS) == set(suivi_fields("agent_caf"))
    for profile in SUIVI:
        sensitive = {"notes", "budget"} & suivi_fields(profile)
        assert bool(sensitive) == (profile in ("responsable_equipe", "agent_caf")), profile
    assert {"notes", "budget"} <= suivi_fields("travailleur_social", referent=True)
    assert suivi_fields("bailleur", referent=True) == {"recu", "plan", "maintien_aide"}
    assert suivi_fields("quotient_familial") == frozenset()


@pytest.mark.parametrize("who", ["ts02", "other_bailleur_user", "qf", "no_cdap"])
def test_outside_the_scope_a_case_does_not_exist(who, world, login, client, item, full_case):
    user = {"ts02": world.ts02, "other_bailleur_user": world.other_bailleur_user,
            "qf": world.users["quotient_familial"], "no_cdap": world.no_cdap}[who]
    login(user)
    assert client.get(f"/cdap/situations/{item.id}").status_code in ((403,) if who == "no_cdap" else (404,))
    r = client.post(f"/cdap/situations/{item.id}/contact",
                    data={"contact-csrf_token": csrf_token(client, "/accueil"), "contact-on": "01/12/2026",
                          "contact-canal": "telephone", "contact-resultat": "joint"})
    assert r.status_code in (403, 404)


def test_every_read_is_journaled_and_listed_in_the_access_export(world, login, client, item, full_case, app):
    before = db.session.scalar(select(func.count()).select_from(ConsultationJournal))
    login(world.users["travailleur_social"])
    client.get(f"/cdap/situations/{item.id}")
    row = db.session.scalars(select(ConsultationJournal).order_by(ConsultationJournal.seq.desc())).first()
    assert db.session.scalar(select(func.count()).select_from(ConsultationJournal)) == before + 1
    assert row.outcome == "suivi_lu" and row.categories == ["suivi", "suivi_budget", "suivi_notes"]
    assert row.user_id == world.users["travailleur_social"].id
    from cdap.journal import verify
    assert verify().ok
    agent = app.test_client()
    login(world.users["agent_caf"], on=agent)
    token = csrf_token(agent, "/cdap/journal/allocataire")
    body = agent.post("/cdap/journal/allocataire.csv", data={"numero": "8000001", "csrf_token": token}).get_data(as_text=True)
    line = next(ln for ln in body.splitlines() if "Situation d'impayé lue" in ln)
    assert world.users["travailleur_social"].full_name in line
    assert "Budget du foyer" in line and "Notes du suivi" in line


def test_landlord_list_shows_received_plan_and_decision_only(world, login, client, item, full_case):
    login(world.users["bailleur"])
    html = text(client.get("/cdap/impayes/mes-signalements"))
    assert f'data-testid="bailleur-signalement-{item.id}"' in html
    assert "Plan d'apurement convenu, accord du bailleur enregistré" in html and "Aide maintenue" in html
    assert _shown(html) == {"recu", "plan", "maintien_aide"}
    assert NOTE not in html and BUDGET not in html and "Plan signé" not in html
    login(world.other_bailleur_user)
    assert f'bailleur-signalement-{item.id}"' not in text(client.get("/cdap/impayes/mes-signalements"))
    login(world.users["travailleur_social"])
    assert client.get("/cdap/impayes/mes-signalements").status_code == 403


def test_closed_cases_are_purged_after_the_retention(world, item, full_case, app):
    ts = world.users["travailleur_social"]
    services.close_case(full_case, ts, issue="plan_respecte", minutes=300)
    assert services.purge_closed(24) == 0
    full_case.closed_at = utcnow() - timedelta(days=30 * 24 + 1)
    db.session.flush()
    assert services.purge_closed(24) == 1
    for model in (Situation, Contact, RendezVous, Action):
        assert db.session.scalar(select(func.count()).select_from(model)) == 0, model
    assert item.statut == "clos"  # the queue item stays
    with pytest.raises(ValueError):
        services.purge_closed(0)


def test_purge_task_uses_the_setting(world, item, full_case, app):
    from cdap.situations.tasks import purge_situations
    services.close_case(full_case, world.users["travailleur_social"], issue="refus", minutes=30)
    full_case.closed_at = utcnow() - timedelta(days=30 * 13)
    db.session.flush()
    settings = app.config["CDAP_SETTINGS"]
    saved = settings["CDAP_SITUATION_RETENTION_MONTHS"]
    try:
        settings["CDAP_SITUATION_RETENTION_MONTHS"] = 12
        assert purge_situations.run() == 1
    finally:
        settings["CDAP_SITUATION_RETENTION_MONTHS"] = saved
