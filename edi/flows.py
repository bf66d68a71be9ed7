"""Registration of the EDI flows part (files, pipeline, dashboards, API, AVIS_PAIEMENT)."""
from __future__ import annotations

from flask import Flask, request


UPLOAD_ENDPOINTS = {"edi.upload", "api.edi_file_upload"}


def register(app: Flask) -> None:
    from portal.layout import add_nav

    from . import api, models, tasks, views  # noqa: F401  (api routes join portal.api.bp)
    from .services import max_file_bytes

    app.register_blueprint(views.bp)
    app.config["CELERY_BEAT_SCHEDULE"].update(tasks.BEAT_SCHEDULE)
    add_nav(app, "Fichiers EDI", "edi.files", 40)
    add_nav(app, "Avis de paiement", "edi.avis_list", 41)
    add_nav(app, "Supervision EDI", "edi.supervision", 42)

    @app.url_value_preprocessor
    def _edi_upload_limit(endpoint, _values):
        # Runs before every before_request hook (CSRF reads the form): the EDI upload limit
        # applies before any byte of the body is parsed (413 on a larger Content-Length).
        if endpoint in UPLOAD_ENDPOINTS:
            request.max_content_length = max_file_bytes() + 1024 * 1024  # + signature, multipart
