"""Notifications (portal.notifications): publishing by channel, the daily digest, the bell, the
list (open, mark read, all read) and the preferences page."""
import pytest
from sqlalchemy import select

from portal.audit import AuditEntry
from portal.extensions import db
from portal.models import OutboxMessage, utcnow
from portal.notifications import Notification, publish
from portal.notifications.services import (bell_count, mark_all_read, mark_read, send_digests,
                                           set_preferences, unread_count)
from portal.registry import Domain, NotificationKind, RegistryError
from tests.support.factories import csrf_token


def _read_at(note):
    db.session.expire_all()
    return db.session.get(Notification, note.id).read_at


def _mail(user):
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.to == user.email)).all()


@pytest.fixture
def people(factory):
    org = factory.organisation("collectivite", services={"AFAS": []})
    manager = factory.user(org, "partner_manager", habilitations={"AFAS": None})
    colleague = factory.user(org, "partner_manager", habilitations={"AFAS": None})
    return manager, colleague


def test_publish_emails_at_once_by_default_and_skips_the_actor(people):
    manager, colleague = people
    notes = publish("afas_message", [manager, colleague, manager], actor=colleague,
                    title="Nouveau message : test", body="Bonjour", url="/afas/")
    assert [n.user_id for n in notes] == [manager.id]
    assert notes[0].channel == "immediat" and notes[0].emailed_at is not None
    (mail,) = _mail(manager)
    assert mail.subject == "Extranet Partenaires — Nouveau message : test"
    assert "Bonjour" in mail.body and "/afas/" in mail.body
    assert _mail(colleague) == []


def test_unknown_kind_or_foreign_url_is_a_programming_error(people):
    with pytest.raises(ValueError):
        publish("inconnu", people, title="x")
    with pytest.raises(ValueError):
        publish("afas_message", people, title="x", url="https://ailleurs.example/")


def test_digest_channel_waits_for_the_daily_digest(people):
    manager, _ = people
    set_preferences(manager, {"afas_message": "quotidien", "afas_paiement": "portail"})
    publish("afas_message", [manager], title="Premier message")
    publish("afas_message", [manager], title="Second message")
    publish("afas_paiement", [manager], title="Acompte versé")
    assert _mail(manager) == []
    assert send_digests() == 1
    (digest,) = _mail(manager)
    assert "résumé quotidien (2 notifications)" in digest.subject
    assert "Premier message" in digest.body and "Second message" in digest.body
    assert "Acompte versé" not in digest.body            # portal only: never emailed
    assert send_digests() == 0                            # sent once
    assert unread_count(manager) == 3


def test_preferences_are_audited_and_refuse_unknown_values(people):
    manager, _ = people
    assert set_preferences(manager, {"afas_message": "portail"}) == {"afas_message": "portail"}
    assert set_preferences(manager, {"afas_message": "portail"}) == {}
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "preferences_modifiees")).all()[-1]
    assert entry.actor_user_id == manager.id
    with pytest.raises(ValueError):
        set_preferences(manager, {"afas_message": "pigeon"})
    with pytest.raises(ValueError):
        set_preferences(manager, {"cdap_usage_atypique": "portail"})   # not offered to a manager


def test_registry_refuses_a_kind_declared_twice(app):
    from portal import registry
    contributions = registry.Contributions()
    kind = NotificationKind("x_kind", "Un type")
    contributions.add(Domain(name="a", notifications=[kind]))
    with pytest.raises(RegistryError):
        contributions.add(Domain(name="b", notifications=[kind]))
    with pytest.raises(RegistryError):
        contributions.add(Domain(name="c", notifications=[NotificationKind("y", "Y", "pigeon")]))


