"""GDPR access answer (who consulted an allocataire's file) as PDF (fpdf2, pure Python) and CSV.

Every cell of a spreadsheet export (CSV here; any future XLSX too) goes through `safe_cell`:
free text typed by partners (the consultation comment) must not run as a formula in the
spreadsheet of the Caf agent who opens the export (portal.spreadsheets)."""
from __future__ import annotations

import csv
import io

from fpdf import FPDF

from portal.formatting import date_heure
from portal.models import utcnow
from portal.spreadsheets import neutralise_formula


def safe_cell(value) -> str:
    """The cell as text, a formula neutralised (portal.spreadsheets)."""
    return neutralise_formula("" if value is None else str(value))


def csv_export(header: list[str], rows: list[list]) -> str:
    """CSV (semicolon, UTF-8 with BOM for Excel) with every cell passed through `safe_cell`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow([safe_cell(c) for c in header])
    for row in rows:
        writer.writerow([safe_cell(c) for c in row])
    return "\ufeff" + buffer.getvalue()


def _latin1(text: str) -> str:
    text = (text or "").replace("’", "'").replace("œ", "oe").replace("Œ", "OE").replace("\u202f", " ")
    return text.encode("latin-1", "replace").decode("latin-1")


def gdpr_pdf(numero: str, rows: list[dict], columns: list[tuple[str, str]], generated_by: str) -> bytes:
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 8, _latin1(f"Consultations du dossier allocataire n° {numero}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    pdf.cell(0, 6, _latin1(f"Édité le {date_heure(utcnow(), fuseau=True)} par {generated_by} — "
                           f"{len(rows)} consultation(s) enregistrée(s) au journal."), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    widths = {"date": 34, "personne": 34, "organisation": 42, "profil": 28, "motif": 36,
              "commentaire": 40, "canal": 16, "resultat": 24, "donnees": 23}
    with pdf.table(col_widths=[widths[k] for k, _ in columns], text_align="LEFT",
                   line_height=4.5) as table:
        header = table.row()
        for _, label in columns:
            header.cell(_latin1(label))
        for row in rows:
            r = table.row()
            for key, _ in columns:
                r.cell(_latin1(str(row[key])))
    if not rows:
        pdf.ln(4)
        pdf.cell(0, 6, _latin1("Aucune consultation n'est enregistrée pour ce dossier."))
    return bytes(pdf.output())
