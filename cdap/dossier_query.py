"""The file's sections in one statement (issue #22): one row of the allocataire, each section a
JSON array (of row arrays) computed by a scalar subquery, on PostgreSQL (`json_agg` ordered by
`aggregate_order_by`) and on SQLite (`json_group_array` over an ordered subquery, JSON1).

Only the sections the profile may see are in the statement, each with the columns and row
filters `cdap.dossier._statements` gives it (the policy's rows and history window): the same
rows are read as with one select per section, in one round trip. The statement is built once
per profile and dialect (cached); each consultation binds the file's id, the landlord's code and
the windows.

JSON turns values into text and numbers: `decode` gives back the types the view needs (dates
from ISO text, booleans from SQLite's 0/1).

Order: PostgreSQL orders inside the aggregate (`json_agg(... ORDER BY ...)`). SQLite 3.40 has no
ORDER BY in aggregates: `json_group_array` reads an ordered subquery, which SQLite aggregates in
that order (what it does, not a documented promise: `tests/cdap/test_dossier_query.py` checks
the order of the rows on both databases).
"""
from __future__ import annotations

from datetime import date
from functools import lru_cache

from sqlalchemy import JSON, Boolean, Date, bindparam, func, literal_column, select, type_coerce
from sqlalchemy.dialects.postgresql import aggregate_order_by

from .models import Allocataire


def _json_rows(dialect: str, stmt):
    """A scalar subquery: `stmt`'s rows, in its order, as a JSON array of arrays ([] if none)."""
    columns = list(stmt.selected_columns)
    if dialect == "postgresql":
        order = list(stmt._order_by_clauses)
        agg = func.json_agg(aggregate_order_by(func.json_build_array(*columns), *order) if order
                            else func.json_build_array(*columns))
        value = func.coalesce(agg, literal_column("'[]'::json"))
        return type_coerce(stmt.with_only_columns(value).order_by(None).scalar_subquery(), JSON)
    inner = stmt.with_only_columns(func.json_array(*columns).label("r")).subquery()
    value = func.json_group_array(func.json(inner.c.r))
    return type_coerce(select(value).scalar_subquery(), JSON)


@lru_cache(maxsize=None)
def one_statement(profile_name: str, dialect: str):
    """The profile's sections (`cdap.dossier._statements`) as columns of one select on the
    allocataire: identity columns as themselves, every other section as JSON rows."""
    from .dossier import _statements
    statements = dict(_statements(profile_name))
    A = Allocataire.__table__.c
    columns = []
    if "allocataire" in statements:
        columns += list(statements.pop("allocataire").selected_columns)
    for name, stmt in statements.items():
        columns.append(_json_rows(dialect, stmt).label(name))
    return select(*columns).where(A.id == bindparam("aid"))


class Row(tuple):
    """A decoded JSON row with named fields (like a result row)."""
    __slots__ = ()
    _names: dict[str, int] = {}

    def __getattr__(self, name):
        try:
            return self[self._names[name]]
        except KeyError:
            raise AttributeError(name) from None


@lru_cache(maxsize=None)
def _row_class(section: str, profile_name: str, dialect: str):
    from .dossier import _statements
    stmt = _statements(profile_name)[section]
    names = {c.name: i for i, c in enumerate(stmt.selected_columns)}
    converters = []
    for c in stmt.selected_columns:
        if isinstance(c.type, Date):
            converters.append(_to_date)
        elif isinstance(c.type, Boolean):
            converters.append(_to_bool)
        else:
            converters.append(None)
    return type(f"Row_{section}", (Row,), {"_names": names, "__slots__": ()}), tuple(converters)


def _to_date(value):
    return date.fromisoformat(value[:10]) if isinstance(value, str) else value


def _to_bool(value):
    return value if value is None else bool(value)


def decode(section: str, profile_name: str, dialect: str, rows) -> list:
    """The JSON rows of a section back as rows with named, typed fields."""
    cls, converters = _row_class(section, profile_name, dialect)
    out = []
    for values in rows or ():
        out.append(cls(conv(v) if conv and v is not None else v for conv, v in zip(converters, values)))
    return out
