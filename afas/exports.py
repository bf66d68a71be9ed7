"""Complete exports of declarations for the Caf: every field, every point de contrôle and its
justification, the droit, acomptes and régularisation. CSV (UTF-8 with BOM, ';') and XLSX."""
from __future__ import annotations

from portal.dates import to_paris
from portal.spreadsheets import csv_text, xlsx_bytes

from .controles import RULES
from .schema import ALL_FIELD_KEYS, ALL_LABELS, ALSH_ACTIVITES

BASE_COLUMNS = [
    ("id", "Identifiant"), ("organisation", "Organisation"), ("equipement_numero", "Numéro d'équipement"),
    ("equipement", "Équipement"), ("type_equipement", "Type d'équipement"), ("activite", "Activité ALSH"),
    ("exercice", "Exercice"), ("type_declaration", "Type de déclaration"), ("statut", "Statut"),
    ("echeance", "Échéance"), ("transmise_le", "Transmise le (heure de Paris)"), ("en_retard", "En retard"),
    ("avant_ouverture", "Transmise avant l'ouverture"),
    ("version", "Version"), ("empreinte", "Empreinte SHA-256"), ("transmise_par", "Transmise par"),
    ("agent", "Agent"), ("validee_le", "Validée le (heure de Paris)"), ("bareme", "Barème appliqué"),
    ("droit", "Droit calculé (€)"), ("calcul_droit", "Calcul du droit"),
    ("acomptes_programmes", "Acomptes programmés (€)"), ("acomptes_verses", "Acomptes versés (€)"),
    ("regularisation", "Régularisation (€)"),
]


def columns() -> list[tuple[str, str]]:
    cols = list(BASE_COLUMNS)
    cols += [(f"champ_{k}", ALL_LABELS[k]) for k in ALL_FIELD_KEYS]
    for code, (severite, titre) in RULES.items():
        cols.append((f"controle_{code}", f"Contrôle {code} ({severite}) — {titre}"))
        cols.append((f"justification_{code}", f"Justification {code}"))
    return cols


def _paris(moment) -> str:
    """A stored timestamp (naive UTC) in Paris time, ISO with its offset: sortable, unambiguous."""
    return to_paris(moment).isoformat(timespec="seconds") if moment else ""


def _row(decl) -> dict:
    v = decl.last_version
    row = {
        "id": decl.id, "organisation": decl.equipement.organisation.nom, "equipement_numero": decl.equipement.numero,
        "equipement": decl.equipement.nom, "type_equipement": decl.equipement.type, "activite": ALSH_ACTIVITES.get(decl.equipement.activite, decl.equipement.activite or ""),
        "exercice": decl.annee, "type_declaration": decl.type_label, "statut": decl.status_label,
        "echeance": decl.echeance.isoformat() if decl.echeance else "",
        "transmise_le": _paris(decl.transmitted_at),
        "en_retard": "oui" if decl.late else "non", "avant_ouverture": "oui" if decl.anticipee else "non",
        "version": v.numero if v else "",
        "empreinte": v.content_hash if v else "", "transmise_par": v.user.full_name if v and v.user else "",
        "agent": decl.agent.full_name if decl.agent else "",
        "validee_le": _paris(decl.validated_at),
        "bareme": (v.droit or {}).get("bareme", "") if v else "",
        "droit": v.montant if v else "",
        "calcul_droit": " | ".join(f"{s['libelle']} : {s['calcul']} = {s['valeur']}" for s in (v.droit or {}).get("etapes", [])) if v else "",
        "acomptes_programmes": round(sum(float(a.montant) for a in decl.acomptes if a.status == "programme"), 2),
        "acomptes_verses": round(sum(float(a.montant) for a in decl.acomptes if a.status == "verse"), 2),
        "regularisation": float(decl.regularisation.solde) if decl.regularisation else "",
    }
    data = v.data if v else {}
    for k in ALL_FIELD_KEYS:
        value = data.get(k, "")
        row[f"champ_{k}"] = ("oui" if value else "non") if isinstance(value, bool) else ("" if value is None else value)
    if v:
        for c in v.controles:
            row[f"controle_{c['code']}"] = c["message"]
        for k, text in (v.justifications or {}).items():
            row[f"justification_{k}"] = text
    return row


def _rows(declarations, cols):
    for decl in declarations:
        row = _row(decl)
        yield [row.get(key, "") for key, _ in cols]


def to_csv(declarations) -> str:
    cols = columns()
    return csv_text([label for _, label in cols], _rows(declarations, cols))


def to_xlsx(declarations) -> bytes:
    cols = columns()
    return xlsx_bytes("Déclarations AFAS", [label for _, label in cols], _rows(declarations, cols))
