"""Core models of the portal shell: organisations, contracts, users, habilitations,
sessions, API tokens and the outbox. Domain models live in their own packages."""
from __future__ import annotations

import enum
from datetime import datetime, timedelta, timezone

from flask_login import UserMixin
from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db


def utcnow() -> datetime:
    """Naive UTC timestamp: stored the same way on SQLite and PostgreSQL."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class OrganisationKind(str, enum.Enum):
    COLLECTIVITE = "collectivite"
    ASSOCIATION = "association"
    ENTREPRISE = "entreprise"
    BAILLEUR = "bailleur"
    CONSEIL_DEPARTEMENTAL = "conseil_departemental"
    CCAS = "ccas"
    CAF = "caf"


ORGANISATION_KIND_LABELS = {
    "collectivite": "Collectivité",
    "association": "Association",
    "entreprise": "Entreprise",
    "bailleur": "Bailleur",
    "conseil_departemental": "Conseil départemental",
    "ccas": "CCAS",
    "caf": "Caf",
}


class Role(str, enum.Enum):
    PARTNER_MANAGER = "partner_manager"
    PARTNER_ADMIN = "partner_admin"
    BAILLEUR_OPERATOR = "bailleur_operator"
    TRAVAILLEUR_SOCIAL = "travailleur_social"
    CAF_AGENT = "caf_agent"
    CAF_ADMIN = "caf_admin"


ROLE_LABELS = {
    "partner_manager": "Gestionnaire d'équipement",
    "partner_admin": "Administrateur partenaire",
    "bailleur_operator": "Opérateur bailleur",
    "travailleur_social": "Travailleur social",
    "caf_agent": "Agent Caf",
    "caf_admin": "Administrateur Caf",
}

CAF_ROLES = frozenset({Role.CAF_AGENT.value, Role.CAF_ADMIN.value})
PARTNER_ROLES = frozenset(
    {Role.PARTNER_MANAGER.value, Role.PARTNER_ADMIN.value, Role.BAILLEUR_OPERATOR.value,
     Role.TRAVAILLEUR_SOCIAL.value}
)
ALL_ROLES = CAF_ROLES | PARTNER_ROLES

HABILITATION_REVIEW_DAYS = 365


class Organisation(db.Model):
    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(primary_key=True)
    nom: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    siret: Mapped[str | None] = mapped_column(String(14), unique=True)
    code_bailleur: Mapped[str | None] = mapped_column(String(20), unique=True)
    territoire: Mapped[str | None] = mapped_column(String(3))  # département, e.g. "80"
    convention_ref: Mapped[str | None] = mapped_column(String(50))
    convention_signee_le: Mapped[datetime | None] = mapped_column(DateTime)
    suspended_at: Mapped[datetime | None] = mapped_column(DateTime)
    suspension_motif: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    contrats: Mapped[list[Contrat]] = relationship(back_populates="organisation", cascade="all, delete-orphan")
    users: Mapped[list[User]] = relationship(back_populates="organisation")

    @property
    def is_caf(self) -> bool:
        return self.kind == OrganisationKind.CAF.value

    @property
    def kind_label(self) -> str:
        return ORGANISATION_KIND_LABELS.get(self.kind, self.kind)

    def active_contrat(self, service: str) -> Contrat | None:
        now = utcnow()
        for contrat in self.contrats:
            if contrat.service == service and contrat.is_active(now):
                return contrat
        return None


class Contrat(db.Model):
    """Contrat de service: which service an organisation may use and, for a service with
    habilitation profiles (``portal.registry.Service.profils``), which of them."""
    __tablename__ = "contrats"
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    service: Mapped[str] = mapped_column(String(8))
    profils: Mapped[list] = mapped_column(JSON, default=list)
    debut: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    fin: Mapped[datetime | None] = mapped_column(DateTime)
    suspended_at: Mapped[datetime | None] = mapped_column(DateTime)
    organisation: Mapped[Organisation] = relationship(back_populates="contrats")

    def is_active(self, now: datetime | None = None) -> bool:
        now = now or utcnow()
        if self.suspended_at is not None or self.organisation.suspended_at is not None:
            return False
        return self.debut <= now and (self.fin is None or now < self.fin)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    prenom: Mapped[str] = mapped_column(String(100))
    nom: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime)
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_counter: Mapped[int | None] = mapped_column(Integer)
    # Secret being enrolled (shown as a QR code) until the first code confirms it.
    totp_pending_secret: Mapped[str | None] = mapped_column(String(64))
    mfa_enrolled_at: Mapped[datetime | None] = mapped_column(DateTime)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship(back_populates="users")
    habilitations: Mapped[list[Habilitation]] = relationship(
        back_populates="user", foreign_keys="Habilitation.user_id", cascade="all, delete-orphan"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.disabled_at is None and self.organisation.suspended_at is None

    @property
    def full_name(self) -> str:
        return f"{self.prenom} {self.nom}"

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    @property
    def is_caf_staff(self) -> bool:
        return self.role in CAF_ROLES

    @property
    def mfa_required(self) -> bool:
        """Caf staff, partner admins and every user habilitated for a service that asks for it
        (``portal.registry.Service.mfa``) must use a second factor."""
        from .registry import current
        return (
            self.role in CAF_ROLES
            or self.role == Role.PARTNER_ADMIN.value
            or any(s.mfa and self.habilitation(s.code) is not None for s in current().services.values())
        )

    def habilitation(self, service: str) -> Habilitation | None:
        """The user's usable habilitation for a service, if any (active, not suspended, under contract)."""
        now = utcnow()
        for hab in self.habilitations:
            if hab.service == service and hab.is_active(now):
                if self.organisation.active_contrat(service) is None:
                    return None
                return hab
        return None

    def services(self) -> list[str]:
        from .registry import current
        return [code for code in current().services if self.habilitation(code) is not None]


