"""CDAP chart for the Caf's dashboard (registered by ``cdap.register``): consultations per
profile and day, with the atypical-use alerts of the period, from ``cdap.stats``."""
from __future__ import annotations

from datetime import date, timedelta

from portal.dashboards import CAF_BOARD
from portal.dashboards.charts import WINDOW_DAYS, Chart, Dataset, Section, day_label, days, pivot
from portal.formatting import accord
from portal.registry import Charts

from . import stats
from .policy import POLICY

ALERT_KINDS = {"volume": "Volume journalier", "nuit": "Usage de nuit", "introuvables": "Recherches infructueuses"}
ALERT_LEVELS = {"alerte": "Alerte", "suspension": "Suspension"}


def consultations_chart(today: date) -> tuple[Chart, list[dict]]:
    since = today - timedelta(days=WINDOW_DAYS - 1)
    rows = stats.consultations_per_profile_per_day(since)
    span = days(since, today)
    keys = [d.isoformat() for d in span]
    profiles = [p for p in POLICY if any(r["profile"] == p for r in rows)]
    series = pivot(rows, "day", "profile", "nombre", keys, profiles)
    total = sum(r["nombre"] for r in rows)
    alerts = stats.recent_alerts(since)
    for alert in alerts:
        alert["kind_label"] = ALERT_KINDS.get(alert["kind"], alert["kind"])
        alert["level_label"] = ALERT_LEVELS.get(alert["level"], alert["level"])
    chart = Chart(
        id="caf-cdap-consultations", title=f"Consultations CDAP par profil ({WINDOW_DAYS} derniers jours)",
        kind="line", labels=[day_label(d) for d in span], label_header="Jour",
        datasets=[Dataset(POLICY[p].label, series[p]) for p in profiles],
        summary=(f"{accord(total, 'consultation')} en {WINDOW_DAYS} jours, "
                 f"{accord(len(alerts), 'alerte')} d'usage atypique."),
        empty_message="Aucune consultation sur la période.")
    return chart, alerts


def caf_section(user, today: date) -> Section:
    chart, alerts = consultations_chart(today)
    return Section([chart], template="cdap/dashboard_alerts.html", context={"alerts": alerts})


CHARTS = [Charts(CAF_BOARD.id, "cdap", "CDAP — consultations des dossiers", caf_section, order=30)]
