"""Account state changes, each writing its audit entry."""
from __future__ import annotations

from datetime import timedelta

import pyotp
from flask import current_app
from sqlalchemy import func, select

from ..audit import record_event
from ..extensions import db
from ..models import User, utcnow
from ..passwords import needs_rehash, verify_password, hash_password
from . import sessions

LOGIN_FAILED_MESSAGE = "Identifiant ou mot de passe incorrect."


class LoginRefused(Exception):
    """Same message whatever the cause (unknown user, wrong password, locked, disabled)."""


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def authenticate(email: str, password: str) -> User:
    """Check the password; throttle then lock after repeated failures."""
    user = find_user_by_email(email)
    now = utcnow()
    ok = verify_password(user.password_hash if user else None, password)
    if user is None:
        record_event("auth", "login_failed", target=email[:200], reason="unknown_user")
        db.session.commit()
        raise LoginRefused(LOGIN_FAILED_MESSAGE)
    if user.locked_until and user.locked_until > now:
        record_event("auth", "login_refused_locked", actor=user)
        db.session.commit()
        raise LoginRefused(LOGIN_FAILED_MESSAGE)
    if not ok or not user.is_active:
        user.failed_logins = (user.failed_logins or 0) + 1
        record_event("auth", "login_failed", actor=user, failures=user.failed_logins,
                     reason="bad_password" if not ok else "inactive")
        if user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]:
            user.locked_until = now + timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])
            user.failed_logins = 0
            record_event("auth", "account_locked", actor=user)
        db.session.commit()
        raise LoginRefused(LOGIN_FAILED_MESSAGE)
    user.failed_logins = 0
    user.locked_until = None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def log_in(user: User) -> None:
    sessions.start_session(user, mfa_verified=False)
    record_event("auth", "login", actor=user)
    db.session.commit()


def verify_totp(user: User, code: str) -> bool:
    """Check a TOTP code; each code (time step) is accepted only once."""
    if not user.totp_secret or not code or not code.strip().isdigit():
        return False
    totp = pyotp.TOTP(user.totp_secret)
    now = utcnow()
    for offset in (0, -1, 1):  # one step of clock drift either way
        counter = totp.timecode(now) + offset
        if totp.generate_otp(counter) == code.strip():
            if user.totp_last_counter is not None and counter <= user.totp_last_counter:
                return False  # replayed code
            user.totp_last_counter = counter
            return True
    return False


def complete_mfa(user: User, code: str) -> bool:
    ok = verify_totp(user, code)
    if ok:
        sessions.mark_mfa_verified()
        record_event("mfa", "mfa_success", actor=user)
    else:
        user.failed_logins = (user.failed_logins or 0) + 1
        record_event("mfa", "mfa_failed", actor=user, failures=user.failed_logins)
        if user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]:
            user.locked_until = utcnow() + timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])
            user.failed_logins = 0
            record_event("auth", "account_locked", actor=user)
            sessions.end_session()
    db.session.commit()
    return ok


def log_out(user: User | None) -> None:
    sessions.end_session()
    if user is not None:
        record_event("auth", "logout", actor=user)
    db.session.commit()
