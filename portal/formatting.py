"""French display of amounts and numbers, written once for pages, exports, PDFs and messages.

Thousands are separated by a narrow no-break space (U+202F), decimals by a comma: « 1 234,56 € ».
Plain Python, no Flask: domain rules use it in their messages too.
"""
from __future__ import annotations

from decimal import Decimal

NARROW_NBSP = "\u202f"


def nombre(value: float | int | Decimal, decimales: int = 2) -> str:
    """« 1 234,5 »: at most `decimales` digits, trailing zeros dropped."""
    text = f"{value:,.{decimales}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(",", NARROW_NBSP).replace(".", ",")


def entier(value: float | int | Decimal) -> str:
    """« 12 345 » (rounded to the unit)."""
    return f"{value:,.0f}".replace(",", NARROW_NBSP)


def accord(count: int, singulier: str, pluriel: str | None = None) -> str:
    """« 0 ligne », « 1 ligne », « 3 lignes »: the noun agrees with the count, instead of « ligne(s) ».

    French keeps the singular below 2. `pluriel` defaults to `singulier` + « s »; give it for
    several words or irregular plurals (« nouveaux signalements »).
    """
    forme = singulier if abs(count) < 2 else (pluriel if pluriel is not None else singulier + "s")
    return f"{entier(count)} {forme}"


def euros(value: float | int | Decimal | None, absent: str = "—") -> str:
    """« 1 234,50 € » (always two decimals); `absent` for None."""
    if value is None:
        return absent
    return f"{value:,.2f} €".replace(",", NARROW_NBSP).replace(".", ",")


def euros_centimes(cents: int) -> str:
    """An amount held in cents, exactly (no float): « -1 234,05 € »."""
    whole, rest = divmod(abs(int(cents)), 100)
    return f"{'-' if cents < 0 else ''}{whole:,}".replace(",", NARROW_NBSP) + f",{rest:02d} €"


def decimal_centimes(cents: int) -> str:
    """An amount held in cents as a plain number, exactly: « -1234,05 » (no thousands
    separator, no €), what a French spreadsheet (CSV exports) or a form field reads."""
    whole, rest = divmod(abs(int(cents)), 100)
    return f"{'-' if cents < 0 else ''}{whole},{rest:02d}"


MOIS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
        "octobre", "novembre", "décembre")
# The usual French abbreviations (« déc. 2025 »), where a full name does not fit: a chart's axis.
MOIS_ABREGES = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.",
                "déc.")
PARIS_LABEL = "heure de Paris"


def date_longue(day) -> str:
    """« 12 décembre 2025 », « 1er mars 2026 » (a date, or a datetime already in Paris time)."""
    if day is None:
        return "—"
    return f"{'1er' if day.day == 1 else day.day} {MOIS[day.month - 1]} {day.year}"


def mois_annee(day) -> str:
    """« décembre 2025 »: a month (any day of it)."""
    if day is None:
        return "—"
    return f"{MOIS[day.month - 1]} {day.year}"


def date_heure(moment, secondes: bool = False, fuseau: bool = False) -> str:
    """A stored timestamp (naive UTC) on the Paris clock: « 12/12/2025 à 14 h 32 »;
    ``fuseau`` adds « (heure de Paris) » where the reader could wonder (PDFs, emails, exports)."""
    if moment is None:
        return "—"
    from .dates import to_paris
    local = to_paris(moment)
    text = f"{local:%d/%m/%Y} à {local:%H} h {local:%M}" + (f" min {local:%S} s" if secondes else "")
    return text + (f" ({PARIS_LABEL})" if fuseau else "")


def decimal(value: float | int | Decimal, decimales: int = 2) -> str:
    """« 28 000,00 », « 7,50 »: exactly `decimales` digits (tables of rates and ceilings)."""
    return f"{value:,.{decimales}f}".replace(",", NARROW_NBSP).replace(".", ",")
