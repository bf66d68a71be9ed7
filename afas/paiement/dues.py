"""Pure rules of the hand-off (numbers in, numbers out; tested without a database).

- amounts travel in cents (``cents_of``): the order file and the control total never see floats;
- an indu the partner asked to offset comes off the next acomptes of the same équipement, as
  much as each acompte allows, until it is recovered (``offset``);
- an indu not offset is recovered by a recovery line once the partner has had ``DELAI_CHOIX``
  days to choose (``recovery_due``)."""
from __future__ import annotations

from datetime import date, datetime, timedelta

DELAI_CHOIX = timedelta(days=30)


def cents_of(amount: float | int) -> int:
    """Euros (float, two decimals at most) to cents, rounded half away from zero."""
    value = round(abs(float(amount)) * 100 + 1e-6)
    return int(value) if amount >= 0 else -int(value)


def offset(acompte: int, restes: list[int]) -> tuple[int, list[int]]:
    """Offset indus (their remaining cents, oldest first) on an acompte of ``acompte`` cents.
    Returns (net to pay, cents taken from each indu)."""
    taken, left = [], acompte
    for reste in restes:
        part = max(0, min(left, reste))
        taken.append(part)
        left -= part
    return left, taken


def recovery_due(status: str, notifie_le: datetime, on: date) -> bool:
    """A recovery line is due when the partner chose it, or let the choice delay pass."""
    return status == "recouvrement" or (status == "notifie" and (notifie_le + DELAI_CHOIX).date() <= on)