def test_bell_list_open_and_mark_read(client, login, people):
    manager, colleague = people
    first, = publish("afas_message", [manager], title="Message un", url="/afas/")
    second, = publish("afas_message", [manager], title="Message deux")
    theirs, = publish("afas_message", [colleague], title="Pas pour vous")
    login(manager)
    home = client.get("/accueil").get_data(as_text=True)
    assert 'data-testid="notification-count">2<' in home
    page = client.get("/notifications").get_data(as_text=True)
    assert "Message un" in page and "Message deux" in page and "Pas pour vous" not in page
    token = csrf_token(client, "/notifications")
    response = client.post(f"/notifications/{first.id}/ouvrir", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/afas/"
    assert _read_at(first) is not None
    assert client.post(f"/notifications/{theirs.id}/ouvrir", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/notifications/{theirs.id}/lue", data={"csrf_token": token}).status_code == 404
    assert _read_at(theirs) is None
    assert 'data-testid="notification-count">1<' in client.get("/accueil").get_data(as_text=True)
    client.post("/notifications/tout-lu", data={"csrf_token": token})
    assert _read_at(second) is not None
    assert 'data-testid="notification-count"' not in client.get("/accueil").get_data(as_text=True)
    assert client.get("/notifications?page=abc").status_code == 400


def test_bell_count_read_with_the_session_is_forgotten_when_notifications_change(app, people):
    """The bell's count comes with the session's statement (portal.accounts.sessions); publishing
    or marking read in the same request must not leave the header showing the old count."""
    manager, colleague = people
    with app.test_request_context("/accueil"):
        first, = publish("afas_message", [manager], title="Un")
        from flask import g
        g.unread_notifications = 7  # what the session load would have read
        assert bell_count(manager) == 7
        publish("afas_message", [manager], title="Deux")
        assert bell_count(manager) == 2
        g.unread_notifications = 2
        mark_read(manager, first.id)
        assert bell_count(manager) == 1
        g.unread_notifications = 1
        mark_all_read(manager)
        assert bell_count(manager) == 0


def test_preferences_page(client, login, people):
    manager, _ = people
    login(manager)
    page = client.get("/notifications/preferences").get_data(as_text=True)
    assert "Demande de correction" in page
    assert "usage atypique" not in page                       # Caf admins' kind
    token = csrf_token(client, "/notifications/preferences")
    bad = client.post("/notifications/preferences", data={"csrf_token": token, "canal-afas_message": "pigeon"})
    assert bad.status_code == 422 and "trois façons" in bad.get_data(as_text=True)
    choices = {f"canal-{k}": "portail" for k in ("afas_correction", "afas_message", "afas_validation", "afas_paiement")}
    ok = client.post("/notifications/preferences", data={"csrf_token": token, **choices})
    assert ok.status_code == 302
    publish("afas_correction", [manager], title="Correction")
    assert _mail(manager) == []


def test_signed_out_visitor_is_sent_to_login(client):
    assert client.get("/notifications").status_code == 302
    assert client.post("/notifications/tout-lu").status_code in (400, 401)


def test_mark_all_read_counts(people):
    manager, _ = people
    publish("afas_message", [manager], title="a")
    publish("afas_message", [manager], title="b")
    assert mark_all_read(manager) == 2
    assert mark_all_read(manager) == 0
    assert db.session.scalar(select(Notification.read_at).where(Notification.user_id == manager.id)) <= utcnow()


def test_demo_settles_the_history_it_published(people):
    from portal.notifications import demo
    manager, colleague = people
    publish("afas_message", [manager], title="avant")           # not the seeding's: untouched
    mark = demo.last_id()
    for i in range(5):
        publish("afas_paiement", [manager], title=f"acompte {i}")
    assert demo.settle(mark) == 2
    unread = db.session.scalars(select(Notification.title).where(
        Notification.user_id == manager.id, Notification.read_at.is_(None)).order_by(Notification.id)).all()
    assert unread == ["avant", "acompte 2", "acompte 3", "acompte 4"]
    assert send_digests() == 0                                    # nothing of the history waits


def test_no_bell_before_the_second_factor(client, login, factory):
    admin = factory.user(factory.organisation("collectivite", services={"AFAS": []}), "partner_admin")
    publish("afas_message", [admin], title="Pour plus tard")
    login(admin, mfa=False)
    page = client.get("/connexion/code").get_data(as_text=True)
    assert 'data-testid="current-user"' in page and 'data-testid="notification-bell"' not in page
    assert client.get("/notifications").status_code == 302          # the code first
