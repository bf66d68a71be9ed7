"""Counting by Paris day in SQL, the same on SQLite and PostgreSQL.

Timestamps are stored naive UTC; a Paris day starts at 22:00 or 23:00 UTC the day before.
SQLite has no time-zone database, so the queries group by **UTC hour** (``utc_hour``) — Paris
is always a whole number of hours from UTC, so an hour never straddles two Paris days — and
``by_paris_day`` adds the hours up into Paris days in Python: at most 24 rows a day.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement
from sqlalchemy.types import String

from .dates import paris_day


class utc_hour(FunctionElement):
    """``'YYYY-MM-DD HH'`` of a naive-UTC timestamp column: the group key of hourly counts."""
    type = String()
    inherit_cache = True

    def __init__(self, column: ColumnElement):
        super().__init__(column)


@compiles(utc_hour)
def _utc_hour_default(element, compiler, **kw):
    return "strftime('%%Y-%%m-%%d %%H', %s)" % compiler.process(element.clauses, **kw)


@compiles(utc_hour, "postgresql")
def _utc_hour_postgresql(element, compiler, **kw):
    return "to_char(%s, 'YYYY-MM-DD HH24')" % compiler.process(element.clauses, **kw)


def day_of_hour(hour: str) -> date:
    """The Paris day of a ``utc_hour`` key."""
    return paris_day(datetime.strptime(hour + " +0000", "%Y-%m-%d %H %z"))


def by_paris_day(rows: Iterable[tuple], keys: int = 0) -> dict[tuple, list[int]]:
    """Rows ``(utc_hour, *keys, *counts)`` summed by ``(paris day, *keys)``; oldest day first."""
    out: dict[tuple, list[int]] = {}
    for row in rows:
        head = (day_of_hour(row[0]), *row[1:1 + keys])
        counts = [int(c or 0) for c in row[1 + keys:]]
        if head in out:
            out[head] = [a + b for a, b in zip(out[head], counts)]
        else:
            out[head] = counts
    return dict(sorted(out.items(), key=lambda item: (item[0][0], *map(str, item[0][1:]))))
