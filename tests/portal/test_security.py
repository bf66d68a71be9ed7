"""Security baseline: CSRF, TOTP replay, headers, error pages, logs without secrets,
settings validation, production cookies."""
import logging
import re

import pytest
from sqlalchemy import select

from portal.access import public
from portal.audit import AuditEntry
from portal.config import ConfigError, load_config
from portal.extensions import db
from portal.logging_setup import RedactSecrets
from portal.models import OutboxMessage


def post(client, path, data=None, page="/accueil"):
    from tests.support.factories import csrf_token
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(client, page)})


# --- CSRF ------------------------------------------------------------------------------------

def test_missing_or_forged_csrf_token_is_400_on_forms(client, factory):
    admin = factory.user(factory.organisation(services={"EDI": []}), role="partner_admin")
    factory.sign_in(client, admin)
    for path, data in (("/administration/jetons/nouveau", {"nom": "x", "scopes": ["EDI"], "days": "30"}),
                       ("/compte/mot-de-passe", {"current_password": factory.PASSWORD}),
                       ("/deconnexion", {})):
        assert client.post(path, data=data).status_code == 400, path
        assert client.post(path, data={**data, "csrf_token": "forge"}).status_code == 400, path
    assert db.session.query(AuditEntry).filter_by(action="api_token_created").count() == 0
    assert client.get("/accueil").status_code == 200  # still signed in: logout needed its token


def test_htmx_header_token_is_accepted(client, factory):
    from tests.support.factories import csrf_token
    user = factory.user()
    factory.sign_in(client, user)
    token = csrf_token(client, "/accueil")
    response = client.post("/deconnexion", headers={"X-CSRFToken": token})
    assert response.status_code == 302


# --- TOTP ------------------------------------------------------------------------------------

def test_reused_totp_code_is_refused(app, client, factory):
    user = factory.user(role="caf_agent", org=factory.caf())
    code = factory.totp_now(user)
    factory.sign_in(client, user, mfa=False)
    assert post(client, "/connexion/code", {"code": code}, page="/connexion/code").status_code == 302
    other = app.test_client()
    factory.sign_in(other, user, mfa=False)
    replay = post(other, "/connexion/code", {"code": code}, page="/connexion/code")
    assert replay.status_code == 422 and "déjà utilisé" in replay.get_data(as_text=True)
    assert other.get("/accueil").headers["Location"].endswith("/connexion/code")


def test_mfa_failures_lock_the_account(app, client, factory):
    user = factory.user(role="caf_agent", org=factory.caf())
    factory.sign_in(client, user, mfa=False)
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        assert post(client, "/connexion/code", {"code": "000000"}, page="/connexion/code").status_code == 422
    last = post(client, "/connexion/code", {"code": "000000"}, page="/connexion/code")
    assert last.status_code == 302 and last.headers["Location"].endswith("/connexion")
    db.session.refresh(user)
    assert user.locked_until is not None


# --- Headers and error pages -----------------------------------------------------------------

