"""Spreadsheet exports (CSV, XLSX): free text typed by users must not run as a formula in the
spreadsheet of whoever opens the export (CSV / formula injection). Every domain's export goes
through `csv_text` / `xlsx_bytes` (or at least `safe_cell`), so the rule lives in one place."""
from __future__ import annotations

import csv
import io
import re
from typing import Iterable

# Control characters an XLSX cell cannot hold (XML 1.0 forbids them): the same set as openpyxl's
# ILLEGAL_CHARACTERS_RE, written here so that importing this module (every worker does, through
# the domains' exports) does not load openpyxl and Pillow; openpyxl loads when a workbook is made.
ILLEGAL_CHARACTERS_RE = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")

# A spreadsheet reads a cell starting with one of these as a formula (tab and carriage return
# too: some programs strip them and then read what follows).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(text: str) -> str:
    """The standard neutralisation (OWASP): a leading single quote when the text starts with a
    formula trigger, so the spreadsheet shows it as text."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def safe_cell(value):
    """A cell fit for a spreadsheet: text neutralised and stripped of the control characters a
    workbook cannot hold; numbers, dates and None stay typed (None → empty)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralise_formula(ILLEGAL_CHARACTERS_RE.sub("", value))
    return value


def csv_text(header: Iterable[str], rows: Iterable[Iterable]) -> str:
    """CSV as French spreadsheets open it: `;`-separated, CRLF, UTF-8 with a BOM (so accents
    read right), every cell through `safe_cell`."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([safe_cell(c) for c in header])
    for row in rows:
        writer.writerow([safe_cell(c) for c in row])
    return "\ufeff" + out.getvalue()


def xlsx_bytes(sheet: str, header: Iterable[str], rows: Iterable[Iterable]) -> bytes:
    """One-sheet workbook (write-only: rows streamed, memory flat), every cell through `safe_cell`."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    ws.append([safe_cell(c) for c in header])
    for row in rows:
        ws.append([safe_cell(c) for c in row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
