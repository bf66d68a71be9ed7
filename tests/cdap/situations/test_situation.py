"""The social worker's follow-up through the pages: take the case, contact, mode, appointments,
diagnostic, actions, the Caf's decision, CCAPEX stages, closing; clear refusals."""
from datetime import date, timedelta

from sqlalchemy import select

from cdap.models import ImpayeQueueItem
from cdap.situations.models import Situation
from portal.audit import AuditEntry
from portal.dates import today as paris_today
from portal.extensions import db

from .conftest import act, take, text


def _situation(item):
    db.session.expire_all()
    return db.session.scalar(select(Situation).where(Situation.queue_item_id == item.id))


def test_worker_takes_the_case_and_follows_it_to_its_close(world, login, client, item):
    ts = world.users["travailleur_social"]
    login(ts)
    queue = text(client.get("/cdap/impayes"))
    assert f'data-testid="impaye-situation-{item.id}"' in queue
    assert take(client, item).status_code == 302
    s = _situation(item)
    assert db.session.get(ImpayeQueueItem, item.id).assigned_to_id == ts.id and s is not None

    assert act(client, item, "contact", on="07/12/2026", canal="telephone", resultat="joint",
               note="Madame rappelle lundi").status_code == 302
    assert act(client, item, "mode", mode="accompagnement_social").status_code == 302
    assert act(client, item, "rdv", on="10/12/2026", heure="14:30", modalite="presentiel",
               note="Apporter les relevés").status_code == 302
    assert act(client, item, "diagnostic", ressources="1 450,00", charges="980", personnes="3",
               droits=["eligibilite_fsl", "montant_aides"], capacite="partielle").status_code == 302
    assert act(client, item, "action", type="plan_apurement", statut="accordee", on="12/12/2026",
               montant="60,00", duree="10", debut="05/01/2027", accord_bailleur="y").status_code == 302
    assert act(client, item, "action", type="fsl", statut="proposee", on="12/12/2026",
               detail="FSL de la Somme").status_code == 302

    s = _situation(item)
    assert s.first_contact_on == date(2026, 12, 7) and s.mode == "accompagnement_social"
    assert (s.ressources_cents, s.charges_cents, s.personnes) == (145000, 98000, 3)
    assert s.rdvs[0].at.hour == 13  # 14:30 in Paris is 13:30 UTC in December
    assert [a.type for a in s.actions] == ["plan_apurement", "fsl"]
    item_now = db.session.get(ImpayeQueueItem, item.id)
    assert item_now.statut == "plan_apurement" and item_now.impaye.plan_apurement
    page = text(client.get(f"/cdap/situations/{item.id}"))
    assert "470,00 € ÷ 3 personnes ÷ 30 jours = 5,22 €" in page
    assert "Plan d'apurement convenu, accord du bailleur enregistré" in page and "Madame rappelle lundi" in page
    assert "CCH art. R824-6" in page

    # the worker cannot decide the maintien de l'aide: a Caf agent does
    assert act(client, item, "maintien", decision="maintien", motif="Plan signé").status_code == 403
    assert act(client, item, "cloture", issue="plan_respecte", minutes="240").status_code == 302
    s = _situation(item)
    assert s.issue == "plan_respecte" and s.minutes == 240 and s.closed_at is not None
    assert db.session.get(ImpayeQueueItem, item.id).statut == "clos"
    # a closed case refuses changes, clearly
    r = act(client, item, "contact", on="08/12/2026", canal="courrier", resultat="sans_reponse")
    assert r.status_code == 422 and "La situation est close" in text(r)
    # the queue's « Rouvrir » reopens the case
    from tests.support.factories import csrf_token
    client.post(f"/cdap/impayes/{item.id}/rouvrir", data={"csrf_token": csrf_token(client, "/cdap/impayes")})
    assert _situation(item).closed_at is None and _situation(item).issue is None
    actions = set(db.session.scalars(select(AuditEntry.action).where(AuditEntry.target == f"situation:{s.id}")))
    assert {"situation_prise_en_charge", "situation_contact", "situation_diagnostic", "situation_action",
            "situation_cloture"} <= actions
    # nothing of the budget or the notes in the audit trail
    details = " ".join(str(e.details) for e in db.session.scalars(
        select(AuditEntry).where(AuditEntry.target == f"situation:{s.id}")))
    assert "1450" not in details and "145000" not in details and "rappelle" not in details


def test_caf_agent_decides_the_maintien_with_a_reason(world, login, client, item):
    login(world.users["agent_caf"])
    r = act(client, item, "maintien", decision="renegociation", mois="5", motif="Plan à revoir")
    assert r.status_code == 422 and "Saisissez une durée de 1 à 3 mois." in text(r)
    r = act(client, item, "maintien", decision="suspension", motif="")
    assert r.status_code == 422 and "Indiquez le motif de la décision." in text(r)
    assert act(client, item, "maintien", decision="renegociation", mois="3", motif="Plan à renégocier").status_code == 302
    s = _situation(item)
    assert (s.maintien, s.maintien_mois, s.maintien_by_id) == ("renegociation", 3, world.users["agent_caf"].id)
    page = text(client.get(f"/cdap/situations/{item.id}"))
    assert "Fin du maintien pour renégocier le plan" in page
    assert act(client, item, "maintien", decision="suspension", motif="Plan non respecté").status_code == 302
    assert db.session.get(ImpayeQueueItem, item.id).impaye.maintien_aide is False


