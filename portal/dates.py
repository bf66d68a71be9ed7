"""Calendar arithmetic used by several domains, written once (plain Python, no Flask)."""
from __future__ import annotations

import calendar
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo


def add_months(day: date, months: int) -> date:
    """`day` moved by `months` calendar months (negative: back), clamped to the month's end:
    31 January + 1 month = 28 (or 29) February."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def previous_month(today: date) -> tuple[int, int]:
    """(year, month) of the calendar month before `today`'s."""
    first = add_months(today.replace(day=1), -1)
    return first.year, first.month


PARIS = ZoneInfo("Europe/Paris")


def today() -> date:
    """Today on the Paris calendar: the Caf's day for deadlines, campaigns and « en retard »,
    whatever the server's time zone (UTC on the servers)."""
    return datetime.now(PARIS).date()


def naive_utc(moment: datetime) -> datetime:
    """An aware datetime as the columns store it: naive, in UTC (see portal.models.utcnow).
    Refuses a naive one, whose zone nobody knows."""
    if moment.tzinfo is None:
        raise ValueError("datetime sans fuseau horaire")
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def to_paris(moment: datetime) -> datetime:
    """A stored timestamp (naive UTC) as the Paris wall clock shows it (aware, Europe/Paris)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(PARIS)


def paris_day(moment: datetime) -> date:
    """The Paris calendar day of a stored timestamp (naive UTC): 22:30 UTC on 30 June is
    1 July in Paris. Deadlines, « en retard » and the dashboards' days are Paris days."""
    return to_paris(moment).date()


def paris_midnight_utc(day: date) -> datetime:
    """00:00 in Paris on ``day``, as the columns store it (naive UTC): the lower bound of a
    query on Paris days."""
    return naive_utc(datetime(day.year, day.month, day.day, tzinfo=PARIS))
