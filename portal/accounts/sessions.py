"""Server-side sessions.

The Flask cookie (signed, `__Host-` in production) only carries a random token; the row in
`user_sessions` (keyed by its SHA-256) says whether it is still valid. Logout, password change,
suspension and timeouts revoke rows, so a replayed cookie is refused.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app, g, session
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import joinedload

from ..database import best_effort
from ..extensions import db
from ..models import Organisation, User, UserSession, utcnow
from ..notifications.services import unread_count_of

SESSION_KEY = "sid"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, *, mfa_verified: bool = False) -> UserSession:
    """New identifier at every login (no session fixation)."""
    session.clear()
    token = secrets.token_urlsafe(32)
    row = UserSession(id=_digest(token), user_id=user.id,
                      mfa_verified_at=utcnow() if mfa_verified else None)
    db.session.add(row)
    session[SESSION_KEY] = token
    session.permanent = False
    return row


def current_session_row() -> UserSession | None:
    token = session.get(SESSION_KEY)
    if not token:
        return None
    return db.session.get(UserSession, _digest(token))


_SESSION_WITH_USER = None


def _session_statement():
    """Built once per process: constructing the statement and its four loader options cost
    ≈ 0.9 ms of CPU per request, as much as running it (bench/README.md, « Coût d'une page »)."""
    global _SESSION_WITH_USER
    if _SESSION_WITH_USER is None:
        _SESSION_WITH_USER = (
            select(UserSession, unread_count_of(UserSession.user_id))
            .where(UserSession.id == bindparam("sid"))
            .options(joinedload(UserSession.user).options(
                joinedload(User.habilitations),
                joinedload(User.organisation).joinedload(Organisation.contrats))))
    return _SESSION_WITH_USER


def _session_with_user(token: str) -> tuple[UserSession, int] | None:
    """The session row with its user, the user's habilitations and organisation contracts, and
    the user's unread notifications (the header's bell): what every page reads, in one round
    trip instead of one lazy load each and a second statement for the bell."""
    return db.session.execute(_session_statement(), {"sid": _digest(token)}).unique().first()


def load_user_from_session(user_id: str) -> User | None:
    """Flask-Login user_loader: the user only if the server-side session is still valid."""
    token = session.get(SESSION_KEY)
    found = _session_with_user(token) if token else None
    row, unread = found if found is not None else (None, None)
    if row is None or row.revoked_at is not None or str(row.user_id) != str(user_id):
        return None
    now = utcnow()
    idle = timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])
    absolute = timedelta(hours=current_app.config["SESSION_ABSOLUTE_HOURS"])
    if now - row.last_seen_at > idle or now - row.created_at > absolute:
        # Refused whether or not the revocation is written: the next request finds it expired.
        best_effort("user_sessions.revoked_at (expiration)", lambda: setattr(row, "revoked_at", now))
        session.clear()
        return None
    user = row.user
    if not user.is_active:
        return None
    if now - row.last_seen_at > timedelta(seconds=60):  # avoid a write on every request
        best_effort("user_sessions.last_seen_at", lambda: setattr(row, "last_seen_at", now))
    g.mfa_verified = row.mfa_verified_at is not None
    g.session_row_id = row.id
    g.unread_notifications = unread  # read by the bell; publishing or marking read forgets it
    return user


def mark_mfa_verified() -> None:
    row = current_session_row()
    if row is not None:
        row.mfa_verified_at = utcnow()
        g.mfa_verified = True


def end_session() -> None:
    row = current_session_row()
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
    session.clear()


def revoke_all_sessions(user_id: int, *, keep: str | None = None) -> None:
    """Password change, suspension or disable: every other session of the user dies."""
    stmt = update(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
    if keep:
        stmt = stmt.where(UserSession.id != keep)
    db.session.execute(stmt.values(revoked_at=utcnow()))