def test_bad_input_answers_422_with_the_message_at_the_field(world, login, client, item):
    login(world.users["travailleur_social"])
    take(client, item)
    for verb, fields, message in [
        ("contact", {"on": "32/13/2026", "canal": "telephone", "resultat": "joint"}, "Saisissez une date au format JJ/MM/AAAA."),
        ("contact", {"on": "01/12/2026", "canal": "pigeon", "resultat": "joint"}, "Canal inconnu."),
        ("contact", {"on": "01/11/2026", "canal": "courrier", "resultat": "joint"},
         "La date de la tentative de contact doit être comprise entre le signalement et aujourd'hui."),
        ("diagnostic", {"ressources": "beaucoup", "charges": "10", "personnes": "2", "capacite": "oui"},
         "Saisissez un montant en euros"),
        ("diagnostic", {"ressources": "10", "charges": "10", "personnes": "0", "capacite": "oui"},
         "Saisissez un nombre de personnes entre 1 et 20."),
        ("action", {"type": "plan_apurement", "statut": "proposee", "on": "01/12/2026"},
         "Saisissez le montant mensuel du plan en euros."),
        ("rdv", {"on": "10/12/2026", "heure": "25:00", "modalite": "visio"}, "Saisissez une heure au format HH:MM."),
        ("cloture", {"issue": "", "minutes": "abc"}, "Choisissez l'issue de la situation."),
    ]:
        r = act(client, item, verb, **fields)
        assert r.status_code == 422, (verb, fields)
        assert message in text(r), (verb, message)
    assert client.post(f"/cdap/situations/{item.id}/contact", data={"contact-on": "01/12/2026"}).status_code == 400
    assert act(client, item, "inconnu").status_code == 404
    assert client.get("/cdap/situations/999999").status_code == 404


def test_ccapex_sees_only_oriented_cases_and_records_a_stage(world, login, client, item, app):
    ccapex = world.users["prevention_expulsions"]
    login(ccapex)
    assert client.get(f"/cdap/situations/{item.id}").status_code == 404
    worker = app.test_client()
    login(world.users["travailleur_social"], on=worker)
    take(worker, item)
    assert act(worker, item, "action", type="orientation_ccapex", statut="en_cours", on="01/12/2026").status_code == 302
    assert act(worker, item, "procedure", etape="assignation", on="01/12/2026").status_code == 403
    page = text(client.get(f"/cdap/situations/{item.id}"))
    assert "Procédure d'expulsion" in page
    assert act(client, item, "procedure", etape="commandement_payer", on="02/12/2026").status_code == 302
    assert act(client, item, "contact", on="02/12/2026", canal="telephone", resultat="joint").status_code == 403
    assert [e.etape for e in _situation(item).etapes] == ["commandement_payer"]
    assert "Commandement de payer — 02/12/2026" in text(client.get(f"/cdap/situations/{item.id}"))


def test_queue_flags_a_case_not_contacted_within_the_working_days(world, login, client, item):
    item.impaye.date_signalement = paris_today() - timedelta(days=30)
    db.session.flush()
    login(world.users["travailleur_social"])
    flag = f'data-testid="impaye-non-contacte-{item.id}"'
    assert flag in text(client.get("/cdap/impayes"))
    take(client, item)
    assert flag in text(client.get("/cdap/impayes"))  # taking is not contacting
    act(client, item, "contact", on=paris_today().strftime("%d/%m/%Y"), canal="courrier", resultat="sans_reponse")
    assert flag not in text(client.get("/cdap/impayes"))
    # a recent signal is not flagged
    item.impaye.date_signalement = paris_today()
    db.session.flush()
    other = db.session.scalar(select(ImpayeQueueItem).where(ImpayeQueueItem.id != item.id))
    if other is not None:
        other.impaye.date_signalement = paris_today()
        db.session.flush()
        assert f'data-testid="impaye-non-contacte-{other.id}"' not in text(client.get("/cdap/impayes"))


def test_worker_agenda_lists_due_dates_and_appointments(world, login, client, item):
    login(world.users["travailleur_social"])
    assert "Aucune échéance" in text(client.get("/cdap/situations/agenda"))
    take(client, item)
    act(client, item, "rdv", on="15/12/2026", heure="09:00", modalite="telephone")
    page = text(client.get("/cdap/situations/agenda"))
    assert "Plan d'apurement attendu" in page
    assert "Rendez-vous à 09:00" in page and "15/12/2026" in page
    assert "CCH art. R824-6" in page
