"""AFAS charts for the home-page dashboards (registered by ``afas.register``): campaign
progress, droits over the years and acomptes, from ``afas.stats``. The Caf sees every
organisation's; a partner (its own board) sees its own."""
from __future__ import annotations

from datetime import date

from portal.dashboards import CAF_BOARD
from portal.dashboards.charts import Chart, Dataset, Section, pivot
from portal.registry import Board, Charts

from . import stats
from portal.formatting import accord, euros

STATUS_LABELS_ACOMPTE = {"programme": "Programmés", "verse": "Versés", "annule": "Annulés"}
PARTNER_ROLES = ("partner_manager", "partner_admin")


def chosen_exercice(today: date) -> int | None:
    """The exercice the person chose on the page (`?exercice=`, one of the opened ones), else
    the one being worked on. A value that is not one of them is ignored (the default shows)."""
    from flask import has_request_context, request
    chosen = request.args.get("exercice", "") if has_request_context() else ""
    if chosen.isdigit() and int(chosen) in stats.opened_exercices(today):
        return int(chosen)
    return stats.worked_exercice(today)


def progress_chart(today: date, organisation_id: int | None = None, prefix: str = "caf",
                   annee: int | None = None) -> Chart | None:
    annee = annee or chosen_exercice(today)
    if annee is None:
        return None
    rows = stats.campaign_progress(annee, today, organisation_id=organisation_id)
    labels = [r["type"] for r in rows]
    total = {k: sum(r[k] for r in rows) for k in ("expected", "transmitted", "late", "validated")}
    return Chart(
        id=f"{prefix}-afas-campagne", title=f"Avancement des déclarations — exercice {annee}", kind="bar",
        labels=labels, label_header="Type d'équipement",
        datasets=[Dataset("Attendues", [r["expected"] for r in rows]),
                  Dataset("Transmises", [r["transmitted"] for r in rows]),
                  Dataset("En retard", [r["late"] for r in rows], color="#E1000F"),
                  Dataset("Validées", [r["validated"] for r in rows], color="#009081")],
        summary=(f"{accord(total['transmitted'], 'déclaration transmise', 'déclarations transmises')} sur "
                 f"{accord(total['expected'], 'attendue')}, {accord(total['validated'], 'validée')}, "
                 f"{total['late']} en retard."),
        choice={"name": "exercice", "label": "Exercice", "value": annee,
                "options": stats.opened_exercices(today)})


def droits_chart(today: date, organisation_id: int | None = None, prefix: str = "caf",
                 years: int = 4) -> Chart:
    annees = list(range(today.year - years + 1, today.year + 1))
    rows = stats.droits_by_type(organisation_id=organisation_id, annees=annees)
    types = sorted({r["type"] for r in rows})
    series = pivot(rows, "annee", "type", "montant", annees, types)
    total = sum(r["montant"] for r in rows)
    return Chart(
        id=f"{prefix}-afas-droits", title="Droits validés par exercice et type d'équipement", kind="bar",
        labels=[str(a) for a in annees], label_header="Exercice", unit="€", stacked=True,
        datasets=[Dataset(t, [round(v, 2) for v in series[t]]) for t in types],
        summary=f"Total des droits validés de {annees[0]} à {annees[-1]} : "
                + euros(total),
        empty_message="Aucun droit validé sur ces exercices.")


def acomptes_chart(today: date, organisation_id: int | None = None, prefix: str = "caf") -> Chart:
    rows = stats.acomptes_by_type(organisation_id=organisation_id)
    types = sorted({r["type"] for r in rows})
    statuses = [s for s in STATUS_LABELS_ACOMPTE if any(r["status"] == s for r in rows)]
    series = pivot(rows, "type", "status", "montant", types, statuses)
    return Chart(
        id=f"{prefix}-afas-acomptes", title="Acomptes par type d'équipement", kind="bar",
        labels=types, label_header="Type d'équipement", unit="€", stacked=True,
        datasets=[Dataset(STATUS_LABELS_ACOMPTE[s], [round(v, 2) for v in series[s]],
                          color={"programme": "#465F9D", "verse": "#009081", "annule": "#E4794A"}[s])
                  for s in statuses],
        summary="Montants des acomptes programmés et versés, par type d'équipement.",
        empty_message="Aucun acompte programmé.")


def caf_section(user, today: date) -> Section:
    return Section([c for c in (progress_chart(today), droits_chart(today), acomptes_chart(today)) if c])


def partner_section(user, today: date) -> Section:
    org = user.organisation_id
    return Section([c for c in (droits_chart(today, organisation_id=org, prefix="partenaire"),
                                progress_chart(today, organisation_id=org, prefix="partenaire")) if c])


def shown_to_partner(user) -> bool:
    """Partner admins and AFAS-habilitated partner managers of an organisation with an AFAS contract."""
    if user.role not in PARTNER_ROLES or not any(c.service == "AFAS" for c in user.organisation.contrats):
        return False
    return user.role != "partner_manager" or user.habilitation("AFAS") is not None


PARTNER_BOARD = Board("tableau-de-bord-partenaire", "Vos équipements en chiffres",
                      shown_to=shown_to_partner, order=20)
CHARTS = [
    Charts(CAF_BOARD.id, "afas", "AFAS — déclarations des équipements", caf_section, order=10),
    Charts(PARTNER_BOARD.id, "afas", "Droits et déclarations", partner_section, order=10),
]
