"""Hash chain under concurrent writers, on the real database (committed rows, one connection per
writer): appends serialise on the chain head, so the chain never forks and has no gap."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from portal import audit
from portal.audit import AuditEntry
from portal.extensions import db

pytestmark = pytest.mark.committed

WRITERS, APPENDS = 4, 15


def test_concurrent_appends_keep_one_unbroken_chain(live_app):
    with live_app.app_context():
        before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    errors: list[BaseException] = []
    barrier = threading.Barrier(WRITERS)

    def writer(n: int) -> None:
        with live_app.app_context():
            try:
                barrier.wait()
                for i in range(APPENDS):
                    audit.record_event("test", "ecriture_concurrente", target=f"writer:{n}", rang=i)
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
        seqs = db.session.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq)).all()
        assert len(seqs) == before + WRITERS * APPENDS
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # no gap, no duplicate
        report = audit.verify()
        assert report.ok, report.reason
        db.session.remove()