def test_csp_and_security_headers(client, factory):
    for path in ("/connexion", "/api/v1/openapi.json"):
        h = client.get(path).headers
        csp = h["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp and "'unsafe-inline'" not in csp
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert h["X-Content-Type-Options"] == "nosniff"
        assert h["X-Frame-Options"] == "DENY"
        assert h["Referrer-Policy"] == "same-origin"
        assert h["Cache-Control"] == "no-store"


def test_pages_have_no_inline_script_or_style(client, factory):
    user = factory.user(factory.caf(), role="caf_admin")
    factory.sign_in(client, user)
    for path in ("/connexion", "/accueil", "/compte", "/caf/administration/organisations",
                 "/caf/administration/audit", "/caf/administration/organisations/nouvelle",
                 f"/caf/administration/organisations/{user.organisation_id}",
                 f"/administration/utilisateurs/{user.id}"):
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert " style=" not in html and "<style" not in html, path
        assert not re.search(r"\son[a-z]+=", html), path  # no inline event handlers


@pytest.fixture
def boom(app, monkeypatch):
    """A test-only view that fails with internals in its message (in place of /sante)."""
    @public
    def _boom():
        raise RuntimeError("SELECT password_hash FROM users -- /srv/secret/config.py line 42")
    monkeypatch.setitem(app.view_functions, "home.health", _boom)


def test_error_page_shows_no_internals(client, boom, caplog):
    with caplog.at_level(logging.ERROR):
        response = client.get("/sante")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Erreur interne" in html
    for leak in ("Traceback", "RuntimeError", "password_hash", "/srv/secret", "line 42"):
        assert leak not in html
    assert any("erreur non gérée" in r.getMessage() for r in caplog.records)  # logged server-side


def test_404_and_403_pages_are_plain(client, factory):
    response = client.get("/nulle-part")
    assert response.status_code == 404 and "Page introuvable" in response.get_data(as_text=True)
    user = factory.user()
    factory.sign_in(client, user)
    forbidden = client.get("/caf/administration/audit")
    assert forbidden.status_code == 403 and "Accès refusé" in forbidden.get_data(as_text=True)


# --- Logs never contain secrets --------------------------------------------------------------

def test_logs_never_contain_passwords_codes_tokens_or_cookies(app, client, factory, caplog, api_client):
    org = factory.organisation("bailleur", services={"EDI": []})
    admin = factory.user(org, role="partner_admin")
    with caplog.at_level(logging.DEBUG):
        post(client, "/connexion", {"email": admin.email, "password": "mauvais-mot-de-passe-42"}, page="/connexion")
        code = factory.totp_now(admin)
        factory.sign_in(client, admin, mfa=False)
        post(client, "/connexion/code", {"code": code}, page="/connexion/code")
        created = post(client, "/administration/jetons/nouveau", {"nom": "GL", "scopes": ["EDI"], "days": "30"},
                       page="/administration/jetons/nouveau")
        raw = re.search(r'data-testid="raw-token">([^<]+)<', created.get_data(as_text=True)).group(1)
        api_client(raw).get("/api/v1/moi")
        api_client("ep_faux-jeton-qui-n-existe-pas").get("/api/v1/moi")
        post(client, "/mot-de-passe-oublie", {"email": admin.email}, page="/mot-de-passe-oublie")
        cookie = client.get_cookie("ep_session").value
    mail = db.session.scalars(select(OutboxMessage).where(OutboxMessage.to == admin.email)).one()
    reset = re.search(r"token=(\S+)", mail.body).group(1)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (factory.PASSWORD, "mauvais-mot-de-passe-42", code, raw, "ep_faux-jeton", reset, cookie,
                   admin.totp_secret):
        assert secret not in logged
    audit_text = " ".join(f"{e.target} {e.details}" for e in db.session.scalars(select(AuditEntry)))
    for secret in (factory.PASSWORD, code, raw, reset):
        assert secret not in audit_text


@pytest.mark.parametrize("line,secret", [
    ('"POST /connexion HTTP/1.1" password=hunter2hunter2', "hunter2hunter2"),
    ('"GET /mot-de-passe-oublie/nouveau?token=AbC-123_xyz HTTP/1.1" 200', "AbC-123_xyz"),
    ("Authorization: Bearer ep_s3cr3tvalue", "ep_s3cr3tvalue"),
    ("Cookie: ep_session=eyJzaWQiOiJ4In0.abc", "eyJzaWQiOiJ4In0.abc"),
    ('{"code": "123456"}', "123456"),
])
def test_log_filter_masks_secrets(line, secret):
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, "%s", (line,), None)
    RedactSecrets().filter(record)
    assert secret not in record.getMessage() and "[masqué]" in record.getMessage()


def test_audit_refuses_secret_looking_details(app):
    from portal.audit import record_event
    for key in ("password", "totp_code", "raw_token", "cookie"):
        with pytest.raises(ValueError):
            record_event("auth", "probe", **{key: "x"})


# --- Settings --------------------------------------------------------------------------------

PROD = {"PORTAL_ENV": "production", "SECRET_KEY": "p" * 48,
        "DATABASE_URL": "postgresql://u:p@db/extranet", "CELERY_BROKER_URL": "redis://redis:6379/0"}


