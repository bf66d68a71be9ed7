"""EDI chart for the home-page dashboards (registered by ``edi.register``): files received per
day with the rejection rate and the most frequent rejection codes, from ``edi.stats``. The Caf
sees every landlord's (30 days); a landlord (its own board) sees its own (90 days)."""
from __future__ import annotations

from datetime import date, timedelta

from portal.dashboards import CAF_BOARD
from portal.dashboards.charts import WINDOW_DAYS, Chart, Dataset, Section, day_label, days
from portal.formatting import accord
from portal.registry import Board, Charts

from . import stats

LANDLORD_ROLES = ("bailleur_operator", "partner_admin")


def flows_chart(today: date, organisation_id: int | None = None, prefix: str = "caf",
                window: int = WINDOW_DAYS) -> tuple[Chart, list[dict]]:
    since = today - timedelta(days=window - 1)
    rows = stats.files_per_day(since, organisation_id=organisation_id)
    span = days(since, today)
    by_day = {r["day"]: r for r in rows}
    accepted = [by_day.get(d.isoformat(), {}).get("acceptes", 0) for d in span]
    partial = [by_day.get(d.isoformat(), {}).get("partiels", 0) for d in span]
    rejected = [by_day.get(d.isoformat(), {}).get("rejetes", 0) for d in span]
    rate = []
    for a, p, r in zip(accepted, partial, rejected):
        n = a + p + r
        rate.append(round(100 * r / n, 1) if n else None)
    total = sum(accepted) + sum(partial) + sum(rejected)
    codes = stats.top_rejection_codes(since, organisation_id=organisation_id)
    chart = Chart(
        id=f"{prefix}-edi-flux", title=f"Fichiers EDI reçus par jour ({window} derniers jours)", kind="bar",
        labels=[day_label(d) for d in span], label_header="Jour", stacked=True, unit2="%",
        datasets=[Dataset("Acceptés", accepted, color="#009081"),
                  Dataset("Acceptés partiellement", partial, color="#C8AA39"),
                  Dataset("Rejetés", rejected, color="#E1000F"),
                  Dataset("Taux de rejet (%)", rate, kind="line", axis="y2", color="#000091")],
        summary=(f"{accord(total, 'fichier traité', 'fichiers traités')} en {window} jours, "
                 f"dont {accord(sum(rejected), 'rejeté')} "
                 f"({(100 * sum(rejected) / total if total else 0):.1f} %)".replace(".", ",") + "."),
        empty_message="Aucun fichier traité sur la période.")
    return chart, codes


def _section(chart: Chart, codes: list[dict]) -> Section:
    return Section([chart], template="edi/dashboard_rejections.html", context={"rejection_codes": codes})


def caf_section(user, today: date) -> Section:
    return _section(*flows_chart(today))


def landlord_section(user, today: date) -> Section:
    return _section(*flows_chart(today, organisation_id=user.organisation_id, prefix="bailleur", window=90))


def shown_to_landlord(user) -> bool:
    """Partner admins and EDI-habilitated operators of an organisation with an EDI contract."""
    if user.role not in LANDLORD_ROLES or not any(c.service == "EDI" for c in user.organisation.contrats):
        return False
    return user.role != "bailleur_operator" or user.habilitation("EDI") is not None


LANDLORD_BOARD = Board("tableau-de-bord-bailleur", "Vos fichiers EDI", shown_to=shown_to_landlord, order=30)
CHARTS = [
    Charts(CAF_BOARD.id, "edi", "EDI — fichiers des bailleurs", caf_section, order=20),
    Charts(LANDLORD_BOARD.id, "edi", "Fichiers et taux de rejet", landlord_section, order=10),
]
