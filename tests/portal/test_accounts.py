"""Accounts: MFA enrolment, password change, reset by one-time link, lockout, throttling,
session timeouts."""
import hashlib
import re
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import select, text

from portal.audit import AuditEntry
from portal.extensions import db, limiter
from portal.models import OutboxMessage, PasswordResetToken, UserSession, utcnow

NEW_PASSWORD = "un cheval de trait dans la baie de Somme"


def actions(user=None):
    query = select(AuditEntry.action).order_by(AuditEntry.seq)
    if user is not None:
        query = query.where(AuditEntry.actor_user_id == user.id)
    return db.session.scalars(query).all()


def post(client, path, data, page=None):
    from tests.support.factories import csrf_token
    return client.post(path, data={**data, "csrf_token": csrf_token(client, page or path)})


def session_cookie(client):
    return client.get_cookie("ep_session").value


# --- MFA enrolment ---------------------------------------------------------------------------

ENROL = "/compte/double-authentification"
ENROL_START = "/compte/double-authentification/cle"


def db_snapshot(user):
    """What a request could change for this user: their row, their sessions, the audit chain
    (raw SQL, every column, read on the test's connection)."""
    row = lambda sql: [tuple(r) for r in db.session.execute(text(sql), {"id": user.id})]
    return {"user": row("SELECT * FROM users WHERE id = :id"),
            "sessions": row("SELECT * FROM user_sessions WHERE user_id = :id ORDER BY id"),
            "audit": row("SELECT seq, row_hash FROM audit_entries ORDER BY seq"),
            "chain": [tuple(r) for r in db.session.execute(text("SELECT * FROM chain_heads ORDER BY name"))]}


def test_mfa_enrolment_with_qr_code_then_first_code_confirms(client, factory):
    admin = factory.user(role="partner_admin", mfa=False)
    factory.sign_in(client, admin, mfa=False)
    response = client.get("/accueil")
    assert response.status_code == 302 and response.headers["Location"].endswith(ENROL)

    # Step 1: nothing pending yet, the page offers to generate the key (a POST).
    page = client.get(ENROL)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Générer ma clé d'authentification" in html and f'action="{ENROL_START}"' in html
    assert "<svg" not in html and 'data-testid="totp-secret"' not in html
    db.session.refresh(admin)
    assert admin.totp_pending_secret is None

    started = post(client, ENROL_START, {}, page=ENROL)
    assert started.status_code == 302 and started.headers["Location"].endswith(ENROL)
    db.session.refresh(admin)
    secret = admin.totp_pending_secret
    assert secret and admin.totp_secret is None  # nothing active before confirmation
    # A second submission (double click, back button) keeps the key that may be scanned already.
    assert post(client, ENROL_START, {}, page=ENROL).status_code == 302
    db.session.refresh(admin)
    assert admin.totp_pending_secret == secret

    # Step 2: QR code (SVG without inline style) and manual key.
    page = client.get(ENROL)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<svg" in html and "style=" not in html.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert secret in html

    wrong = post(client, ENROL, {"code": "000000"})
    assert wrong.status_code == 422 and "Code incorrect" in wrong.get_data(as_text=True)
    code = pyotp.TOTP(secret).now()
    ok = post(client, ENROL, {"code": code})
    assert ok.status_code == 302
    db.session.refresh(admin)
    assert admin.totp_secret == secret and admin.totp_pending_secret is None
    assert admin.mfa_enrolled_at is not None
    assert client.get("/accueil").status_code == 200
    assert actions(admin)[-3:] == ["mfa_enrol_started", "mfa_enrol_failed", "mfa_enrolled"]

    # The confirmation code cannot be replayed at the next sign-in.
    other = client.application.test_client()
    factory.sign_in(other, admin, mfa=False)
    replay = post(other, "/connexion/code", {"code": code})
    assert replay.status_code == 422


@pytest.mark.parametrize("state", ["not_enrolled", "pending", "enrolled_replacing"])
def test_mfa_enrolment_page_get_writes_nothing(client, factory, state):
    """No state change on GET: showing the enrolment page (before, during, or to replace an
    enrolled factor) leaves the user's row, their sessions and the audit chain untouched."""
    admin = factory.user(role="partner_admin", mfa=state == "enrolled_replacing")
    factory.sign_in(client, admin, mfa=state == "enrolled_replacing")
    if state == "pending":
        assert post(client, ENROL_START, {}, page=ENROL).status_code == 302
    db.session.expire_all()
    before = db_snapshot(admin)
    for _ in range(2):
        page = client.get(ENROL)
        assert page.status_code == 200
    db.session.expire_all()
    assert db_snapshot(admin) == before
    db.session.refresh(admin)
    html = page.get_data(as_text=True)
    if state == "pending":
        assert admin.totp_pending_secret in html and "<svg" in html
    else:
        assert admin.totp_pending_secret is None and "Générer ma clé" in html


