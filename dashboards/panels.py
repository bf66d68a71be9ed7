"""Home-page panels (portal.home): fn(user) -> (template, context) or None.

Caf staff: campaign progress, droits and acomptes, EDI flows and rejections, CDAP consultations
and atypical-use alerts. Partner (AFAS): its droits over the years and its declarations'
progress. Landlord (EDI): its files and rejection rate over time.
"""
from __future__ import annotations

import importlib
from datetime import date, timedelta

from portal.models import CAF_ROLES, CDAP_PROFILES

from .charts import Chart, Dataset, day_label, days, pivot

WINDOW_DAYS = 30
STATUS_LABELS_ACOMPTE = {"programme": "Programmés", "verse": "Versés", "annule": "Annulés"}
ALERT_KINDS = {"volume": "Volume journalier", "nuit": "Usage de nuit", "introuvables": "Recherches infructueuses"}
ALERT_LEVELS = {"alerte": "Alerte", "suspension": "Suspension"}


def _stats(service: str):
    """The service's aggregate module, or None when that service is not installed yet."""
    try:
        return importlib.import_module(f"{service}.stats")
    except ImportError:
        return None


def _has_contract(user, service: str) -> bool:
    return any(c.service == service for c in user.organisation.contrats)


# --- AFAS ------------------------------------------------------------------------------------

def afas_progress_chart(stats, today: date, organisation_id: int | None = None, prefix: str = "caf") -> Chart | None:
    annee = stats.current_exercice(today)
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
        summary=(f"{total['transmitted']} déclaration(s) transmise(s) sur {total['expected']} attendue(s), "
                 f"{total['validated']} validée(s), {total['late']} en retard."))


def afas_droits_chart(stats, today: date, organisation_id: int | None = None, prefix: str = "caf",
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
                + f"{total:,.2f} €".replace(",", "\u202f").replace(".", ","),
        empty_message="Aucun droit validé sur ces exercices.")


def afas_acomptes_chart(stats, today: date, organisation_id: int | None = None, prefix: str = "caf") -> Chart:
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


# --- CDAP ------------------------------------------------------------------------------------

def cdap_consultations_chart(stats, today: date) -> tuple[Chart, list[dict]]:
    since = today - timedelta(days=WINDOW_DAYS - 1)
    rows = stats.consultations_per_profile_per_day(since)
    span = days(since, today)
    keys = [d.isoformat() for d in span]
    profiles = [p for p in CDAP_PROFILES if any(r["profile"] == p for r in rows)]
    series = pivot(rows, "day", "profile", "nombre", keys, profiles)
    total = sum(r["nombre"] for r in rows)
    alerts = stats.recent_alerts(since)
    for alert in alerts:
        alert["kind_label"] = ALERT_KINDS.get(alert["kind"], alert["kind"])
        alert["level_label"] = ALERT_LEVELS.get(alert["level"], alert["level"])
    chart = Chart(
        id="caf-cdap-consultations", title=f"Consultations CDAP par profil ({WINDOW_DAYS} derniers jours)",
        kind="line", labels=[day_label(d) for d in span], label_header="Jour",
        datasets=[Dataset(CDAP_PROFILES[p], series[p]) for p in profiles],
        summary=f"{total} consultation(s) en {WINDOW_DAYS} jours, {len(alerts)} alerte(s) d'usage atypique.",
        empty_message="Aucune consultation sur la période.")
    return chart, alerts


# --- EDI -------------------------------------------------------------------------------------

def edi_flows_chart(stats, today: date, organisation_id: int | None = None, prefix: str = "caf",
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
        summary=(f"{total} fichier(s) traité(s) en {window} jours, dont {sum(rejected)} rejeté(s) "
                 f"({(100 * sum(rejected) / total if total else 0):.1f} %)".replace(".", ",") + "."),
        empty_message="Aucun fichier traité sur la période.")
    return chart, codes


# --- Panels ----------------------------------------------------------------------------------

def caf_panel(user):
    if user.role not in CAF_ROLES:
        return None
    today = date.today()
    sections = []
    afas = _stats("afas")
    if afas:
        charts = [c for c in (afas_progress_chart(afas, today), afas_droits_chart(afas, today),
                              afas_acomptes_chart(afas, today)) if c]
        sections.append({"id": "afas", "title": "AFAS — déclarations des équipements", "charts": charts})
    edi = _stats("edi")
    if edi:
        chart, codes = edi_flows_chart(edi, today)
        sections.append({"id": "edi", "title": "EDI — fichiers des bailleurs", "charts": [chart],
                         "rejection_codes": codes})
    cdap = _stats("cdap")
    if cdap:
        chart, alerts = cdap_consultations_chart(cdap, today)
        sections.append({"id": "cdap", "title": "CDAP — consultations des dossiers", "charts": [chart],
                         "alerts": alerts})
    return "dashboards/panel.html", {"panel_id": "tableau-de-bord-caf",
                                     "title": "Tableau de bord de la Caf", "sections": sections}


def partner_panel(user):
    if user.role not in ("partner_manager", "partner_admin") or not _has_contract(user, "AFAS"):
        return None
    if user.role == "partner_manager" and user.habilitation("AFAS") is None:
        return None
    afas = _stats("afas")
    if not afas:
        return None
    today = date.today()
    org = user.organisation_id
    charts = [c for c in (afas_droits_chart(afas, today, organisation_id=org, prefix="partenaire"),
                          afas_progress_chart(afas, today, organisation_id=org, prefix="partenaire")) if c]
    return "dashboards/panel.html", {
        "panel_id": "tableau-de-bord-partenaire", "title": "Vos équipements en chiffres",
        "sections": [{"id": "afas", "title": "Droits et déclarations", "charts": charts}]}


def landlord_panel(user):
    if user.role not in ("bailleur_operator", "partner_admin") or not _has_contract(user, "EDI"):
        return None
    if user.role == "bailleur_operator" and user.habilitation("EDI") is None:
        return None
    edi = _stats("edi")
    if not edi:
        return None
    chart, codes = edi_flows_chart(edi, date.today(), organisation_id=user.organisation_id,
                                   prefix="bailleur", window=90)
    return "dashboards/panel.html", {
        "panel_id": "tableau-de-bord-bailleur", "title": "Vos fichiers EDI",
        "sections": [{"id": "edi", "title": "Fichiers et taux de rejet", "charts": [chart],
                      "rejection_codes": codes}]}
