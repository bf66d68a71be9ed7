"""Dashboards: charts on the home page of Caf staff, partners and landlords.

Figures come from each service's small aggregate functions (`afas.stats`, `cdap.stats`,
`edi.stats`: GROUP BY queries); this package only shapes them into chart specifications
(`charts.py`, plain Python) rendered by `templates/dashboards/*.html`. Charts are drawn by
Chart.js from a static script reading JSON data blocks (strict CSP: no inline script), in DSFR
colours, each with a data table as text alternative.
"""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("dashboards", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/dashboards")


def register(app) -> None:
    from . import panels
    app.register_blueprint(bp)
    app.extensions.setdefault("home_panels", []).extend(
        [panels.caf_panel, panels.partner_panel, panels.landlord_panel])
