"""Extranet Partenaires — the portal shell (app factory).

The shell owns configuration, database, accounts, audit, layout, dashboards and API plumbing;
the services (AFAS, CDAP, EDI) are separate packages. `served_domains()` is the one place the
shell imports them, only to call their `register(app)`, which declares everything the domain
brings through `portal.registry`.
"""
from __future__ import annotations

import os
import re
import uuid
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from flask import Flask, g, request

from .config import load_config


def served_domains() -> tuple[ModuleType, ...]:
    """The domains the shell serves, in registration order (the order of their navigation ties,
    home panels and demo steps)."""
    import afas
    import cdap
    import edi
    return (afas, cdap, edi)


_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,36}")  # the journals keep 36 characters

def create_app(overrides: dict | None = None, domains: Sequence[ModuleType] | None = None) -> Flask:
    """The application; ``domains`` replaces the served domains (tests register a fake one)."""
    from .templating import PortalFlask
    app = PortalFlask(__name__)
    from . import inputs
    inputs.init_app(app)  # the bounded `<int:...>` converter, before any route is added
    app.config.update(load_config(overrides))
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

    from . import layout, registry, security_headers, errors, shell
    security_headers.init_app(app)
    errors.init_app(app)
    contributions = registry.init_app(app)
    layout.init_app(app)
    registry.contribute(app, shell.domain())

    from .api import bp as api_bp, init_api
    init_api(app)

    for domain in served_domains() if domains is None else domains:
        domain.register(app)

    app.register_blueprint(api_bp)  # after the domains added their API routes to it
    contributions.check(app)

    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"))

    @migrate.configure
    def _version_locations(config):
        # Flask-Migrate keeps these callbacks on its one global instance: read the running
        # app's migration directories, not the last app built's.
        config.set_main_option("version_locations", os.pathsep.join(registry.current().migration_dirs))
        return config

    from .celery_app import make_celery
    make_celery(app)

    from .cli import register_commands
    register_commands(app)
    return app