@pytest.mark.parametrize("overrides,setting", [
    ({"SESSION_IDLE_MINUTES": "trente"}, "SESSION_IDLE_MINUTES"),
    ({"SESSION_ABSOLUTE_HOURS": "0"}, "SESSION_ABSOLUTE_HOURS"),
    ({"LOGIN_MAX_FAILURES": "-1"}, "LOGIN_MAX_FAILURES"),
    ({"AUDIT_RETENTION_MONTHS": "37"}, "AUDIT_RETENTION_MONTHS"),
    ({"PASSWORD_RESET_MINUTES": "0"}, "PASSWORD_RESET_MINUTES"),
    ({"API_TOKEN_MAX_DAYS": "400"}, "API_TOKEN_MAX_DAYS"),
    ({"MAX_UPLOAD_MB": "beaucoup"}, "MAX_UPLOAD_MB"),
    ({"SECRET_KEY": "court"}, "SECRET_KEY"),
    ({"PORTAL_ENV": "prod"}, "PORTAL_ENV"),
    ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL"),
    ({"CELERY_BROKER_URL": "amqp://x"}, "CELERY_BROKER_URL"),
    ({**PROD, "SECRET_KEY": ""}, "SECRET_KEY"),
    ({**PROD, "PASSWORD_HASH_PROFILE": "fast"}, "PASSWORD_HASH_PROFILE"),
    ({"PASSWORD_HASH_PROFILE": "md5"}, "PASSWORD_HASH_PROFILE"),
    ({**PROD, "DATABASE_URL": "sqlite:///x.sqlite"}, "DATABASE_URL"),
    ({**PROD, "CELERY_BROKER_URL": "sqla+sqlite:///b.sqlite"}, "CELERY_BROKER_URL"),
])
def test_invalid_setting_stops_with_its_name(tmp_path, overrides, setting):
    with pytest.raises(ConfigError, match=setting):
        load_config({"PORTAL_VAR_DIR": str(tmp_path), **overrides})


def test_production_cookies(tmp_path):
    config = load_config({"PORTAL_VAR_DIR": str(tmp_path), **PROD})
    assert config["SESSION_COOKIE_NAME"].startswith("__Host-")
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] in ("Lax", "Strict")
    assert config["SESSION_COOKIE_PATH"] == "/" and not config.get("SESSION_COOKIE_DOMAIN")
    assert config["DEMO_MODE"] is False and config["WTF_CSRF_SSL_STRICT"] is True
    assert config["PASSWORD_HASH_PROFILE"] == "default"
    assert config["TEMPLATES_AUTO_RELOAD"] is False  # compiled once per process
    assert config["RATELIMIT_STORAGE_URI"] == PROD["CELERY_BROKER_URL"]  # shared by all workers


def test_fast_test_hashes_are_upgraded_by_the_default_profile():
    from portal import passwords
    try:
        passwords.configure("fast")
        cheap = passwords.hash_password("une phrase de passe assez longue")
        passwords.configure("default")
        assert cheap.startswith("$argon2id$")
        assert passwords.verify_password(cheap, "une phrase de passe assez longue")
        assert passwords.needs_rehash(cheap)
        assert not passwords.needs_rehash(passwords.hash_password("autre phrase de passe"))
    finally:
        passwords.configure("fast")


def test_default_profile_is_argon2id_at_owasp_minimum_and_upgrades_older_hashes():
    """OWASP's Password Storage Cheat Sheet: Argon2id, 19 MiB, 2 passes, 1 lane at least. A hash
    made with the library's heavier default (64 MiB, 3 passes, 4 lanes: 238 ms of CPU per
    sign-in) still verifies and is rehashed at the next sign-in."""
    from argon2 import PasswordHasher, extract_parameters
    from portal import passwords
    try:
        passwords.configure("default")
        params = extract_parameters(passwords.hash_password("une phrase de passe assez longue"))
        assert params.type.name == "ID"
        assert (params.memory_cost, params.time_cost, params.parallelism) == (19_456, 2, 1)
        heavier = PasswordHasher().hash("une phrase de passe assez longue")
        assert passwords.verify_password(heavier, "une phrase de passe assez longue")
        assert passwords.needs_rehash(heavier)
    finally:
        passwords.configure("fast")


def test_session_cookie_flags_on_the_wire(client, factory):
    from tests.support.factories import csrf_token
    user = factory.user()
    response = client.post("/connexion", data={"email": user.email, "password": factory.PASSWORD,
                                                "csrf_token": csrf_token(client, "/connexion")})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Domain" not in cookie and "Expires" not in cookie  # host-only session cookie


@pytest.mark.parametrize("given, kept", [
    ("edge-7f3a9c21-aa01", True), ("a" * 36, True),
    ("x" * 37, False), ("short", False), ("id with spaces", False), ("<script>", False), ("", False)])
def test_a_client_request_id_is_kept_only_when_it_is_a_plain_token(app, given, kept):
    """It lands in the audit and CDAP journals: only a plain correlation token is trusted."""
    from flask import g
    with app.test_request_context("/", headers={"X-Request-Id": given} if given else {}):
        app.preprocess_request()
        assert (g.request_id == given) is kept
        assert re.fullmatch(r"[A-Za-z0-9._-]{8,36}", g.request_id)
