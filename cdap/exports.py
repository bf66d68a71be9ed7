"""GDPR access answer as PDF (fpdf2, pure Python): who consulted an allocataire's file."""
from __future__ import annotations

from fpdf import FPDF

from portal.models import utcnow


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
    pdf.cell(0, 6, _latin1(f"Édité le {utcnow():%d/%m/%Y %H:%M} UTC par {generated_by} — "
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
