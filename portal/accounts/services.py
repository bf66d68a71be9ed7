"""Account state changes, each writing its audit entry."""
from __future__ import annotations

from datetime import timedelta

import pyotp
from flask import current_app
from sqlalchemy import func, select, update

from ..audit import record_event
from ..extensions import db
from ..models import User, utcnow
from ..passwords import hash_password, needs_rehash, verify_password
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
        db.session.commit()  # exception: the refused attempt stays in the audit trail
        raise LoginRefused(LOGIN_FAILED_MESSAGE)
    if user.locked_until and user.locked_until > now:
        record_event("auth", "login_refused_locked", actor=user)
        db.session.commit()  # exception: the refused attempt stays in the audit trail
        raise LoginRefused(LOGIN_FAILED_MESSAGE)
    if not ok or not user.is_active:
        user.failed_logins = (user.failed_logins or 0) + 1
        record_event("auth", "login_failed", actor=user, failures=user.failed_logins,
                     reason="bad_password" if not ok else "inactive")
        if user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]:
            user.locked_until = now + timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])
            user.failed_logins = 0
            record_event("auth", "account_locked", actor=user)
        # Exception: the refused attempt, its failure count and the lock stay although the
        # login fails (the caller sees only LoginRefused).
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
    db.session.flush()


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
    db.session.flush()
    return ok


def log_out(user: User | None) -> None:
    sessions.end_session()
    if user is not None:
        record_event("auth", "logout", actor=user)
    db.session.flush()


# --- MFA enrolment ---------------------------------------------------------------------------

TOTP_ISSUER = "Extranet Partenaires Caf"


def start_mfa_enrolment(user: User, *, renew: bool = False) -> str:
    """Give the user a pending TOTP secret, kept until a first code confirms it (the enrolled
    factor, if any, stays active until then). Called by an explicit POST: the enrolment page
    only shows what is pending. An existing pending secret is kept (a double submission does
    not invalidate a QR code already scanned) unless `renew` asks for a new one."""
    if user.totp_pending_secret and not renew:
        return user.totp_pending_secret
    renewed = user.totp_pending_secret is not None
    user.totp_pending_secret = pyotp.random_base32()
    record_event("mfa", "mfa_enrol_started", actor=user, renewed=renewed,
                 replacing=user.mfa_enrolled_at is not None)
    db.session.flush()
    return user.totp_pending_secret


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER)


def qr_code_svg(uri: str) -> str:
    """The otpauth:// URI as an inline SVG QR code (no image library, no inline style)."""
    import segno
    return segno.make(uri, error="m").svg_inline(scale=5, border=2, title="QR code d'enrôlement")


def _match_code(secret: str, code: str) -> int | None:
    """The time-step counter that `code` matches for `secret` (±1 step), or None."""
    code = (code or "").strip()
    if not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now = utcnow()
    for offset in (0, -1, 1):
        counter = totp.timecode(now) + offset
        if totp.generate_otp(counter) == code:
            return counter
    return None


def confirm_mfa_enrolment(user: User, code: str) -> bool:
    """The first code from the new device confirms the pending secret, which replaces the old one."""
    secret = user.totp_pending_secret
    counter = _match_code(secret, code) if secret else None
    if counter is None:
        record_event("mfa", "mfa_enrol_failed", actor=user)
        db.session.flush()
        return False
    replacing = user.mfa_enrolled_at is not None
    user.totp_secret = secret
    user.totp_pending_secret = None
    user.totp_last_counter = counter  # the confirmation code cannot be replayed at sign-in
    user.mfa_enrolled_at = utcnow()
    sessions.mark_mfa_verified()
    record_event("mfa", "mfa_enrolled", actor=user, replaced_previous=replacing)
    db.session.flush()
    return True


# --- Passwords -------------------------------------------------------------------------------

class PasswordRefused(Exception):
    def __init__(self, problems: list[str]):
        super().__init__(" ".join(problems))
        self.problems = problems


