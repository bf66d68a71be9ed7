"""GDPR access answer (who consulted an allocataire's file) as PDF (fpdf2, pure Python) and CSV.

The CSV goes through portal.spreadsheets.csv_text: free text typed by partners (the consultation
comment) must not run as a formula in the spreadsheet of the Caf agent who opens the export."""
from __future__ import annotations

from portal.formatting import accord, date_heure
from portal.models import utcnow
from portal.pdf import Document, latin


def gdpr_pdf(numero: str, rows: list[dict], columns: list[tuple[str, str]], generated_by: str) -> bytes:
    pdf = Document(f"Consultations du dossier allocataire n° {numero}",
                   f"Édité le {date_heure(utcnow(), fuseau=True)} par {generated_by} — "
                   f"{accord(len(rows), 'consultation enregistrée', 'consultations enregistrées')} au journal.", orientation="L", title_size=14)
    widths = {"date": 34, "personne": 34, "organisation": 42, "profil": 28, "motif": 36,
              "commentaire": 40, "canal": 16, "resultat": 24, "donnees": 23}
    with pdf.table(col_widths=[widths[k] for k, _ in columns], text_align="LEFT",
                   line_height=4.5) as table:
        header = table.row()
        for _, label in columns:
            header.cell(latin(label))
        for row in rows:
            r = table.row()
            for key, _ in columns:
                r.cell(latin(str(row[key])))
    if not rows:
        pdf.ln(4)
        pdf.paragraph("Aucune consultation n'est enregistrée pour ce dossier.")
    return pdf.done()
