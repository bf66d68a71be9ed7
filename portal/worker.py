"""Celery entry point: `celery -A portal.worker worker` / `beat`.

The app is built from the environment like the web app (DATABASE_URL, CELERY_BROKER_URL,
JOB_LEASE_SECONDS...). On SQLite the worker opens its transactions with BEGIN IMMEDIATE.
PORTAL_EXTRA_MODULES (tests only, refused in production): comma-separated modules imported
after the app is built, so that job handlers registered by a test module exist in the worker.
"""
import importlib
import os

from . import create_app
from .config import ConfigError

flask_app = create_app({"SQLITE_BEGIN_IMMEDIATE": True})

_extra = [m.strip() for m in os.environ.get("PORTAL_EXTRA_MODULES", "").split(",") if m.strip()]
if _extra and flask_app.config["PORTAL_ENV"] == "production":
    raise ConfigError("PORTAL_EXTRA_MODULES est réservé aux tests")
for _module in _extra:
    importlib.import_module(_module)

celery = flask_app.extensions["celery"]
