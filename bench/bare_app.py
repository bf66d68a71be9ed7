"""The bare anchor of the CDAP bench: the cheapest page the same stack can serve.

One `SELECT … WHERE numero = :n` on `cdap_allocataires` (the unique index), a 3-line Jinja
template, Flask + SQLAlchemy + psycopg, served by gunicorn with the same settings as the
portal (`bench/cdap_bench.py` starts both). No session, no access control, no journal: what
a consultation costs beyond this is the portal's own work.

    DATABASE_URL=postgresql://... gunicorn -w 3 -b 127.0.0.1:8098 'bare_app:create_app()'
"""
from __future__ import annotations

import os

from flask import Flask, render_template_string, request
from sqlalchemy import create_engine, text

TEMPLATE = """<!doctype html><html lang="fr"><title>Allocataire</title>
{% if row %}<p>{{ row.numero }} {{ row.nom }} {{ row.prenom }}, {{ row.commune }}</p>
{% else %}<p>Aucun dossier</p>{% endif %}</html>"""
QUERY = text("SELECT numero, nom, prenom, commune FROM cdap_allocataires WHERE numero = :n")


def create_app() -> Flask:
    app = Flask(__name__)
    url = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url, pool_pre_ping=False)

    @app.post("/")
    def lookup():
        with engine.connect() as conn:
            row = conn.execute(QUERY, {"n": request.form.get("numero", "")}).mappings().first()
        return render_template_string(TEMPLATE, row=row), (200 if row else 404)

    @app.get("/sante")
    def health():
        return "ok"

    return app
