"""The team lead's dashboard (a board of the home page, its figures and the CSV export) and the
landlord's view of its own declarations (received, plan, maintien de l'aide: nothing else)."""
from __future__ import annotations

from datetime import date

from flask import abort, current_app, render_template
from flask_login import current_user
from sqlalchemy import select

from portal.access import requires, user_may_open
from portal.dashboards.charts import Chart, Dataset, Section
from portal.dates import today as paris_today
from portal.downloads import attachment
from portal.extensions import db
from portal.formatting import accord
from portal.registry import Board, Charts
from portal.spreadsheets import csv_text

from ..models import ImpayeQueueItem, SignalementImpaye
from ..views import CDAP_ROLES, bp, current_actor
from . import agenda
from .models import ISSUES, MAINTIEN, MODES, PLANS, Situation
from .services import landlord_view

LEADS = ("responsable_equipe", "agent_caf")
PLAN_LABELS = PLANS
STATUTS = {"nouveau": "Nouveau", "en_cours": "Pris en charge", "plan_apurement": "Plan d'apurement en place",
           "clos": "Clos"}


def _profile(user) -> str | None:
    hab = user.habilitation("CDAP")
    return hab.profil if hab else None


def _rows(user):
    territoire = user.organisation.territoire
    return agenda.cases(territoire=territoire, all_territories=_profile(user) == "agent_caf" and not territoire)


def _delay() -> int:
    return current_app.config["CDAP_SETTINGS"]["CDAP_CONTACT_DELAY_WORKING_DAYS"]


def lead_section(user, today: date) -> Section | None:
    if _profile(user) not in LEADS:
        return None
    figures = agenda.figures(_rows(user), paris_today(), _delay())
    modes = {**MODES, "non_defini": "Mode non défini"}
    by_mode = Chart(
        id="cdap-situations-modes", title="Situations ouvertes par mode d'intervention", kind="bar",
        labels=[modes[m] for m in modes if m in figures.by_mode], label_header="Mode",
        datasets=[Dataset("Situations", [figures.by_mode[m] for m in modes if m in figures.by_mode])],
        summary=f"{accord(figures.open, 'situation ouverte', 'situations ouvertes')}, dont {figures.uncontacted} non contactée{'s' if figures.uncontacted > 1 else ''} dans le délai.",
        empty_message="Aucune situation ouverte.")
    by_issue = Chart(
        id="cdap-situations-issues", title="Situations closes par issue", kind="bar",
        labels=[ISSUES[i] for i in ISSUES if i in figures.by_issue], label_header="Issue",
        datasets=[Dataset("Situations", [figures.by_issue[i] for i in ISSUES if i in figures.by_issue])],
        summary=f"{accord(sum(figures.by_issue.values()), 'situation close', 'situations closes')}.",
        empty_message="Aucune situation close.")
    return Section([by_mode, by_issue], template="cdap/situations_tableau.html",
                   context={"figures": figures, "delay": _delay(),
                            # A Caf admin leads but does not work the queue: no link to a 403.
                            "may_open_queue": user_may_open(user, "cdap.queue")})


LEAD_BOARD = Board("tableau-de-bord-impayes", "Suivi des impayés de loyer",
                   shown_to=lambda user: _profile(user) in LEADS, order=25)
CHARTS = [Charts(LEAD_BOARD.id, "cdap-situations", "Situations du territoire", lead_section, order=10)]

CSV_COLUMNS = [("id", "Élément"), ("signal", "Signalé le"), ("statut", "Statut"), ("mode", "Mode"),
               ("premier_contact", "Premier contact le"), ("non_contacte", "Non contacté dans le délai"),
               ("plan", "Plan d'apurement"), ("maintien", "Maintien de l'aide"), ("issue", "Issue"),
               ("minutes", "Temps passé (minutes)")]


def _cell(key, value):
    if key in ("signal", "premier_contact"):
        return value.strftime("%d/%m/%Y") if value else ""
    labels = {"statut": STATUTS, "mode": MODES, "plan": PLAN_LABELS, "maintien": MAINTIEN, "issue": ISSUES}
    if key == "non_contacte":
        return "oui" if value else "non"
    if key in labels:
        return labels[key].get(value, "") if value or key == "plan" else ""
    return "" if value is None else value


@bp.get("/situations/tableau.csv")
@requires(CDAP_ROLES, service="CDAP")
def situations_csv():
    """No name nor numéro: one line per case of the territory, by its queue item number."""
    if current_actor().profile not in LEADS:
        abort(403)
    figures = agenda.figures(_rows(current_user), paris_today(), _delay())
    body = csv_text([label for _, label in CSV_COLUMNS],
                      [[_cell(k, row[k]) for k, _ in CSV_COLUMNS] for row in figures.rows])
    return attachment(body, mimetype="text/csv", filename=f"situations-impayes-{paris_today():%Y-%m-%d}.csv")


@bp.get("/impayes/mes-signalements")
@requires({"bailleur_operator"}, service="CDAP")
def landlord_declarations():
    actor = current_actor()
    if actor.profile != "bailleur" or not actor.code_bailleur:
        abort(403)
    rows = db.session.execute(
        select(ImpayeQueueItem, SignalementImpaye, Situation)
        .join(SignalementImpaye, SignalementImpaye.id == ImpayeQueueItem.impaye_id)
        .outerjoin(Situation, Situation.queue_item_id == ImpayeQueueItem.id)
        .where(SignalementImpaye.code_bailleur == actor.code_bailleur)
        .order_by(SignalementImpaye.date_signalement.desc(), ImpayeQueueItem.id.desc()).limit(500)).all()
    lines = [{"item_id": item.id, "reference": s.idempotency_key, "dette_cents": s.montant_dette_cents,
              **landlord_view(s, sit)} for item, s, sit in rows]
    return render_template("cdap/situations_bailleur.html", lines=lines)
