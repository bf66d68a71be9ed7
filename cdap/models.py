"""CDAP reference data (the Caf's file of an allocataire), the consultation journal, the
social workers' "impayé de loyer" queue and atypical-use alerts.

Amounts are integer cents, quotients familiaux integer euros, months are the first day of
the month (`date`). Table names are prefixed `cdap_`.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (JSON, Boolean, Date, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import chain
from portal.extensions import db
from portal.models import utcnow

PRESTATIONS = {
    "AF": "Allocations familiales",
    "CF": "Complément familial",
    "ARS": "Allocation de rentrée scolaire",
    "PAJE": "Prestation d'accueil du jeune enfant",
    "CMG": "Complément de libre choix du mode de garde",
    "ALF": "Allocation de logement familiale",
    "ALS": "Allocation de logement sociale",
    "APL": "Aide personnalisée au logement",
    "RSA": "Revenu de solidarité active",
    "PA": "Prime d'activité",
    "AAH": "Allocation aux adultes handicapés",
    "ASF": "Allocation de soutien familial",
}
AIDES_LOGEMENT = frozenset({"ALF", "ALS", "APL"})
DROIT_STATUTS = {"ouvert": "Ouvert", "suspendu": "Suspendu", "clos": "Clos"}
SITUATIONS = {
    "celibataire": "Célibataire", "marie": "Marié(e)", "pacse": "Pacsé(e)",
    "concubinage": "En concubinage", "separe": "Séparé(e)", "divorce": "Divorcé(e)",
    "veuf": "Veuf / veuve",
}
BENEFICIAIRES = {"allocataire": "Allocataire", "bailleur": "Bailleur (tiers payant)"}


class Allocataire(db.Model):
    __tablename__ = "cdap_allocataires"
    id: Mapped[int] = mapped_column(primary_key=True)
    numero: Mapped[str] = mapped_column(String(7), unique=True)  # numéro allocataire, 7 digits
    nom: Mapped[str] = mapped_column(String(100))
    nom_normalise: Mapped[str] = mapped_column(String(100))  # upper, no accents: exact match key
    prenom: Mapped[str] = mapped_column(String(100))
    date_naissance: Mapped[date] = mapped_column(Date)
    adresse: Mapped[str] = mapped_column(String(200))
    code_postal: Mapped[str] = mapped_column(String(5))
    commune: Mapped[str] = mapped_column(String(100))
    departement: Mapped[str] = mapped_column(String(3), index=True)
    situation_familiale: Mapped[str] = mapped_column(String(20))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    membres: Mapped[list[Membre]] = relationship(order_by="Membre.id", viewonly=True)


class Membre(db.Model):
    """Foyer member other than the allocataire: conjoint or enfant."""
    __tablename__ = "cdap_membres"
    id: Mapped[int] = mapped_column(primary_key=True)
    allocataire_id: Mapped[int] = mapped_column(ForeignKey("cdap_allocataires.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(10))  # conjoint | enfant
    nom: Mapped[str] = mapped_column(String(100))
    prenom: Mapped[str] = mapped_column(String(100))
    date_naissance: Mapped[date] = mapped_column(Date)
    a_charge: Mapped[bool] = mapped_column(Boolean, default=True)


class QuotientFamilial(db.Model):
    __tablename__ = "cdap_quotients"
    __table_args__ = (UniqueConstraint("allocataire_id", "mois"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    allocataire_id: Mapped[int] = mapped_column(ForeignKey("cdap_allocataires.id", ondelete="CASCADE"))
    mois: Mapped[date] = mapped_column(Date)
    qf: Mapped[int] = mapped_column(Integer)  # euros


class Droit(db.Model):
    __tablename__ = "cdap_droits"
    id: Mapped[int] = mapped_column(primary_key=True)
    allocataire_id: Mapped[int] = mapped_column(ForeignKey("cdap_allocataires.id", ondelete="CASCADE"), index=True)
    prestation: Mapped[str] = mapped_column(String(8))
    montant_cents: Mapped[int] = mapped_column(Integer)  # monthly amount
    date_debut: Mapped[date] = mapped_column(Date)
    date_fin: Mapped[date | None] = mapped_column(Date)
    statut: Mapped[str] = mapped_column(String(10))  # ouvert | suspendu | clos


class Paiement(db.Model):
    __tablename__ = "cdap_paiements"
    __table_args__ = (
        Index("ix_cdap_paiements_allocataire_mois", "allocataire_id", "mois"),
        Index("ix_cdap_paiements_bailleur_mois", "code_bailleur", "mois"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    allocataire_id: Mapped[int] = mapped_column(ForeignKey("cdap_allocataires.id", ondelete="CASCADE"))
    mois: Mapped[date] = mapped_column(Date)
    prestation: Mapped[str] = mapped_column(String(8))
    montant_cents: Mapped[int] = mapped_column(Integer)
    date_paiement: Mapped[date] = mapped_column(Date)
    beneficiaire: Mapped[str] = mapped_column(String(12))  # allocataire | bailleur
    code_bailleur: Mapped[str | None] = mapped_column(String(20))  # when paid to the landlord


def tiers_payant_en_cours(tiers_payant: bool, date_sortie: date | None, today: date) -> bool:
    """Tiers payant as on `today`: it ends on the tenancy's exit date, even an exit the landlord
    recorded in advance (the stored flag is only turned off once that date has come)."""
    return bool(tiers_payant) and (date_sortie is None or date_sortie > today)


class Logement(db.Model):
    __tablename__ = "cdap_logements"
    __table_args__ = (
        UniqueConstraint("code_bailleur", "code_locataire", "allocataire_id"),
        Index("ix_cdap_logements_allocataire", "allocataire_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    allocataire_id: Mapped[int] = mapped_column(ForeignKey("cdap_allocataires.id", ondelete="CASCADE"))
    code_bailleur: Mapped[str] = mapped_column(String(20))
    code_locataire: Mapped[str] = mapped_column(String(30))
    # Rent known when the tenancy was recorded (Caf extract or ENTREE). The current rent is the
    # latest row of cdap_loyers_historique when there is one: see cdap.loyers.current_rents.
    loyer_cents: Mapped[int] = mapped_column(Integer)
    charges_cents: Mapped[int] = mapped_column(Integer)
    nb_colocataires: Mapped[int] = mapped_column(Integer, default=0)
    date_entree: Mapped[date] = mapped_column(Date)
    date_sortie: Mapped[date | None] = mapped_column(Date)
    tiers_payant: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class LoyerHistorique(db.Model):
    """One row per rent change (EDI LOYERS record, or ENTREE with a rent). The latest row by
    date d'effet is the dwelling's current rent: a LOYERS file only inserts, it never rewrites
    the dwelling (half of a large file's database time when it did)."""
    __tablename__ = "cdap_loyers_historique"
    __table_args__ = (UniqueConstraint("code_bailleur", "idempotency_key"),
                      Index("ix_cdap_loyers_historique_courant", "logement_id", "date_effet", "id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign key on purpose: rows are only written by INSERT ... SELECT joined to
    # cdap_logements (the dwelling exists by construction) and dwellings are never deleted
    # (a tenancy ends with date_sortie); the per-row FK trigger was a third of the database
    # time of a large LOYERS file (bench/README.md, EDI).
    logement_id: Mapped[int] = mapped_column(Integer)
    code_bailleur: Mapped[str] = mapped_column(String(20))
    # Byte order on PostgreSQL (COLLATE "C"): the key is only ever compared for equality (its
    # unique index is the idempotency of EDI files), and the database's collation (strcoll)
    # cost ≈ 0.15 s of server CPU per 100,000 LOYERS in that index (issue #22).
    idempotency_key: Mapped[str] = mapped_column(
        String(120).with_variant(String(120, collation="C"), "postgresql"))
    loyer_cents: Mapped[int] = mapped_column(Integer)
    charges_cents: Mapped[int] = mapped_column(Integer)
    nb_colocataires: Mapped[int] = mapped_column(Integer, default=0)
    date_effet: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Mouvement(db.Model):
    """Entrée / sortie reported by a landlord (EDI MOUVEMENTS)."""
    __tablename__ = "cdap_mouvements"
    __table_args__ = (UniqueConstraint("code_bailleur", "idempotency_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    logement_id: Mapped[int] = mapped_column(ForeignKey("cdap_logements.id", ondelete="CASCADE"), index=True)
    code_bailleur: Mapped[str] = mapped_column(String(20))
    idempotency_key: Mapped[str] = mapped_column(String(120))
    type: Mapped[str] = mapped_column(String(8))  # ENTREE | SORTIE
    date_mouvement: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SignalementImpaye(db.Model):
    __tablename__ = "cdap_impayes"
    __table_args__ = (
        UniqueConstraint("code_bailleur", "idempotency_key"),
        Index("ix_cdap_impayes_allocataire", "allocataire_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    allocataire_id: Mapped[int] = mapped_column(ForeignKey("cdap_allocataires.id", ondelete="CASCADE"))
    logement_id: Mapped[int | None] = mapped_column(ForeignKey("cdap_logements.id", ondelete="SET NULL"))
    code_bailleur: Mapped[str] = mapped_column(String(20))
    idempotency_key: Mapped[str] = mapped_column(String(120))
    montant_dette_cents: Mapped[int] = mapped_column(Integer)
    loyer_mensuel_cents: Mapped[int] = mapped_column(Integer)
    date_constitution: Mapped[date] = mapped_column(Date)
    periode_debut: Mapped[date | None] = mapped_column(Date)
    periode_fin: Mapped[date | None] = mapped_column(Date)
    plan_apurement: Mapped[bool] = mapped_column(Boolean, default=False)
    date_signalement: Mapped[date] = mapped_column(Date)
    date_limite_plan: Mapped[date] = mapped_column(Date)  # constitution + 6 months
    maintien_aide: Mapped[bool] = mapped_column(Boolean, default=True)
    statut: Mapped[str] = mapped_column(String(16), default="signale")  # signale | plan | resolu
    source: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


QUEUE_STATUTS = {
    "nouveau": "Nouveau",
    "en_cours": "Pris en charge",
    "plan_apurement": "Plan d'apurement en place",
    "clos": "Clos",
}


class ImpayeQueueItem(db.Model):
    """An item of the social workers' "impayé de loyer" queue (one per signalement).

    Its territory is the allocataire's *current* département (joined, never copied: after a
    move re-imported from the Caf's extract the item follows the allocataire; cdap_0005)."""
    __tablename__ = "cdap_file_impayes"
    __table_args__ = (Index("ix_cdap_file_impayes_allocataire_statut", "allocataire_id", "statut"),
                      Index("ix_cdap_file_impayes_statut_echeance", "statut", "echeance"))
    id: Mapped[int] = mapped_column(primary_key=True)
    impaye_id: Mapped[int] = mapped_column(ForeignKey("cdap_impayes.id", ondelete="CASCADE"), unique=True)
    allocataire_id: Mapped[int] = mapped_column(ForeignKey("cdap_allocataires.id", ondelete="CASCADE"))
    statut: Mapped[str] = mapped_column(String(16), default="nouveau")
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    echeance: Mapped[date] = mapped_column(Date)  # plan d'apurement expected by then
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    impaye: Mapped[SignalementImpaye] = relationship()
    allocataire: Mapped[Allocataire] = relationship()
    assigned_to = relationship("User")


class ConsultationJournal(chain.ChainedMixin, db.Model):
    """One row per consultation attempt. No names: the file is referenced by an HMAC."""
    __tablename__ = "cdap_journal"
    __table_args__ = (
        Index("ix_cdap_journal_user_at", "user_id", "at"),
        # atypical-use checks per actor: day count and last rows in sequence (cdap_0002)
        Index("ix_cdap_journal_user_seq", "user_id", "seq"),
        Index("ix_cdap_journal_token_at", "api_token_id", "at"),
        Index("ix_cdap_journal_token_seq", "api_token_id", "seq"),
        Index("ix_cdap_journal_org_at", "organisation_id", "at"),
        Index("ix_cdap_journal_reference", "reference"),
    )
    CHAIN_NAME = "cdap_journal"
    CHAIN_FIELDS = ("at", "user_id", "api_token_id", "organisation_id", "profile", "reference",
                    "categories", "motif", "commentaire", "channel", "outcome", "request_id")

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    api_token_id: Mapped[int | None] = mapped_column(Integer)
    organisation_id: Mapped[int | None] = mapped_column(Integer)
    profile: Mapped[str | None] = mapped_column(String(40))
    reference: Mapped[str | None] = mapped_column(String(64))  # HMAC-SHA256 of the numéro
    categories: Mapped[list] = mapped_column(JSON, default=list)
    motif: Mapped[str | None] = mapped_column(String(40))
    commentaire: Mapped[str | None] = mapped_column(String(300))
    channel: Mapped[str] = mapped_column(String(12))  # web | impression | api
    outcome: Mapped[str] = mapped_column(String(20))
    request_id: Mapped[str | None] = mapped_column(String(36))

    user = relationship("User")


class AtypicalAlert(db.Model):
    __tablename__ = "cdap_alertes"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    api_token_id: Mapped[int | None] = mapped_column(Integer)
    organisation_id: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # volume | nuit | introuvables
    level: Mapped[str] = mapped_column(String(12))  # alerte | suspension
    day: Mapped[date] = mapped_column(Date)
    count: Mapped[int] = mapped_column(Integer)
    threshold: Mapped[int] = mapped_column(Integer)
    suspended_until: Mapped[datetime | None] = mapped_column(DateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    details: Mapped[dict] = mapped_column(JSON, default=dict)

    user = relationship("User", foreign_keys=[user_id])


class UsageCounter(db.Model):
    """Running counts of one actor's journaled attempts: what the atypical-use rules read
    (`cdap.atypical`), so that a consultation reads one row instead of counting the actor's
    journal (#22: up to the suspension threshold, which an admin may set to 100,000).

    Written with each journal row, in the statement that appends it (`cdap.journal.record`):
    the attempts of the UTC day `day`, of the night that began at `night_start` (NULL by day),
    and the misses (file not found or out of scope) in a row. An actor without a row yet (before
    cdap_0008, or never seen) is counted from the journal once, and its row starts there."""
    __tablename__ = "cdap_compteurs_usage"
    actor: Mapped[str] = mapped_column(String(40), primary_key=True)  # "user:<id>" | "token:<id>"
    day: Mapped[date] = mapped_column(Date)
    day_count: Mapped[int] = mapped_column(Integer)
    night_start: Mapped[datetime | None] = mapped_column(DateTime)
    night_count: Mapped[int] = mapped_column(Integer)
    miss_streak: Mapped[int] = mapped_column(Integer)


class TokenSuspension(db.Model):
    """CDAP suspension of an API token by the atypical-use rules (cdap_0004).

    A token has no habilitation of its own: it is the organisation's software acting under the
    token's CDAP profile, so the token itself is what gets suspended (its creator, usually the
    partner admin, is not the one consulting). While `suspended_until` is in the future the API
    answers 403 "habilitation suspendue"; a Caf admin lifts it from the alerts page."""
    __tablename__ = "cdap_suspensions_jetons"
    api_token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"), primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(Integer)
    suspended_until: Mapped[datetime | None] = mapped_column(DateTime)
    motif: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
