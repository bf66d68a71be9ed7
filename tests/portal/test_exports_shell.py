"""The shell's export helpers every domain uses: spreadsheets that never run a typed formula
and PDFs that never print French typography as question marks."""
from __future__ import annotations

import csv
import io
import subprocess
import sys

from openpyxl import load_workbook

from portal.pdf import Document, latin
from portal.spreadsheets import csv_text, xlsx_bytes
from tests.support.pdf import pdf_shown_strings


def test_latin_keeps_french_typography_readable():
    assert latin("« Cœur » — 12\u202f345,00 € ≤ 3") == '" Coeur " - 12 345,00 EUR <= 3'
    assert latin(None) == ""
    assert latin("漢") == "?"  # what Latin-1 cannot hold is marked, not dropped silently


def test_document_shows_pairs_with_a_dash_for_empty_values():
    pdf = Document("Reçu n° 1", "Origine : Caf")
    pdf.pairs([("Montant", "1 200,00 €"), ("Barème", ""), ("Agent", None)])
    pdf.heading("Détail")
    shown = pdf_shown_strings(pdf.done())
    assert "Reçu n° 1" in shown and "Origine : Caf" in shown
    assert "1 200,00 EUR" in shown and "Détail" in shown
    assert "Barème - Agent -" in shown  # both empty values print « - », never nothing


def test_csv_text_neutralises_formulas_keeps_numbers_and_opens_in_excel():
    text = csv_text(["Nom", "Montant"], [["=HYPERLINK(\"x\")", 12.5], [None, 3], ["a\x07b", "-1"]])
    assert text.startswith("\ufeff") and "\r\n" in text
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert rows == [["Nom", "Montant"], ["'=HYPERLINK(\"x\")", "12.5"], ["", "3"], ["ab", "'-1"]]


def test_xlsx_bytes_keeps_types_and_neutralises_text():
    data = xlsx_bytes("Feuille", ["Nom", "Montant"], [["@SUM(A1)", 12.5], ["ok", None]])
    ws = load_workbook(io.BytesIO(data)).active
    assert ws.title == "Feuille"
    assert [[c.value for c in row] for row in ws.iter_rows()] == [
        ["Nom", "Montant"], ["'@SUM(A1)", 12.5], ["ok", None]]


def test_the_cell_rule_is_openpyxls_own():
    """The shell keeps its own copy of openpyxl's illegal-character rule (to load openpyxl only
    when a workbook is made): the two must not drift apart."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE as openpyxl_rule

    from portal.spreadsheets import ILLEGAL_CHARACTERS_RE
    assert ILLEGAL_CHARACTERS_RE.pattern == openpyxl_rule.pattern


def test_a_worker_starts_without_the_workbook_and_pdf_libraries():
    """Each worker process imports every domain; openpyxl with Pillow (≈ 8 MB) and fpdf2 with
    fontTools load only when an export or a PDF is made."""
    code = ("import sys\nimport portal.worker\n"
            "print(','.join(sorted({m.split('.')[0] for m in sys.modules}"
            " & {'openpyxl', 'PIL', 'fpdf', 'fontTools'})))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", out.stdout[:300]
