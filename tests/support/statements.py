"""Count the SQL statements a block issues (behaviour, not timing): `with counted() as s: ...`.

Savepoints and their releases are the test harness's (each test runs in a rolled-back
transaction), not the code's, and are left out."""
from __future__ import annotations

import re
from contextlib import contextmanager

from sqlalchemy import event

HARNESS = re.compile(r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)", re.I)


@contextmanager
def _statements_where(keep):
    """The statements of the block (the harness's left out) for which `keep(statement, context)`."""
    from portal.extensions import db
    statements: list[str] = []

    def on_execute(_conn, _cursor, statement, _params, context, _many):
        if not HARNESS.match(statement) and keep(statement, context):
            statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)


def counted():
    return _statements_where(lambda _statement, _context: True)


def compiled_anew():
    """The statements a block had SQLAlchemy compile (not taken from its compiled cache:
    generated for this execution, or not cacheable at all): on a hot path, each one costs its
    compilation again at every call."""
    return _statements_where(lambda _statement, context: context is not None and context.compiled is not None
                             and context.cache_hit != context.dialect.CACHE_HIT)