class Habilitation(db.Model):
    __tablename__ = "habilitations"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    service: Mapped[str] = mapped_column(String(8))
    profil: Mapped[str | None] = mapped_column(String(40))  # one of the service's profils, if it has any
    granted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    suspended_until: Mapped[datetime | None] = mapped_column(DateTime)
    suspension_motif: Mapped[str | None] = mapped_column(Text)

    user: Mapped[User] = relationship(back_populates="habilitations", foreign_keys=[user_id])
    granted_by: Mapped[User | None] = relationship(foreign_keys=[granted_by_id])

    def is_active(self, now: datetime | None = None) -> bool:
        now = now or utcnow()
        if self.revoked_at is not None:
            return False
        return not self.is_suspended(now)

    def is_suspended(self, now: datetime | None = None) -> bool:
        """A suspension in force, revoked or not (revoking does not lift it: it still keeps a new
        habilitation for the service from being granted, and only the Caf lifts it)."""
        return self.suspended_until is not None and self.suspended_until > (now or utcnow())

    @property
    def needs_review(self) -> bool:
        """A habilitation not granted or reviewed in the last 12 months is flagged for review."""
        last = self.reviewed_at or self.granted_at
        return utcnow() - last > timedelta(days=HABILITATION_REVIEW_DAYS)


class UserSession(db.Model):
    """Server-side session: the cookie only carries its random id, so logout,
    password change and suspension invalidate it for good (a replayed cookie is refused)."""
    __tablename__ = "user_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie token
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    mfa_verified_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    user: Mapped[User] = relationship()


class ApiToken(db.Model):
    """Token for a machine client: shown once, stored as a SHA-256 hash, scoped and expiring."""
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    nom: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    # The profile of the token's one scope that has profiles (portal.registry.Service.profils).
    profil: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)

    organisation: Mapped[Organisation] = relationship()
    created_by: Mapped[User] = relationship()

    def is_usable(self, now: datetime | None = None) -> bool:
        now = now or utcnow()
        return self.revoked_at is None and now < self.expires_at and self.organisation.suspended_at is None


class OutboxMessage(db.Model):
    """Emails are written here; in run mode they are also dropped as .eml files in var/outbox."""
    __tablename__ = "outbox_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    to: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)


class PasswordResetToken(db.Model):
    __tablename__ = "password_reset_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)
    user: Mapped[User] = relationship()
