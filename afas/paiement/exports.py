"""CSV and XLSX of payment lines (an order file's, or a partner's payments), free text
neutralised against formula injection (portal.spreadsheets)."""
from __future__ import annotations

from portal.spreadsheets import csv_text, xlsx_bytes

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


def _cells(lines, decimal_comma: bool):
    for line in lines:
        row = _row(line)
        yield [str(row[k]).replace(".", ",") if decimal_comma and isinstance(row[k], float) else row[k]
               for k, _ in COLUMNS]


def to_csv(lines) -> str:
    """Amounts with a decimal comma: what a French spreadsheet reads as a number."""
    return csv_text([label for _, label in COLUMNS], _cells(lines, decimal_comma=True))


def to_xlsx(lines) -> bytes:
    return xlsx_bytes("Paiements", [label for _, label in COLUMNS], _cells(lines, decimal_comma=False))
