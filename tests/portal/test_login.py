from portal.extensions import db
from portal.models import UserSession


def test_sign_in_with_password_and_totp_reaches_home(client, factory):
    user = factory.user(role="caf_agent", org=factory.caf())
    factory.sign_in(client, user)
    page = client.get("/accueil")
    assert page.status_code == 200
    assert "Bonjour Camille" in page.get_data(as_text=True)


def test_mfa_required_user_cannot_skip_code(client, factory):
    user = factory.user(role="caf_admin", org=factory.caf())
    factory.sign_in(client, user, mfa=False)
    response = client.get("/accueil")
    assert response.status_code == 302
    assert "/connexion/code" in response.headers["Location"]


def test_replayed_cookie_after_logout_is_refused(client, factory):
    user = factory.user(role="partner_manager", habilitations={"AFAS": None},
                        org=factory.organisation(services={"AFAS": []}))
    factory.sign_in(client, user)
    assert client.get("/accueil").status_code == 200
    cookie = client.get_cookie("ep_session")
    saved = cookie.value
    token = factory.csrf_token(client, "/accueil")
    client.post("/deconnexion", data={"csrf_token": token})
    assert db.session.query(UserSession).filter_by(user_id=user.id).one().revoked_at is not None
    client.set_cookie("ep_session", saved)  # replay the old cookie
    response = client.get("/accueil")
    assert response.status_code == 302 and "/connexion" in response.headers["Location"]


def test_missing_csrf_token_is_rejected(client, factory):
    user = factory.user()
    response = client.post("/connexion", data={"email": user.email, "password": factory.PASSWORD})
    assert response.status_code == 400
