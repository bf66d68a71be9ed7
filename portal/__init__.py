"""Extranet Partenaires — the portal shell (app factory).

The shell owns configuration, database, accounts, audit, layout and API plumbing; the
services (AFAS, CDAP, EDI) are separate packages registered here by name and nothing else.
"""
from __future__ import annotations

import importlib
import os
import re
import uuid
from pathlib import Path

from flask import Flask, g, request

from .config import load_config

DOMAINS = ("afas", "cdap", "edi", "dashboards")


_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,36}")  # the journals keep 36 characters

def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(__name__)
    from . import inputs
    inputs.init_app(app)  # the bounded `<int:...>` converter, before any route is added
    app.config.update(load_config(overrides))
    app.config.setdefault("CELERY_BEAT_SCHEDULE", {})
    app.config["MIGRATION_DIRS"] = [str(Path(__file__).parent / "migrations" / "versions")]
    for name in ("VAR_DIR", "STORAGE_DIR", "OUTBOX_DIR"):
        Path(app.config[name]).mkdir(parents=True, exist_ok=True)

    from . import logging_setup
    logging_setup.configure(app)
    from . import passwords
    passwords.configure(app.config["PASSWORD_HASH_PROFILE"])

    from .extensions import csrf, db, limiter, login_manager, migrate
    from .database import configure_engine_events
    db.init_app(app)
    with app.app_context():
        configure_engine_events(db.engine, immediate=bool(app.config.get("SQLITE_BEGIN_IMMEDIATE")))
    csrf.init_app(app)
    # French messages for WTForms' built-in validators ("Not a valid choice" → « Choix non valide »)
    # from WTForms' own catalogue, without Flask-Babel.
    from flask_wtf import FlaskForm
    app.config["WTF_I18N_ENABLED"] = False
    FlaskForm.Meta.locales = ("fr_FR", "fr")
    # The limiter is always wired (hooks, storage); RATELIMIT_ENABLED only switches it on or off,
    # so a test can switch it on for itself (`limiter.enabled = True`).
    enabled = app.config["RATELIMIT_ENABLED"]
    app.config["RATELIMIT_ENABLED"] = True
    limiter.init_app(app)
    app.config["RATELIMIT_ENABLED"] = limiter.enabled = enabled
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Connectez-vous pour accéder à cette page."
    login_manager.session_protection = None  # server-side sessions do the job

    from .accounts.sessions import load_user_from_session
    login_manager.user_loader(load_user_from_session)

    # Importing the models registers them on the metadata before migrations/queries.
    from . import audit, chain, jobs, models  # noqa: F401

    @app.before_request
    def _request_id():
        # A correlation id from the reverse proxy is kept (it ties the logs together); anything
        # else than a plain token, which would land as is in the audit and CDAP journals, is
        # replaced by our own.
        given = request.headers.get("X-Request-Id", "")
        g.request_id = given if _REQUEST_ID.fullmatch(given) else str(uuid.uuid4())

    from .access import enforce_access
    app.before_request(enforce_access)

    from . import layout, security_headers, errors
    security_headers.init_app(app)
    errors.init_app(app)
    layout.init_app(app)

    from .accounts.views import bp as accounts_bp
    from .home import bp as home_bp
    app.register_blueprint(accounts_bp)
    app.register_blueprint(home_bp)
    from .admin import register as register_admin
    register_admin(app)

    from .api import bp as api_bp, init_api
    init_api(app)

    for name in DOMAINS:
        importlib.import_module(name).register(app)

    app.register_blueprint(api_bp)  # after the domains added their API routes to it

    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"))

    @migrate.configure
    def _version_locations(config):
        config.set_main_option("version_locations", os.pathsep.join(app.config["MIGRATION_DIRS"]))
        return config

    from .celery_app import make_celery
    make_celery(app)

    from .cli import register_commands
    register_commands(app)
    return app
