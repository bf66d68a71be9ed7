"""A password-reset link used three times at once (issue #18): exactly one use sets the password,
the two others get the "link already used" page (410) — never a 500, never three passwords set
one after the other.

Real concurrent requests on a database of its own with committed data (SQLite file, or the
PostgreSQL database `<TEST_DATABASE_URL>_reset_concurrency`). The three requests are made to
read the still-valid link before any of them writes: each waits for the two others when it hashes
the new password. Before the fix SQLite answered one 302 and two 500 ("database is locked", a
write from a stale snapshot) and PostgreSQL three 302.

On SQLite a POST now opens its transaction with BEGIN IMMEDIATE (portal/database.py): the three
requests are serialised at BEGIN and cannot all read first, so the wait for the others is bounded
and gives up (the others are queued behind the write lock, not reading).
"""
from __future__ import annotations

import contextlib
import re
import threading

import pytest
from sqlalchemy import select

pytestmark = pytest.mark.committed  # committed data: no per-test rolled-back transaction

USES = 3


@pytest.fixture(scope="module")
def reset_app():
    from tests.support.plugin import committed_app
    yield from committed_app("reset_concurrency")


def test_three_concurrent_uses_of_one_reset_link_one_succeeds_two_get_410(reset_app, monkeypatch):
    from portal.accounts import services
    from portal.audit import AuditEntry
    from portal.extensions import db
    from portal.models import PasswordResetToken, User
    from portal.passwords import verify_password
    from tests.support import factories

    with reset_app.app_context():
        user = factories.user(role="partner_manager", mfa=False)
        raw = services.issue_reset_token(user, minutes=30)
        db.session.commit()
        user_id = user.id
        db.session.remove()

    passwords = [f"Nouveau mot de passe n°{n} tout neuf" for n in range(USES)]
    all_read = threading.Barrier(USES, timeout=3)
    real_hash = services.hash_password

    def hash_after_everyone_read(password):
        # the three requests have all found the link valid (on SQLite the others wait for the
        # write lock at BEGIN IMMEDIATE instead of reading: the barrier gives up)
        with contextlib.suppress(threading.BrokenBarrierError):
            all_read.wait()
        return real_hash(password)

    monkeypatch.setattr(services, "hash_password", hash_after_everyone_read)
    statuses: dict[int, int] = {}
    errors: list[BaseException] = []

    def use_link(n: int) -> None:
        try:
            client = reset_app.test_client()
            page = client.get(f"/mot-de-passe-oublie/nouveau?token={raw}")
            assert page.status_code == 200
            csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True)).group(1)
            response = client.post("/mot-de-passe-oublie/nouveau", data={
                "token": raw, "new_password": passwords[n], "confirm": passwords[n], "csrf_token": csrf})
            statuses[n] = response.status_code
        except BaseException as exc:  # pragma: no cover - shown in the assertion
            errors.append(exc)

    threads = [threading.Thread(target=use_link, args=(n,)) for n in range(USES)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(statuses.values()) == [302, 410, 410], statuses

    with reset_app.app_context():
        winner = next(n for n, status in statuses.items() if status == 302)
        user = db.session.get(User, user_id)
        assert [verify_password(user.password_hash, p) for p in passwords] == [n == winner for n in range(USES)]
        token = db.session.scalars(select(PasswordResetToken).where(PasswordResetToken.user_id == user_id)).one()
        assert token.used_at is not None
        done = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "password_reset_done",
                                                           AuditEntry.actor_user_id == user_id)).all()
        assert len(done) == 1
        db.session.remove()
