"""Signing certificates registered by landlord organisations for the EDI."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models import Organisation, User, utcnow

EXPIRY_WARNING_DAYS = 30

STATUS_LABELS = {
    "en_attente": "En attente d'approbation",
    "approuve": "Approuvé",
    "refuse": "Refusé",
    "revoque": "Révoqué",
    "expire": "Expiré",
}


class RegisteredCertificate(db.Model):
    """One X.509 signing certificate of an organisation. Several may be active at once (key
    rollover); each has a usage window [usage_from, usage_until) inside its X.509 validity.
    The fingerprint (SHA-256 of the DER certificate) is unique across all organisations."""
    __tablename__ = "edi_certificates"
    __table_args__ = (Index("ix_edi_certificates_org_status", "organisation_id", "revoked_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(1000))
    issuer: Mapped[str] = mapped_column(String(1000))
    serial_hex: Mapped[str] = mapped_column(String(64))
    key_description: Mapped[str] = mapped_column(String(40))
    pem: Mapped[str] = mapped_column(Text)
    not_valid_before: Mapped[datetime] = mapped_column(DateTime)
    not_valid_after: Mapped[datetime] = mapped_column(DateTime)
    usage_from: Mapped[datetime] = mapped_column(DateTime)
    usage_until: Mapped[datetime] = mapped_column(DateTime)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime)
    rejected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    rejected_at: Mapped[datetime | None] = mapped_column(DateTime)
    rejection_motif: Mapped[str | None] = mapped_column(Text)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    revocation_motif: Mapped[str | None] = mapped_column(Text)
    expiry_warned_at: Mapped[datetime | None] = mapped_column(DateTime)
    files_verified: Mapped[int] = mapped_column(Integer, default=0)

    organisation: Mapped[Organisation] = relationship()
    uploaded_by: Mapped[User | None] = relationship(foreign_keys=[uploaded_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])
    rejected_by: Mapped[User | None] = relationship(foreign_keys=[rejected_by_id])

    def status(self, now: datetime | None = None) -> str:
        now = now or utcnow()
        if self.revoked_at is not None:
            return "revoque"
        if self.rejected_at is not None:
            return "refuse"
        if now >= self.not_valid_after or now >= self.usage_until:
            return "expire"
        if self.approved_at is None:
            return "en_attente"
        return "approuve"

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status()]

    def is_usable(self, at: datetime) -> bool:
        """Approved, not revoked (at ``at``), and ``at`` inside both windows."""
        return (self.approved_at is not None and self.rejected_at is None
                and (self.revoked_at is None or at < self.revoked_at)
                and self.usage_from <= at < self.usage_until
                and self.not_valid_before <= at < self.not_valid_after)

    def expires_soon(self, now: datetime | None = None, days: int = EXPIRY_WARNING_DAYS) -> bool:
        now = now or utcnow()
        end = min(self.not_valid_after, self.usage_until)
        return self.status(now) in ("approuve", "en_attente") and end - now <= timedelta(days=days)

    @property
    def end_of_use(self) -> datetime:
        return min(self.not_valid_after, self.usage_until)
