"""Per-phase CPU and SQL statements of one consultation, measured in-process (bench only).

`instrument(app)` wraps, in this process only, the functions a consultation goes through with
a phase timer: each phase gets the *thread* CPU time (`time.thread_time`) spent in it, minus
its nested phases, and the SQL statements issued while it is the innermost one (SQLAlchemy
`before_cursor_execute`). Nothing in the product imports this module.

Phases: session/auth (session cookie, user and server-side session, MFA, access rule, CSRF),
policy (actor, contract and profile, input checks, scope lookup), queries (the file's sections,
`cdap.dossier.build_view`), journal (chained append), atypical (counters and rules), rendering
(Jinja), commit, and "other" (Flask, Werkzeug, form parsing: the request minus the above).
"""
from __future__ import annotations

import functools
import time
from collections import defaultdict

from sqlalchemy import event

PHASES = ("session/auth", "policy", "queries", "journal", "atypical", "rendering", "commit", "other")


class PhaseTimer:
    def __init__(self):
        self.stack: list[list] = []  # [name, start cpu, nested cpu]
        self.cpu: dict[str, float] = defaultdict(float)
        self.statements: dict[str, int] = defaultdict(int)

    def reset(self):
        self.stack.clear()
        self.cpu.clear()
        self.statements.clear()

    def push(self, name: str):
        self.stack.append([name, time.thread_time(), 0.0])

    def pop(self):
        name, start, nested = self.stack.pop()
        spent = time.thread_time() - start
        self.cpu[name] += spent - nested
        if self.stack:
            self.stack[-1][2] += spent

    def wrap(self, name: str, fn):
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            self.push(name)
            try:
                return fn(*args, **kwargs)
            finally:
                self.pop()
        return timed

    def on_statement(self, *_args, **_kwargs):
        self.statements[self.stack[-1][0] if self.stack else "other"] += 1


def instrument(app, timer: PhaseTimer) -> None:
    """Wrap the consultation's steps (page and API) in `timer`'s phases."""
    from cdap import api, atypical, journal, services, views
    from portal.extensions import db

    services.validate_request = timer.wrap("policy", services.validate_request)
    services.find_in_scope = timer.wrap("policy", services.find_in_scope)
    views.current_actor = timer.wrap("policy", views.current_actor)
    api._actor = timer.wrap("policy", api._actor)
    services.build_view = timer.wrap("queries", services.build_view)
    journal.record = timer.wrap("journal", journal.record)
    atypical.check = timer.wrap("atypical", atypical.check)
    views.render_template = timer.wrap("rendering", views.render_template)
    iface = app.session_interface
    iface.open_session = timer.wrap("session/auth", iface.open_session)
    iface.save_session = timer.wrap("session/auth", iface.save_session)
    for key, funcs in app.before_request_funcs.items():
        app.before_request_funcs[key] = [timer.wrap("session/auth", f) for f in funcs]
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", timer.on_statement)

    @event.listens_for(db.session, "before_commit")
    def _commit_starts(_session):
        timer.push("commit")

    @event.listens_for(db.session, "after_commit")
    def _commit_ends(_session):
        timer.pop()
