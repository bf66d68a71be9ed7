"""Partner admin: users, habilitations (within the organisation's contracts), review flag,
API tokens; every change audited; another organisation's objects answer 404."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.api import hash_token
from portal.audit import AuditEntry
from portal.extensions import db
from portal.models import ApiToken, OutboxMessage, User, UserSession, utcnow


@pytest.fixture
def org(factory):
    return factory.organisation("bailleur", services={"EDI": [], "CDAP": ["bailleur"]})


@pytest.fixture
def admin(factory, org, client):
    user = factory.user(org, role="partner_admin")
    factory.sign_in(client, user)
    return user


def post(client, path, data=None, page="/accueil"):
    from tests.support.factories import csrf_token
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(client, page)})


def audit_actions(actor):
    return db.session.scalars(select(AuditEntry.action).where(AuditEntry.actor_user_id == actor.id)
                              .order_by(AuditEntry.seq)).all()


def test_list_and_create_user_sends_activation_link(client, factory, org, admin):
    colleague = factory.user(org, role="bailleur_operator", habilitations={"EDI": None})
    stranger = factory.user(role="partner_manager")
    page = client.get("/administration/utilisateurs").get_data(as_text=True)
    assert colleague.email in page and stranger.email not in page

    response = post(client, "/administration/utilisateurs/nouveau", {
        "prenom": "Inès", "nom": "Carpentier", "email": "Ines.Carpentier@bailleur.example",
        "role": "bailleur_operator"}, page="/administration/utilisateurs/nouveau")
    assert response.status_code == 302
    created = db.session.scalars(select(User).where(User.email == "ines.carpentier@bailleur.example")).one()
    assert created.organisation_id == org.id and created.password_hash is None
    mail = db.session.scalars(select(OutboxMessage).where(OutboxMessage.to == created.email)).one()
    assert "/mot-de-passe-oublie/nouveau?token=" in mail.body
    assert "user_created" in audit_actions(admin)

    dup = post(client, "/administration/utilisateurs/nouveau", {
        "prenom": "Inès", "nom": "C", "email": "ines.carpentier@bailleur.example", "role": "partner_manager"},
        page="/administration/utilisateurs/nouveau")
    assert dup.status_code == 422 and "existe déjà" in dup.get_data(as_text=True)
    caf_role = post(client, "/administration/utilisateurs/nouveau", {
        "prenom": "A", "nom": "B", "email": "ab@bailleur.example", "role": "caf_admin"},
        page="/administration/utilisateurs/nouveau")
    assert caf_role.status_code == 422  # a partner admin cannot create Caf staff


def test_disable_user_revokes_sessions(app, client, factory, org, admin):
    operator = factory.user(org, role="bailleur_operator", habilitations={"EDI": None})
    other = app.test_client()
    factory.sign_in(other, operator)
    assert other.get("/accueil").status_code == 200
    assert post(client, f"/administration/utilisateurs/{operator.id}/desactiver").status_code == 302
    db.session.refresh(operator)
    assert operator.disabled_at is not None
    assert db.session.scalars(select(UserSession).where(UserSession.user_id == operator.id,
                                                        UserSession.revoked_at.is_(None))).all() == []
    response = other.get("/accueil")
    assert response.status_code == 302 and "/connexion" in response.headers["Location"]
    # disabled users cannot sign in (same answer as a wrong password)
    login = post(app.test_client(), "/connexion", {"email": operator.email, "password": factory.PASSWORD},
                 page="/connexion")
    assert login.status_code == 422
    # an admin cannot disable themselves
    post(client, f"/administration/utilisateurs/{admin.id}/desactiver")
    db.session.refresh(admin)
    assert admin.disabled_at is None
    assert post(client, f"/administration/utilisateurs/{operator.id}/reactiver").status_code == 302
    db.session.refresh(operator)
    assert operator.disabled_at is None
    assert {"user_disabled", "user_enabled"} <= set(audit_actions(admin))


def test_grant_habilitation_only_within_contracts(client, factory, org, admin):
    operator = factory.user(org, role="bailleur_operator")
    url = f"/administration/utilisateurs/{operator.id}/habilitations"
    page = f"/administration/utilisateurs/{operator.id}"
    assert post(client, url, {"hab-service": "AFAS"}, page=page).status_code == 422  # no AFAS contract
    bad_profile = post(client, url, {"hab-service": "CDAP", "hab-profil": "travailleur_social"}, page=page)
    assert bad_profile.status_code == 422 and "profil CDAP" in bad_profile.get_data(as_text=True)
    no_profile = post(client, url, {"hab-service": "CDAP", "hab-profil": ""}, page=page)
    assert no_profile.status_code == 422
    assert post(client, url, {"hab-service": "CDAP", "hab-profil": "bailleur"}, page=page).status_code == 302
    assert post(client, url, {"hab-service": "EDI"}, page=page).status_code == 302
    assert post(client, url, {"hab-service": "EDI"}, page=page).status_code == 422  # already has one
    db.session.refresh(operator)
    assert operator.habilitation("CDAP").profil == "bailleur"
    assert operator.habilitation("EDI").granted_by_id == admin.id
    assert audit_actions(admin).count("habilitation_granted") == 2


def test_revoke_habilitation_revokes_sessions(app, client, factory, org, admin):
    operator = factory.user(org, role="bailleur_operator", habilitations={"EDI": None})
    other = app.test_client()
    factory.sign_in(other, operator)
    hab = operator.habilitations[0]
    assert post(client, f"/administration/habilitations/{hab.id}/retirer").status_code == 302
    db.session.refresh(hab)
    assert hab.revoked_at is not None and operator.habilitation("EDI") is None
    assert other.get("/accueil").status_code == 302
    assert "habilitation_revoked" in audit_actions(admin)


def test_old_habilitation_flagged_then_reviewed(client, factory, org, admin):
    operator = factory.user(org, role="bailleur_operator", habilitations={"EDI": None})
    hab = operator.habilitations[0]
    hab.granted_at = utcnow() - timedelta(days=400)
    db.session.flush()
    page = client.get("/administration/utilisateurs").get_data(as_text=True)
    assert "1 habilitation à revoir" in page and "à revoir" in page
    assert post(client, f"/administration/habilitations/{hab.id}/revue", {"retour": "liste"}).status_code == 302
    db.session.refresh(hab)
    assert not hab.needs_review and hab.reviewed_at is not None
    assert "à revoir</h2>" not in client.get("/administration/utilisateurs").get_data(as_text=True)
    assert "habilitation_reviewed" in audit_actions(admin)


def test_other_organisation_objects_answer_404(client, factory, admin):
    foreign_org = factory.organisation("bailleur", services={"EDI": []})
    foreign_admin = factory.user(foreign_org, role="partner_admin")
    foreign = factory.user(foreign_org, role="bailleur_operator", habilitations={"EDI": None})
    token, _raw = factory.api_token(foreign_org, foreign_admin)
    hab = foreign.habilitations[0]
    assert client.get(f"/administration/utilisateurs/{foreign.id}").status_code == 404
    assert client.get("/administration/utilisateurs/999999").status_code == 404
    for path in (f"/administration/utilisateurs/{foreign.id}/desactiver",
                 f"/administration/utilisateurs/{foreign.id}/habilitations",
                 f"/administration/habilitations/{hab.id}/retirer",
                 f"/administration/habilitations/{hab.id}/revue",
                 f"/administration/jetons/{token.id}/revoquer"):
        assert post(client, path, {"hab-service": "EDI"}).status_code == 404, path
    db.session.refresh(foreign)
    db.session.refresh(token)
    assert foreign.disabled_at is None and token.revoked_at is None and hab.revoked_at is None


# --- API tokens ------------------------------------------------------------------------------

def test_create_token_shown_once_stored_hashed(client, factory, org, admin):
    response = post(client, "/administration/jetons/nouveau", {
        "nom": "Logiciel de gestion locative", "scopes": ["EDI", "CDAP"], "profil": "bailleur",
        "days": "180"}, page="/administration/jetons/nouveau")
    assert response.status_code == 201
    raw = re.search(r'data-testid="raw-token">([^<]+)<', response.get_data(as_text=True)).group(1)
    token = db.session.scalars(select(ApiToken).where(ApiToken.organisation_id == org.id)).one()
    assert token.token_hash == hash_token(raw) and raw not in (token.prefix * 2)
    assert token.scopes == ["CDAP", "EDI"] and token.profil == "bailleur"
    assert timedelta(days=179) < token.expires_at - utcnow() <= timedelta(days=180)
    listing = client.get("/administration/jetons").get_data(as_text=True)
    assert token.prefix in listing and raw not in listing  # never shown again
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "api_token_created")).one()
    assert raw not in str(entry.details) and entry.details["prefix"] == token.prefix


@pytest.mark.parametrize("data,field_message", [
    ({"nom": "x", "scopes": ["AFAS"], "days": "30"}, "pas de contrat actif"),
    ({"nom": "x", "scopes": ["CDAP"], "days": "30"}, "demande un profil"),
    ({"nom": "x", "scopes": ["CDAP"], "profil": "travailleur_social", "days": "30"}, "demande un profil"),
    ({"nom": "x", "scopes": ["EDI"], "days": "366"}, "1 à 365 jours"),
    ({"nom": "x", "days": "30"}, "au moins un service"),
])
def test_token_creation_rules(client, factory, org, admin, data, field_message):
    response = post(client, "/administration/jetons/nouveau", data, page="/administration/jetons/nouveau")
    assert response.status_code == 422
    assert field_message in response.get_data(as_text=True)
    assert db.session.scalars(select(ApiToken).where(ApiToken.organisation_id == org.id)).all() == []


def test_revoke_token_then_api_refuses_it(client, factory, org, admin, api_client):
    token, raw = factory.api_token(org, admin, scopes=["EDI"])
    assert api_client(raw).get("/api/v1/moi").status_code == 200
    assert post(client, f"/administration/jetons/{token.id}/revoquer").status_code == 302
    db.session.refresh(token)
    assert token.revoked_at is not None
    response = api_client(raw).get("/api/v1/moi")
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
    assert "api_token_revoked" in audit_actions(admin)


def test_home_panel_counts_reviews_and_expiring_tokens(client, factory, org, admin):
    operator = factory.user(org, role="bailleur_operator", habilitations={"EDI": None})
    operator.habilitations[0].granted_at = utcnow() - timedelta(days=366)
    factory.api_token(org, admin, days=10)
    factory.api_token(org, admin, days=200)
    db.session.flush()
    html = client.get("/accueil").get_data(as_text=True)
    assert re.search(r"Habilitations à revoir \(plus de 12 mois\) : <strong>1</strong>", html)
    assert re.search(r"expirant dans les 30 jours : <strong>1</strong>", html)


def test_demo_seeder_shows_a_habilitation_to_review(app, factory):
    from portal.admin.panels import seed_demo
    org = factory.organisation(services={"AFAS": []})
    user = factory.user(org, email="gestionnaire@amiens.example", habilitations={"AFAS": None})
    assert seed_demo() == 1 and user.habilitations[0].needs_review
    assert seed_demo() == 0  # idempotent


def _caf_suspends(factory, hab, until):
    from portal.admin import services
    caf_admin = factory.user(factory.caf(), role="caf_admin")
    services.suspend_habilitation(hab, actor=caf_admin, motif="Usage atypique", until=until)


def test_revoke_then_grant_does_not_undo_a_caf_suspension(client, factory, org, admin):
    """A partner admin cannot lift a suspension decided by the Caf by revoking the suspended
    habilitation and granting a new one: the grant is refused, the suspension stays."""
    operator = factory.user(org, role="bailleur_operator", habilitations={"CDAP": "bailleur", "EDI": None})
    hab = next(h for h in operator.habilitations if h.service == "CDAP")
    until = utcnow() + timedelta(hours=20)
    _caf_suspends(factory, hab, until)
    assert post(client, f"/administration/habilitations/{hab.id}/retirer").status_code == 302
    db.session.refresh(hab)
    assert hab.revoked_at is not None and hab.suspended_until == until  # revoking lifts nothing

    page = f"/administration/utilisateurs/{operator.id}"
    url = f"/administration/utilisateurs/{operator.id}/habilitations"
    refused = post(client, url, {"hab-service": "CDAP", "hab-profil": "bailleur"}, page=page)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "suspendue par la Caf" in html and until.strftime("%d/%m/%Y") in html
    db.session.expire_all()
    operator = db.session.get(User, operator.id)
    assert [h for h in operator.habilitations if h.service == "CDAP" and h.revoked_at is None] == []
    assert operator.habilitation("CDAP") is None
    assert [
        a for a in audit_actions(admin) if a.startswith("habilitation_")] == ["habilitation_revoked", "habilitation_grant_refused"]
    revoked = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "habilitation_revoked")).one()
    assert revoked.details["suspended_until"] == until.isoformat(timespec="minutes")
    # Other services are not concerned.
    assert operator.habilitation("EDI") is not None

    # Once the suspension is over, the admin may grant a new habilitation.
    hab = db.session.get(type(hab), hab.id)
    hab.suspended_until = utcnow() - timedelta(minutes=1)
    db.session.flush()
    assert post(client, url, {"hab-service": "CDAP", "hab-profil": "bailleur"}, page=page).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, operator.id).habilitation("CDAP").profil == "bailleur"


def test_indefinite_caf_suspension_blocks_a_new_grant(client, factory, org, admin):
    from portal.admin import services
    operator = factory.user(org, role="bailleur_operator", habilitations={"EDI": None})
    hab = operator.habilitations[0]
    _caf_suspends(factory, hab, None)  # until further notice
    services.revoke_habilitation(hab, actor=admin)
    with pytest.raises(services.AdminError, match="jusqu'à nouvel ordre") as error:
        services.grant_habilitation(operator, actor=admin, service="EDI", profil=None)
    assert error.value.field == "service"
