"""Settings, read from the environment and validated at start-up.

A missing or invalid setting stops the app with a message that names it
(`ConfigError`), rather than failing later on the first request that needs it.
"""
from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """A setting is missing or invalid; the message names it."""


def _engine_options(database_url: str, env) -> dict:
    """Pool options; on PostgreSQL, local buffers for temporary tables sized for the largest EDI
    file (edi.intake.record_ids keeps a file's record identifiers in one: ~100 MB for a million).
    They are allocated only by the sessions that use temporary tables, as they use them."""
    # no `pool_pre_ping`: a connection idle for a while is tested at checkout instead
    # (portal.database._ping_when_idle)
    options: dict = {}
    if database_url.startswith("postgresql"):
        temp_buffers = env.get("PG_TEMP_BUFFERS", "256MB")
        if not re.fullmatch(r"[0-9]{1,6}(kB|MB|GB)", temp_buffers):
            raise ConfigError(f"PG_TEMP_BUFFERS : taille PostgreSQL attendue (ex. 256MB), reçu {temp_buffers!r}")
        options["connect_args"] = {"options": f"-c temp_buffers={temp_buffers}"}
    return options


def _var_dir() -> Path:
    return Path(os.environ.get("PORTAL_VAR_DIR", PROJECT_ROOT / "var")).resolve()


def _int(env: dict, name: str, default: int, minimum: int = 0, maximum: int | None = None) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} doit être un entier (reçu {raw!r})") from None
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"entre {minimum} et {maximum}" if maximum is not None else f">= {minimum}"
        raise ConfigError(f"{name} doit être {bound} (reçu {value})")
    return value


