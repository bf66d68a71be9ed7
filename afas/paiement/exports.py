"""CSV and XLSX of payment lines (an order file's, or a partner's payments), free text
neutralised against formula injection (portal.spreadsheets)."""
from __future__ import annotations

import csv
import io

from openpyxl import Workbook

from portal.spreadsheets import neutralise_formula

COLUMNS = [("reference", "Référence de ligne"), ("ordre", "Ordre de paiement"), ("siret", "SIRET"),
           ("equipement", "Équipement"), ("exercice", "Exercice"), ("nature", "Nature"),
           ("declaration", "Déclaration (version)"), ("brut", "Montant brut (€)"),
           ("compensation", "Compensation d'indu (€)"), ("montant", "Montant (€)"),
           ("echeance", "Échéance"), ("etat", "État"), ("verse_le", "Versé le"), ("motif", "Motif de rejet")]


def _row(line) -> dict:
    return {"reference": line.reference, "ordre": line.ordre.reference, "siret": line.siret,
            "equipement": f"{line.equipement.numero} {line.equipement.libelle}", "exercice": line.annee,
            "nature": line.nature_label,
            "declaration": f"{line.declaration.titre} (version {line.version_numero})",
            "brut": line.montant_brut / 100, "compensation": line.compensation / 100, "montant": line.montant / 100,
            "echeance": line.echeance.strftime("%d/%m/%Y"), "etat": line.status_label,
            "verse_le": line.paye_le.strftime("%d/%m/%Y") if line.paye_le else "",
            "motif": line.motif_rejet or ""}


def _safe(value):
    return neutralise_formula(value) if isinstance(value, str) else value


def to_csv(lines) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow([label for _, label in COLUMNS])
    for line in lines:
        row = _row(line)
        writer.writerow([_safe(str(row[k]).replace(".", ",") if isinstance(row[k], float) else row[k])
                         for k, _ in COLUMNS])
    return "\ufeff" + out.getvalue()


def to_xlsx(lines) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Paiements")
    ws.append([label for _, label in COLUMNS])
    for line in lines:
        row = _row(line)
        ws.append([_safe(row[k]) for k, _ in COLUMNS])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