def test_mfa_confirmation_without_a_pending_key_is_refused(client, factory):
    admin = factory.user(role="partner_admin", mfa=False)
    factory.sign_in(client, admin, mfa=False)
    response = post(client, ENROL, {"code": "123456"})
    assert response.status_code == 422 and "Commencez par générer une clé" in response.get_data(as_text=True)
    db.session.refresh(admin)
    assert admin.totp_secret is None and admin.mfa_enrolled_at is None
    assert client.get("/accueil").headers["Location"].endswith(ENROL)


def test_mfa_new_key_replaces_the_pending_one(client, factory):
    admin = factory.user(role="partner_admin", mfa=False)
    factory.sign_in(client, admin, mfa=False)
    post(client, ENROL_START, {}, page=ENROL)
    db.session.refresh(admin)
    first = admin.totp_pending_secret
    assert "Générer une nouvelle clé" in client.get(ENROL).get_data(as_text=True)
    assert post(client, ENROL_START, {"renew": "1"}, page=ENROL).status_code == 302
    db.session.refresh(admin)
    second = admin.totp_pending_secret
    assert second and second != first
    stale = post(client, ENROL, {"code": pyotp.TOTP(first).now()})
    assert stale.status_code == 422  # the replaced key no longer confirms
    assert post(client, ENROL, {"code": pyotp.TOTP(second).now()}).status_code == 302
    db.session.refresh(admin)
    assert admin.totp_secret == second


def test_mfa_start_needs_the_csrf_token(client, factory):
    admin = factory.user(role="partner_admin", mfa=False)
    factory.sign_in(client, admin, mfa=False)
    assert client.post(ENROL_START).status_code == 400
    db.session.refresh(admin)
    assert admin.totp_pending_secret is None


def test_enrolled_user_needs_current_factor_before_replacing_it(client, factory):
    admin = factory.user(role="partner_admin")
    factory.sign_in(client, admin, mfa=False)  # password only
    response = client.get(ENROL)
    assert response.status_code == 302 and "/connexion/code" in response.headers["Location"]
    from tests.support.factories import csrf_token
    start = client.post(ENROL_START, data={"csrf_token": csrf_token(client, "/connexion/code")})
    assert start.status_code == 302 and "/connexion/code" in start.headers["Location"]
    db.session.refresh(admin)
    assert admin.totp_pending_secret is None


def test_mfa_replacement_after_verification_keeps_old_secret_until_confirmed(client, factory):
    admin = factory.user(role="partner_admin")
    old = admin.totp_secret
    factory.sign_in(client, admin)
    assert client.get(ENROL).status_code == 200
    assert post(client, ENROL_START, {}, page=ENROL).status_code == 302
    db.session.refresh(admin)
    new = admin.totp_pending_secret
    assert admin.totp_secret == old and new not in (None, old)
    assert post(client, ENROL, {"code": pyotp.TOTP(new).now()}).status_code == 302
    db.session.refresh(admin)
    assert admin.totp_secret == new and admin.totp_pending_secret is None
    assert actions(admin)[-1] == "mfa_enrolled"


# --- Password change -------------------------------------------------------------------------