def _check_new_password(user: User, new_password: str) -> None:
    from ..passwords import password_problems
    problems = password_problems(new_password, email=user.email, names=(user.prenom, user.nom))
    if user.password_hash and verify_password(user.password_hash, new_password):
        problems.append("Le nouveau mot de passe doit être différent de l'actuel.")
    if problems:
        raise PasswordRefused(problems)


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Check the current password, apply the policy, then revoke every session of the user
    (the caller opens a fresh one for the current browser)."""
    if not verify_password(user.password_hash, current_password):
        record_event("auth", "password_change_failed", actor=user, reason="bad_current_password")
        db.session.commit()  # exception: the refused attempt stays in the audit trail
        raise PasswordRefused(["Le mot de passe actuel est incorrect."])
    _check_new_password(user, new_password)
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()
    sessions.revoke_all_sessions(user.id)
    record_event("auth", "password_changed", actor=user)
    db.session.flush()


RESET_SENT_MESSAGE = ("Si un compte actif correspond à cette adresse, un courriel contenant un lien "
                      "de réinitialisation vient de lui être envoyé.")


def _reset_digest(raw: str) -> str:
    import hashlib
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_reset_token(user: User, *, minutes: int) -> str:
    """Create a one-time link token (stored hashed); earlier unused tokens of the user die."""
    import secrets

    from ..models import PasswordResetToken
    now = utcnow()
    db.session.execute(update(PasswordResetToken)
                       .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
                       .values(used_at=now))
    raw = secrets.token_urlsafe(32)
    db.session.add(PasswordResetToken(user_id=user.id, token_hash=_reset_digest(raw), created_at=now,
                                      expires_at=now + timedelta(minutes=minutes)))
    return raw


def reset_link(raw: str) -> str:
    from flask import url_for
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return base + url_for("accounts.reset_confirm", token=raw)


def request_password_reset(email: str) -> None:
    """Email a one-time link if the address belongs to an active user; the caller answers the
    same way in every case (no account enumeration)."""
    from ..mail import send_email
    user = find_user_by_email(email)
    if user is None or not user.is_active:
        record_event("auth", "password_reset_unknown", target=email.strip()[:200])
        db.session.flush()
        return
    minutes = current_app.config["PASSWORD_RESET_MINUTES"]
    raw = issue_reset_token(user, minutes=minutes)
    send_email(user.email, "Extranet Partenaires — réinitialisation de votre mot de passe",
               f"Bonjour {user.prenom},\n\n"
               f"Une réinitialisation du mot de passe de votre compte a été demandée.\n"
               f"Ce lien est valable {minutes} minutes et ne peut servir qu'une fois :\n\n"
               f"{reset_link(raw)}\n\n"
               "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message : votre mot de "
               "passe actuel reste valable.\n\n— Extranet Partenaires de la Caf\n")
    record_event("auth", "password_reset_requested", actor=user)
    db.session.flush()


def find_valid_reset_token(raw: str | None):
    from ..models import PasswordResetToken
    if not raw or len(raw) > 200:
        return None
    token = db.session.scalar(select(PasswordResetToken)
                              .where(PasswordResetToken.token_hash == _reset_digest(raw)))
    if token is None or token.used_at is not None or token.expires_at <= utcnow():
        return None
    if not token.user.is_active:
        return None
    return token


class ResetLinkInvalid(Exception):
    pass


RESET_LINK_INVALID = "Ce lien de réinitialisation est invalide, expiré ou déjà utilisé."


def reset_password(raw: str, new_password: str) -> User:
    """Use a one-time link: set the new password, burn the link, revoke every session.

    The link is burnt by one conditional UPDATE (`used_at IS NULL`) whose row count says whether
    this request is the one that used it: of concurrent uses exactly one goes on, the others are
    refused (PostgreSQL makes the later UPDATEs wait for the first and re-check the condition).
    The UPDATE opens a transaction of its own: on SQLite, a write after this request's reads
    while another request wrote in between would fail ("database is locked")."""
    from ..models import PasswordResetToken
    token = find_valid_reset_token(raw)
    if token is None:
        raise ResetLinkInvalid(RESET_LINK_INVALID)
    user_id = token.user_id
    _check_new_password(token.user, new_password)
    password_hash = hash_password(new_password)  # slow: before taking the link
    db.session.rollback()  # nothing written yet: end the reads, the UPDATE starts afresh
    now = utcnow()
    burnt = db.session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.token_hash == _reset_digest(raw), PasswordResetToken.used_at.is_(None),
               PasswordResetToken.expires_at > now)
        .values(used_at=now).execution_options(synchronize_session=False))
    if burnt.rowcount != 1:
        db.session.rollback()
        raise ResetLinkInvalid(RESET_LINK_INVALID)
    user = db.session.get(User, user_id)
    user.password_hash = password_hash
    user.password_changed_at = now
    user.failed_logins = 0
    user.locked_until = None
    sessions.revoke_all_sessions(user.id)
    record_event("auth", "password_reset_done", actor=user)
    # Exception: the single-use link runs in a transaction of its own (see above), which this
    # commit ends: the burnt link and the new password are written together, at once.
    db.session.commit()
    return user
