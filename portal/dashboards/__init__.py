"""Dashboards: the boards of charts on the home page, a facility of the shell.

The shell renders what the domains register (``portal.registry.Board`` and ``Charts``): each
domain computes its figures with its own aggregates and builds its charts in its own
``dashboard.py``, imported by its ``register()`` (a broken chart module stops the start-up, it
never makes charts vanish). This package only lays them out: chart specifications
(``charts.py``, plain Python) drawn by Chart.js from a static script reading JSON data blocks
(strict CSP: no inline script), in DSFR colours, each with a data table as text alternative.
"""
from __future__ import annotations

from datetime import date

from flask import Blueprint

from .. import registry
from ..dates import today as paris_today

bp = Blueprint("dashboards", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/dashboards")

# The Caf's board: every domain may add its sections for Caf staff.
CAF_BOARD = registry.Board("tableau-de-bord-caf", "Tableau de bord de la Caf",
                           shown_to=lambda user: user.is_caf_staff, order=10)


def panels(user, today: date | None = None) -> list[tuple[str, dict]]:
    """The home-page panels of the boards shown to ``user``: (template, context) each, boards
    and sections in their declared order; a board with no section for the user is left out."""
    contributions = registry.current()
    # The domains' aggregates count by Paris day (portal.paris_days), so the charts' last day
    # is today in Paris.
    today = today or paris_today()
    out = []
    for board in sorted(contributions.boards.values(), key=lambda b: b.order):
        if not board.shown_to(user):
            continue
        sections = []
        for charts in sorted((c for c in contributions.charts if c.board == board.id),
                             key=lambda c: c.order):
            section = charts.build(user, today)
            if section is not None:
                sections.append({"id": charts.id, "title": charts.title, "charts": section.charts,
                                 "template": section.template, "context": section.context})
        if sections:
            out.append(("dashboards/panel.html",
                        {"panel_id": board.id, "title": board.title, "sections": sections}))
    return out
