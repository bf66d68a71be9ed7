"""Bookkeeping writes never fail a request (issue #18): the "last used" stamp of an API token and
the "last seen" stamp of a session are best effort. When the database refuses them ("database
is locked" on SQLite, a lock timeout on PostgreSQL), the request goes on (200), the failure is
logged, and the request's own writes are unaffected.

The failure is injected at the driver: the stamp's UPDATE raises the driver's own
OperationalError, which SQLAlchemy wraps as it would a real lock error.
"""
from __future__ import annotations

import io
import logging
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from portal.extensions import db
from portal.models import ApiToken, UserSession, utcnow


@contextmanager
def locked(statement_start: str):
    """Every statement starting with `statement_start` fails as if the row were locked."""
    calls = []

    def refuse(cursor, statement, parameters, context):
        if statement.lstrip().upper().startswith(statement_start.upper()):
            calls.append(statement)
            raise db.engine.dialect.dbapi.OperationalError("database is locked")
        return False

    event.listen(db.engine, "do_execute", refuse)
    try:
        yield calls
    finally:
        event.remove(db.engine, "do_execute", refuse)


@pytest.fixture
def landlord(factory):
    org = factory.organisation("bailleur", services={"EDI": []})
    return org, factory.user(org, role="bailleur_operator", habilitations={"EDI": None})


def test_a_token_whose_last_used_stamp_cannot_be_written_still_gets_its_answer(
        factory, api_client, landlord, caplog):
    org, user = landlord
    token, raw = factory.api_token(org, user)  # never used: its first call writes the stamp
    with caplog.at_level(logging.WARNING), locked("UPDATE api_tokens SET last_used_at") as calls:
        response = api_client(raw).get("/api/v1/moi")
    assert calls, "the stamp was not even attempted"
    assert response.status_code == 200 and response.get_json()["organisation"]["id"] == org.id
    assert any("last_used_at" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    db.session.refresh(token)
    assert token.last_used_at is None  # given up, not half-written


def test_the_request_s_own_writes_go_through_after_a_failed_stamp(factory, api_client, landlord):
    from edi.models import EdiFichier
    org, user = landlord
    _token, raw = factory.api_token(org, user)
    with locked("UPDATE api_tokens SET last_used_at"):
        response = api_client(raw).post("/api/v1/edi/fichiers", content_type="multipart/form-data", data={
            "fichier": (io.BytesIO(b"<Loyers/>"), "loyers.xml"), "signature": (io.BytesIO(b"sig"), "s.p7s")})
    assert response.status_code == 202
    assert db.session.scalar(select(EdiFichier.organisation_id).where(
        EdiFichier.id == response.get_json()["id"])) == org.id


def test_a_session_whose_last_seen_stamp_cannot_be_written_still_gets_its_page(
        client, factory, landlord, caplog):
    _org, user = landlord
    factory.sign_in(client, user)
    row = db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)).one()
    row.last_seen_at = utcnow() - timedelta(minutes=5)  # due for a refresh (once a minute)
    db.session.flush()
    with caplog.at_level(logging.WARNING), locked("UPDATE user_sessions SET last_seen_at") as calls:
        page = client.get("/edi/fichiers")
    assert calls, "the stamp was not even attempted"
    assert page.status_code == 200 and user.prenom in page.get_data(as_text=True)
    assert any("last_seen_at" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    db.session.refresh(row)
    assert row.revoked_at is None and utcnow() - row.last_seen_at > timedelta(minutes=4)
    # …and once the database accepts it again, the stamp is written.
    assert client.get("/edi/fichiers").status_code == 200
    db.session.refresh(row)
    assert utcnow() - row.last_seen_at < timedelta(minutes=1)


def test_stamps_still_written_when_the_database_accepts_them(factory, api_client, landlord):
    org, user = landlord
    token, raw = factory.api_token(org, user)
    assert api_client(raw).get("/api/v1/moi").status_code == 200
    db.session.refresh(token)
    assert db.session.get(ApiToken, token.id).last_used_at is not None
