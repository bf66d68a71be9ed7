"""Security audit trail: append-only, hash-chained (see `portal.chain`).

`record_event` is called by the service functions that change state (logins, MFA,
habilitations, tokens...). Details must never contain secrets: keys that look like
passwords, codes, tokens or cookies are refused outright.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import g, has_request_context, request
from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from . import chain
from .extensions import db
from .models import utcnow

FORBIDDEN_DETAIL_KEYS = ("password", "mot_de_passe", "code", "token", "cookie", "secret", "otp")


class AuditEntry(chain.ChainedMixin, db.Model):
    __tablename__ = "audit_entries"
    # last_verification(): equality on (category, action), latest seq first.
    __table_args__ = (Index("ix_audit_entries_category_action_seq", "category", "action", "seq"),)
    CHAIN_NAME = "audit"
    CHAIN_FIELDS = ("at", "category", "action", "actor_user_id", "organisation_id", "target",
                    "details", "ip", "request_id")

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    category: Mapped[str] = mapped_column(String(32))  # auth, mfa, habilitation, token, admin, edi...
    action: Mapped[str] = mapped_column(String(64))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    organisation_id: Mapped[int | None] = mapped_column(Integer, index=True)
    target: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(45))
    request_id: Mapped[str | None] = mapped_column(String(36))


def current_request_id() -> str | None:
    return getattr(g, "request_id", None) if has_request_context() else None


def current_api_token():
    """The API token the current request came with (`portal.api` sets it), or None: outside a
    request, or a browser's request."""
    return g.get("api_token") if has_request_context() else None


def record_event(category: str, action: str, *, actor=None, organisation_id: int | None = None,
                 target: str | None = None, **details) -> AuditEntry:
    """Append a security event to the audit chain, in the caller's transaction. Within an API
    call, the entry names the token (`jeton_api`, its id): the action was a program's, under
    that token, not its creator's at the keyboard."""
    token = current_api_token()
    if token is not None:
        details = {**details, "jeton_api": token.id}
    for key in details:
        if any(word in key.lower() for word in FORBIDDEN_DETAIL_KEYS):
            raise ValueError(f"le détail d'audit {key!r} ressemble à un secret : refusé")
    entry = AuditEntry(
        at=utcnow(),
        category=category,
        action=action,
        actor_user_id=getattr(actor, "id", None),
        organisation_id=organisation_id if organisation_id is not None else getattr(actor, "organisation_id", None),
        target=target,
        details=details,
        ip=request.remote_addr if has_request_context() else None,
        request_id=current_request_id(),
    )
    return chain.append(entry)


def verify() -> chain.ChainReport:
    """Walk the whole chain (long on a long chain: an explicit action, never a page load)."""
    return chain.verify_chain(AuditEntry)


# A verification made from the audit trail page is itself an audit event (chained like the
# others): its details hold the outcome, the page shows the latest one.
VERIFICATION_CATEGORY, VERIFICATION_ACTION = "audit", "chain_verified"


def last_verification() -> AuditEntry | None:
    """The latest recorded verification of the chain, or None (reads; verifies nothing)."""
    return db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.category == VERIFICATION_CATEGORY, AuditEntry.action == VERIFICATION_ACTION)
        .order_by(AuditEntry.seq.desc()).limit(1)
    ).first()


def purge(retention_months: int) -> int:
    """Delete audit rows older than the retention; more than 36 months is refused."""
    if not 1 <= retention_months <= 36:
        raise ValueError("la durée de conservation doit être comprise entre 1 et 36 mois")
    cutoff = utcnow() - timedelta(days=30 * retention_months)
    return chain.purge_before(AuditEntry, cutoff)
