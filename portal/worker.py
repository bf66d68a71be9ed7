"""Celery entry point: `celery -A portal.worker worker` / `beat`."""
from . import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]
