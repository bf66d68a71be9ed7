"""The CDAP users' home page starts with their next action; the atypical-use alert reaches the
Caf admins as a notification."""
from sqlalchemy import select

from portal.extensions import db
from portal.notifications import Notification

from .conftest import consult


def _actions(client):
    page = client.get("/accueil").get_data(as_text=True)
    return page[page.index('data-testid="next-actions"'):]


def test_quotient_familial_user_starts_with_consulter_un_dossier(world, login, client):
    login(world.users["quotient_familial"])
    actions = _actions(client)
    assert 'data-testid="cdap-next-consult"' in actions and "Consulter un dossier" in actions


def test_social_worker_starts_with_the_unpaid_rent_count(world, login, client):
    login(world.users["travailleur_social"])
    actions = _actions(client)
    assert 'data-testid="cdap-home-panel"' in actions and "/cdap/impayes" in actions


def test_partner_admin_is_not_told_aucun_service_habilite(world, login, client):
    login(world.partner_admin)
    page = client.get("/accueil").get_data(as_text=True)
    assert "aucun service habilité" not in page
    assert "Services de votre organisation : CDAP" in page


def test_atypical_use_alert_is_a_notification_for_the_caf_admins(world, login, client, low_thresholds):
    login(world.users["travailleur_social"])
    consult(client, "7000001", "Dupont", "accompagnement_social")
    consult(client, "7000002", "Dupont", "accompagnement_social")
    (note,) = db.session.scalars(select(Notification).where(Notification.user_id == world.caf_admin.id)).all()
    assert note.kind == "cdap_usage_atypique" and note.url == "/cdap/alertes"
    assert world.users["travailleur_social"].full_name in note.body