def _choice(env: dict, name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = env.get(name) or default
    if value not in allowed:
        raise ConfigError(f"{name} doit valoir {' ou '.join(allowed)} (reçu {value!r})")
    return value


@dataclass(frozen=True)
class Environment:
    name: str  # "development", "production" or "testing"


def load_config(overrides: dict | None = None) -> dict:
    """Build the Flask config dict from os.environ (+ overrides), validating every value."""
    env = {**os.environ, **(overrides or {})}
    mode = env.get("PORTAL_ENV", "development")
    if mode not in {"development", "production", "testing"}:
        raise ConfigError(f"PORTAL_ENV doit valoir development, production ou testing (reçu {mode!r})")
    var_dir = Path(env.get("PORTAL_VAR_DIR", _var_dir()))

    secret = env.get("SECRET_KEY")
    if not secret:
        if mode == "production":
            raise ConfigError("SECRET_KEY est obligatoire en production")
        key_file = var_dir / "secret_key"
        var_dir.mkdir(parents=True, exist_ok=True)
        if not key_file.exists():
            key_file.write_text(secrets.token_hex(32))
            key_file.chmod(0o600)
        secret = key_file.read_text().strip()
    elif len(secret) < 32:
        raise ConfigError("SECRET_KEY doit compter au moins 32 caractères")

    database_url = env.get("DATABASE_URL") or f"sqlite:///{var_dir / 'portal.sqlite'}"
    if mode == "production" and database_url.startswith("sqlite"):
        raise ConfigError("DATABASE_URL doit désigner PostgreSQL en production")
    if not database_url.startswith(("sqlite", "postgresql")):
        raise ConfigError(f"DATABASE_URL doit commencer par sqlite:// ou postgresql:// (reçu {database_url.split(':')[0]!r})")
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]

    broker_url = env.get("CELERY_BROKER_URL") or f"sqla+sqlite:///{var_dir / 'broker.sqlite'}"
    if mode == "production" and not broker_url.startswith(("redis://", "rediss://")):
        raise ConfigError("CELERY_BROKER_URL doit désigner Redis en production")
    if not broker_url.startswith(("redis://", "rediss://", "sqla+", "memory://")):
        raise ConfigError(f"CELERY_BROKER_URL non reconnu (reçu {broker_url.split(':')[0]!r})")

    secure_cookies = env.get("SESSION_COOKIE_SECURE", "1" if mode == "production" else "0") == "1"
    audit_retention = _int(env, "AUDIT_RETENTION_MONTHS", 12, minimum=1, maximum=36)
    hash_profile = env.get("PASSWORD_HASH_PROFILE") or "default"
    if hash_profile not in {"default", "fast"} or (hash_profile == "fast" and mode == "production"):
        raise ConfigError(f"PASSWORD_HASH_PROFILE doit valoir default (ou fast, hors production) "
                          f"(reçu {hash_profile!r})")

    if mode == "production" and env.get("JOB_DISPATCH", "broker") != "broker":
        raise ConfigError("JOB_DISPATCH doit valoir broker en production")

    config = {
        "PORTAL_ENV": mode,
        "TESTING": mode == "testing",
        # Templates compiled once per process; only development rereads a changed file (a stat
        # of every template and include at each render otherwise). The benchmarks, which run in
        # development mode, switch it off to measure what production does.
        "TEMPLATES_AUTO_RELOAD": _choice(env, "TEMPLATES_AUTO_RELOAD",
                                         "1" if mode == "development" else "0", ("0", "1")) == "1",
        "SECRET_KEY": secret,
        "VAR_DIR": str(var_dir),
        "STORAGE_DIR": env.get("STORAGE_DIR", str(var_dir / "storage")),
        "OUTBOX_DIR": env.get("OUTBOX_DIR", str(var_dir / "outbox")),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(database_url, env),
        "CELERY_BROKER_URL": broker_url,
        # Sessions: server-side rows referenced by a signed cookie.
        "SESSION_COOKIE_NAME": "__Host-ep_session" if secure_cookies else "ep_session",
        "SESSION_COOKIE_SECURE": secure_cookies,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_PATH": "/",
        "REMEMBER_COOKIE_DURATION": 0,
        "SESSION_IDLE_MINUTES": _int(env, "SESSION_IDLE_MINUTES", 30, minimum=1),
        "SESSION_ABSOLUTE_HOURS": _int(env, "SESSION_ABSOLUTE_HOURS", 12, minimum=1),
        "LOGIN_MAX_FAILURES": _int(env, "LOGIN_MAX_FAILURES", 5, minimum=1),
        "LOGIN_LOCKOUT_MINUTES": _int(env, "LOGIN_LOCKOUT_MINUTES", 15, minimum=1),
        "AUDIT_RETENTION_MONTHS": audit_retention,
        "PASSWORD_HASH_PROFILE": hash_profile,
        "PASSWORD_RESET_MINUTES": _int(env, "PASSWORD_RESET_MINUTES", 60, minimum=5, maximum=1440),
        "ACCOUNT_ACTIVATION_HOURS": _int(env, "ACCOUNT_ACTIVATION_HOURS", 72, minimum=1, maximum=336),
        "API_TOKEN_MAX_DAYS": _int(env, "API_TOKEN_MAX_DAYS", 365, minimum=1, maximum=365),
        "MAX_CONTENT_LENGTH": _int(env, "MAX_UPLOAD_MB", 100, minimum=1) * 1024 * 1024,
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_CSRF_SSL_STRICT": secure_cookies,
        # Several gunicorn workers must share their counters: Redis (the broker's) in production.
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI")
        or (broker_url if mode == "production" else "memory://"),
        "RATELIMIT_ENABLED": env.get("RATELIMIT_ENABLED", "1") == "1",
        # Background jobs (portal/jobs.py). The lease bounds one attempt (task time limits are
        # derived from it and stay below Redis' visibility timeout of 3600 s).
        "JOB_LEASE_SECONDS": _int(env, "JOB_LEASE_SECONDS", 300, minimum=2, maximum=3000),
        "JOB_MAX_DELIVERIES": _int(env, "JOB_MAX_DELIVERIES", 5, minimum=1),
        "JOB_RECONCILE_SECONDS": _int(env, "JOB_RECONCILE_SECONDS", 30, minimum=1),
        "JOB_RESEND_AFTER_SECONDS": _int(env, "JOB_RESEND_AFTER_SECONDS", 600, minimum=10),
        "JOB_RETRY_SECONDS": _int(env, "JOB_RETRY_SECONDS", 10, minimum=0),
        "JOB_DISPATCH": _choice(env, "JOB_DISPATCH", "broker", ("broker", "manual")),
        "MAIL_FROM": env.get("MAIL_FROM", "extranet-partenaires@caf.example"),
        "PUBLIC_BASE_URL": env.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000"),
        "DEMO_MODE": env.get("DEMO_MODE", "1" if mode != "production" else "0") == "1",
    }
    # Domain settings prefixed with the domain name, passed through as-is (each domain validates its own).
    for key, value in env.items():
        if key.startswith(("AFAS_", "CDAP_", "EDI_")):
            config[key] = value
    if overrides:
        for key, value in overrides.items():
            if key.isupper() and key not in config:
                config[key] = value
    return config