def test_change_password_applies_policy_and_revokes_other_sessions(app, client, factory):
    user = factory.user(role="partner_manager")
    factory.sign_in(client, user)
    elsewhere = app.test_client()
    factory.sign_in(elsewhere, user)
    old_cookie = session_cookie(client)

    bad_current = post(client, "/compte/mot-de-passe", {
        "current_password": "pas le bon mot de passe", "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert bad_current.status_code == 422
    assert "actuel est incorrect" in bad_current.get_data(as_text=True)
    for weak, message in (("court", "au moins 12 caractères"),
                          ("motdepasse123", "trop courant")):
        response = post(client, "/compte/mot-de-passe", {
            "current_password": factory.PASSWORD, "new_password": weak, "confirm": weak})
        assert response.status_code == 422 and message in response.get_data(as_text=True)
    mismatch = post(client, "/compte/mot-de-passe", {
        "current_password": factory.PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"})
    assert mismatch.status_code == 422 and "ne correspondent pas" in mismatch.get_data(as_text=True)

    ok = post(client, "/compte/mot-de-passe", {
        "current_password": factory.PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert ok.status_code == 302
    assert client.get("/compte").status_code == 200  # this browser got a fresh session
    assert session_cookie(client) != old_cookie
    gone = elsewhere.get("/accueil")  # the other session is dead
    assert gone.status_code == 302 and "/connexion" in gone.headers["Location"]
    replay = app.test_client()
    replay.set_cookie("ep_session", old_cookie)  # this browser's previous cookie, replayed
    response = replay.get("/accueil")
    assert response.status_code == 302 and "/connexion" in response.headers["Location"]
    assert "password_changed" in actions(user)

    fresh = app.test_client()
    login = post(fresh, "/connexion", {"email": user.email, "password": NEW_PASSWORD})
    assert login.status_code == 302


def test_unlisted_common_password_variants_refused():
    from portal.passwords import password_problems
    assert password_problems("azertyuiop123") != []
    assert password_problems("123456789012") != [] and password_problems("azertyuiopqsdf") != []
    assert password_problems("une phrase de passe assez longue") == []
    assert password_problems("éô" * 6) != []  # repetitive
    assert password_problems("x" * 200) != []


# --- Reset by one-time link ------------------------------------------------------------------

def _reset_link(message: OutboxMessage) -> str:
    match = re.search(r"http://\S+/mot-de-passe-oublie/nouveau\?token=(\S+)", message.body)
    assert match, message.body
    return match.group(1)


def test_reset_link_is_emailed_hashed_single_use(app, client, factory):
    user = factory.user(role="partner_manager")
    other_session = app.test_client()
    factory.sign_in(other_session, user)

    response = post(client, "/mot-de-passe-oublie", {"email": user.email.upper()})
    assert response.status_code == 302
    message = db.session.scalars(select(OutboxMessage).where(OutboxMessage.to == user.email)).one()
    raw = _reset_link(message)
    stored = db.session.scalars(select(PasswordResetToken).where(PasswordResetToken.user_id == user.id)).one()
    assert stored.token_hash == hashlib.sha256(raw.encode()).hexdigest() and raw not in stored.token_hash
    eml = [p for p in Path(app.config["OUTBOX_DIR"]).glob("*.eml") if raw in p.read_text()]
    assert len(eml) == 1 and f"To: {user.email}" in eml[0].read_text()

    page = client.get(f"/mot-de-passe-oublie/nouveau?token={raw}")
    assert page.status_code == 200
    weak = post(client, "/mot-de-passe-oublie/nouveau", {"token": raw, "new_password": "123456789012",
                                                          "confirm": "123456789012"},
                page=f"/mot-de-passe-oublie/nouveau?token={raw}")
    assert weak.status_code == 422
    done = post(client, "/mot-de-passe-oublie/nouveau", {"token": raw, "new_password": NEW_PASSWORD,
                                                          "confirm": NEW_PASSWORD},
                page=f"/mot-de-passe-oublie/nouveau?token={raw}")
    assert done.status_code == 302 and done.headers["Location"].endswith("/connexion")
    db.session.refresh(stored)
    assert stored.used_at is not None
    assert client.get(f"/mot-de-passe-oublie/nouveau?token={raw}").status_code == 410  # single use
    gone = other_session.get("/accueil")
    assert gone.status_code == 302 and "/connexion" in gone.headers["Location"]
    assert post(app.test_client(), "/connexion", {"email": user.email, "password": NEW_PASSWORD}).status_code == 302
    assert {"password_reset_requested", "password_reset_done"} <= set(actions(user))


def test_reset_request_answers_the_same_for_unknown_address(client, factory):
    user = factory.user()
    before = db.session.query(OutboxMessage).count()
    known = post(client, "/mot-de-passe-oublie", {"email": user.email})
    known_page = client.get(known.headers["Location"]).get_data(as_text=True)
    unknown = post(client, "/mot-de-passe-oublie", {"email": "personne@nulle-part.example"})
    unknown_page = client.get(unknown.headers["Location"]).get_data(as_text=True)
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"]
    strip = lambda html: re.sub(r'(content|value)="[^"]*"', "", html)
    assert strip(known_page) == strip(unknown_page)
    assert "Si un compte actif correspond" in known_page
    assert db.session.query(OutboxMessage).count() == before + 1


def test_expired_or_forged_reset_link_refused(client, factory):
    from portal.accounts.services import issue_reset_token
    user = factory.user()
    raw = issue_reset_token(user, minutes=60)
    db.session.flush()
    token = db.session.scalars(select(PasswordResetToken).where(PasswordResetToken.user_id == user.id)).one()
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.flush()
    assert client.get(f"/mot-de-passe-oublie/nouveau?token={raw}").status_code == 410
    assert client.get("/mot-de-passe-oublie/nouveau?token=forge").status_code == 410
    response = post(client, "/mot-de-passe-oublie/nouveau", {"token": raw, "new_password": NEW_PASSWORD,
                                                              "confirm": NEW_PASSWORD},
                    page="/mot-de-passe-oublie")
    assert response.status_code == 410
    db.session.refresh(user)
    from portal.passwords import verify_password
    assert not verify_password(user.password_hash, NEW_PASSWORD)


# --- Lockout and throttling ------------------------------------------------------------------

def _login_page_error(client, email, password):
    response = post(client, "/connexion", {"email": email, "password": password})
    html = response.get_data(as_text=True)
    return response.status_code, re.findall(r'class="fr-error-text">([^<]*)<', html)


def test_lockout_after_repeated_failures_same_answer_as_unknown_user(app, client, factory):
    user = factory.user(role="partner_manager")
    unknown = _login_page_error(client, "inconnu@example.test", "nimporte quoi du tout")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert _login_page_error(client, user.email, "mauvais mot de passe") == unknown
    db.session.refresh(user)
    assert user.locked_until is not None and user.locked_until > utcnow()
    # Even the right password is refused while locked, with the very same answer.
    assert _login_page_error(client, user.email, factory.PASSWORD) == unknown
    assert unknown[0] == 422
    assert "account_locked" in actions(user) and "login_refused_locked" in actions(user)
    user.locked_until = utcnow() - timedelta(seconds=1)  # lock expired
    db.session.flush()
    assert post(client, "/connexion", {"email": user.email, "password": factory.PASSWORD}).status_code == 302


@pytest.fixture
def rate_limited(app):
    limiter.reset()
    limiter.enabled = True
    try:
        yield
    finally:
        limiter.enabled = False
        limiter.reset()


def test_login_is_throttled_per_address(client, factory, rate_limited):
    """Every POST counts (even an incomplete form); past the limit even the right password
    gets 429 until the window passes."""
    from tests.support.factories import csrf_token
    user = factory.user(role="partner_manager")
    token = csrf_token(client, "/connexion")
    codes = [client.post("/connexion", data={"email": user.email, "password": "",
                                              "csrf_token": token}).status_code for _ in range(20)]
    assert codes == [422] * 20
    last = client.post("/connexion", data={"email": user.email, "password": factory.PASSWORD,
                                            "csrf_token": token})
    assert last.status_code == 429 and "Trop de tentatives" in last.get_data(as_text=True)
    assert client.get("/connexion").status_code == 200  # only POSTs are limited


def test_reset_requests_are_throttled(client, factory, rate_limited):
    from tests.support.factories import csrf_token
    token = csrf_token(client, "/mot-de-passe-oublie")
    codes = [client.post("/mot-de-passe-oublie", data={"email": f"a{i}@example.test", "csrf_token": token}).status_code
             for i in range(6)]
    assert codes == [302] * 5 + [429]


# --- Session timeouts ------------------------------------------------------------------------

@pytest.mark.parametrize("field,age", [("last_seen_at", timedelta(minutes=31)),
                                       ("created_at", timedelta(hours=12, minutes=1))])
def test_idle_and_absolute_session_timeouts(client, factory, field, age):
    user = factory.user(role="partner_manager")
    factory.sign_in(client, user)
    assert client.get("/accueil").status_code == 200
    row = db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)).one()
    setattr(row, field, utcnow() - age)
    if field == "created_at":
        row.last_seen_at = utcnow()
    db.session.flush()
    response = client.get("/accueil")
    assert response.status_code == 302 and "/connexion" in response.headers["Location"]
    db.session.refresh(row)
    assert row.revoked_at is not None


def test_session_just_inside_idle_timeout_survives(client, factory):
    user = factory.user(role="partner_manager")
    factory.sign_in(client, user)
    row = db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)).one()
    row.last_seen_at = utcnow() - timedelta(minutes=29)
    db.session.flush()
    assert client.get("/accueil").status_code == 200
    db.session.refresh(row)
    assert row.revoked_at is None and utcnow() - row.last_seen_at < timedelta(minutes=1)
