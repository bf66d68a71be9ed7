"""Hash chain under concurrent writers, on the real database (committed rows, one connection per
writer): appends serialise on the chain head, so the chain never forks and has no gap. Both
appends are exercised: the ORM one (`chain.append`, the audit trail) and the prebuilt one
(`chain.append_values`, the CDAP journal: one statement on PostgreSQL, whose hash PostgreSQL
computes, with the actor's usage counter in the same statement)."""
from __future__ import annotations

import threading

import pytest
from flask import current_app
from sqlalchemy import func, select

from cdap import journal
from cdap.atypical import Counts, actor_key, counter_params
from cdap.models import ConsultationJournal, UsageCounter
from portal import audit
from portal.audit import AuditEntry
from portal.extensions import db
from portal.models import utcnow

pytestmark = pytest.mark.committed

WRITERS, APPENDS = 4, 15


def _audit_append(n: int, i: int) -> None:
    audit.record_event("test", "ecriture_concurrente", target=f"writer:{n}", rang=i)


SHARED_TOKEN = 990_000  # every writer's journal rows are one API token's: they race on its usage counter


def _journal_append(n: int, i: int) -> None:
    # The counter's parameters as a consultation passes them (read with its lookup), here as for
    # an actor without a counter: each writer creates it unless it exists (they race on that
    # too), then increments it. (Read here, outside a request, SQLite would refuse the write of
    # a stale snapshot: BEGIN is not IMMEDIATE.)
    now = utcnow()
    counter = counter_params(None, SHARED_TOKEN, now, current_app.config["CDAP_SETTINGS"],
                             Counts(0, None, 0, stored=False), "found")
    journal.record(at=now, counter=counter, user_id=None, api_token_id=SHARED_TOKEN, organisation_id=None, profile="travailleur_social",
                   reference=f"{n:064d}", categories=["identite"], motif="accompagnement_social",
                   commentaire=f"écriture {i} — « concurrente »", channel="api", outcome="found",
                   request_id=None)


@pytest.mark.parametrize("model, append, verify", [
    (AuditEntry, _audit_append, audit.verify),
    (ConsultationJournal, _journal_append, journal.verify),
], ids=["audit", "cdap_journal"])
def test_concurrent_appends_keep_one_unbroken_chain(live_app, model, append, verify):
    with live_app.app_context():
        append(0, -1)  # the chain's head exists: the writers race on it, not on its creation
        db.session.commit()
        before = db.session.scalar(select(func.count()).select_from(model))
    errors: list[BaseException] = []
    barrier = threading.Barrier(WRITERS)

    def writer(n: int) -> None:
        with live_app.app_context():
            try:
                barrier.wait()
                for i in range(APPENDS):
                    append(n, i)
                    db.session.commit()
            except BaseException as exc:  # pragma: no cover - shown in the assertion
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with live_app.app_context():
        seqs = db.session.scalars(select(model.seq).order_by(model.seq)).all()
        assert len(seqs) == before + WRITERS * APPENDS
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # no gap, no duplicate
        report = verify()
        assert report.ok, report.reason
        if model is ConsultationJournal:
            # the usage counter is written in the append's statement: no attempt lost or counted twice
            counter = db.session.get(UsageCounter, actor_key(None, SHARED_TOKEN))
            assert counter.day_count == len(seqs)
        db.session.remove()
