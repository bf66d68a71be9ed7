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


def euros(value: float | int | Decimal | None, absent: str = "—") -> str:
    """« 1 234,50 € » (always two decimals); `absent` for None."""
    if value is None:
        return absent
    return f"{value:,.2f} €".replace(",", NARROW_NBSP).replace(".", ",")


def euros_centimes(cents: int) -> str:
    """An amount held in cents, exactly (no float): « -1 234,05 € »."""
    whole, rest = divmod(abs(int(cents)), 100)
    return f"{'-' if cents < 0 else ''}{whole:,}".replace(",", NARROW_NBSP) + f",{rest:02d} €"
