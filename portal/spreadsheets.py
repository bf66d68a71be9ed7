"""Spreadsheet exports (CSV, XLSX): free text typed by users must not run as a formula in the
spreadsheet of whoever opens the export (CSV / formula injection). Every domain's export passes
its text cells through `neutralise_formula`."""
from __future__ import annotations

# A spreadsheet reads a cell starting with one of these as a formula (tab and carriage return
# too: some programs strip them and then read what follows).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(text: str) -> str:
    """The standard neutralisation (OWASP): a leading single quote when the text starts with a
    formula trigger, so the spreadsheet shows it as text."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text
