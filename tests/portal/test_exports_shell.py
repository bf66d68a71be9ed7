"""The shell's export helpers every domain uses: spreadsheets that never run a typed formula
and PDFs that never print French typography as question marks."""
from __future__ import annotations

import csv
import io

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
