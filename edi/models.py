"""EDI flow models: received files, staged records (= per-record results), outbound notices.

The `edi_fichiers` row is the source of truth for a received file:
RECU → EN_COURS (job lease) → TRAITE / TRAITE_PARTIEL / REJETE / DOUBLON / QUARANTAINE.
The raw bytes live in content-addressed, write-once storage (edi.intake.storage) under their
SHA-256.

Duplicate detection is race-free through two nullable unique keys on the row:
- `cle_contenu` = "<organisation id>:<sha256>", taken at upload by the first copy of a content;
- `cle_identifiant` = "<organisation id>:<file identifier>", taken once the file validated.
A rejection (technical: signature, XML safety, schema, envelope; or no record accepted) or a
TEST-mode file releases both keys, so the same content / identifier may be sent again.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (JSON, BigInteger, Boolean, Date, DateTime, ForeignKey, Integer, String,
                        Text, UniqueConstraint, Index, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models import Organisation, User, utcnow

# File statuses
RECU, EN_COURS, TRAITE, TRAITE_PARTIEL, REJETE, DOUBLON, QUARANTAINE = (
    "RECU", "EN_COURS", "TRAITE", "TRAITE_PARTIEL", "REJETE", "DOUBLON", "QUARANTAINE")
FINAL_STATUSES = frozenset({TRAITE, TRAITE_PARTIEL, REJETE, DOUBLON})
STATUT_LABELS = {
    RECU: "Reçu", EN_COURS: "En cours de traitement", TRAITE: "Traité",
    TRAITE_PARTIEL: "Traité partiellement", REJETE: "Rejeté", DOUBLON: "Doublon",
    QUARANTAINE: "En quarantaine",
}
STATUT_BADGES = {
    RECU: "fr-badge--info", EN_COURS: "fr-badge--new", TRAITE: "fr-badge--success",
    TRAITE_PARTIEL: "fr-badge--warning", REJETE: "fr-badge--error", DOUBLON: "fr-badge--warning",
    QUARANTAINE: "fr-badge--error",
}

# Processing steps (shown as progress)
ETAPES = ("reception", "signature", "validation", "controles", "application", "accuse", "termine")
ETAPE_LABELS = {
    "reception": "Fichier reçu", "signature": "Vérification de la signature",
    "validation": "Validation du schéma et des enregistrements",
    "controles": "Contrôles métier", "application": "Application des enregistrements",
    "accuse": "Production de l'accusé de réception", "termine": "Traitement terminé",
}

# Record result severities
ERREUR, AVERTISSEMENT, INFO = "ERREUR", "AVERTISSEMENT", "INFORMATION"


class EdiFichier(db.Model):
    __tablename__ = "edi_fichiers"
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    canal: Mapped[str] = mapped_column(String(8))  # "portail" | "api"
    depose_par_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    api_token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))
    nom_fichier: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    taille: Mapped[int] = mapped_column(BigInteger)
    signature_sha256: Mapped[str | None] = mapped_column(String(64))
    signature_taille: Mapped[int | None] = mapped_column(Integer)
    recu_le: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)

    statut: Mapped[str] = mapped_column(String(16), default=RECU, index=True)
    etape: Mapped[str] = mapped_column(String(16), default="reception")
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    # Mirrors of the job's technical columns (portal.jobs: deliveries, lease_expires_at), in
    # English like them; the lease is the worker's reservation, not a rental lease (bail).
    job_deliveries: Mapped[int] = mapped_column(Integer, default=0)  # redelivery counter
    job_lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    debut_traitement: Mapped[datetime | None] = mapped_column(DateTime)
    fin_traitement: Mapped[datetime | None] = mapped_column(DateTime)
    derniere_erreur: Mapped[str | None] = mapped_column(Text)

    # Duplicate keys (see module docstring)
    cle_contenu: Mapped[str | None] = mapped_column(String(90), unique=True)
    cle_identifiant: Mapped[str | None] = mapped_column(String(120), unique=True)
    doublon_de_id: Mapped[int | None] = mapped_column(ForeignKey("edi_fichiers.id"))

    # Envelope, once read
    flux: Mapped[str | None] = mapped_column(String(16))
    identifiant_fichier: Mapped[str | None] = mapped_column(String(64))
    emetteur: Mapped[str | None] = mapped_column(String(20))
    numero_sequence: Mapped[int | None] = mapped_column(Integer)
    date_creation: Mapped[datetime | None] = mapped_column(DateTime)
    nb_annonce: Mapped[int | None] = mapped_column(Integer)
    mode: Mapped[str | None] = mapped_column(String(12))
    version_schema: Mapped[str | None] = mapped_column(String(16))

    # Outcome
    nb_lus: Mapped[int] = mapped_column(Integer, default=0)
    nb_acceptes: Mapped[int] = mapped_column(Integer, default=0)
    nb_rejetes: Mapped[int] = mapped_column(Integer, default=0)
    nb_avertissements: Mapped[int] = mapped_column(Integer, default=0)
    nb_appliques: Mapped[int] = mapped_column(Integer, default=0)
    # Records read and applied: set with `staging_complet`, in the transaction of the effects
    # (0 for a TEST file, which applies nothing).
    rang_applique: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    staging_complet: Mapped[bool] = mapped_column(Boolean, default=False)
    rejet_technique: Mapped[bool] = mapped_column(Boolean, default=False)
    # File-level reasons: list of {"code", "libelle", "severite"} — every one, never truncated.
    motifs: Mapped[list] = mapped_column(JSON, default=list)

    accuse_le: Mapped[datetime | None] = mapped_column(DateTime)
    accuse_sha256: Mapped[str | None] = mapped_column(String(64))
    accuse_signature_sha256: Mapped[str | None] = mapped_column(String(64))

    organisation: Mapped[Organisation] = relationship()
    depose_par: Mapped[User | None] = relationship()
    doublon_de: Mapped["EdiFichier | None"] = relationship(remote_side=[id])

    @property
    def statut_label(self) -> str:
        return STATUT_LABELS.get(self.statut, self.statut)

    @property
    def statut_badge(self) -> str:
        return STATUT_BADGES.get(self.statut, "")

    @property
    def etape_label(self) -> str:
        return ETAPE_LABELS.get(self.etape, self.etape)

    @property
    def est_termine(self) -> bool:
        return self.statut in FINAL_STATUSES or self.statut == QUARANTAINE

    @property
    def progression(self) -> int:
        """0..100 for the progress display."""
        if self.est_termine:
            return 100
        base = {"reception": 2, "signature": 5, "validation": 10, "controles": 10,
                "application": 60, "accuse": 95}.get(self.etape, 0)
        total = self.nb_annonce or 0
        # One pass reads, checks and applies: progress is the share of the announced records read.
        if self.etape in ("validation", "controles", "application") and total:
            return max(base if self.etape == "validation" else 10,
                       min(94, 10 + int(84 * (self.nb_lus or 0) / total)))
        return base


class EdiEnregistrement(db.Model):
    """A record of a received file that has anomalies (error or warning), with its result
    (code, label, severity) and its values; records accepted without remark are counted, not
    staged. Written in bulk while streaming (no ORM objects on that path), in the same
    transaction as the file's CDAP effects."""
    __tablename__ = "edi_enregistrements"
    # One index only on the bulk path: the primary key (file, rank). Records with an anomaly are
    # also indexed by code (partial index: the accepted records of a large file are not).
    __table_args__ = (
        Index("ix_edi_enregistrements_code", "fichier_id", "code",
              postgresql_where=text("severite IN ('ERREUR', 'AVERTISSEMENT')"),
              sqlite_where=text("severite IN ('ERREUR', 'AVERTISSEMENT')")),
    )
    fichier_id: Mapped[int] = mapped_column(ForeignKey("edi_fichiers.id", ondelete="CASCADE"),
                                            primary_key=True)
    rang: Mapped[int] = mapped_column(Integer, primary_key=True)  # 1-based position in the file
    ligne: Mapped[int | None] = mapped_column(Integer)  # line of its start tag in the file
    identifiant: Mapped[str] = mapped_column(String(64))
    code_locataire: Mapped[str | None] = mapped_column(String(40))
    numero_allocataire: Mapped[str | None] = mapped_column(String(20))
    # The record's values, typed (columns of the flow; the others stay NULL): COPY needs no
    # JSON encoding and PostgreSQL applies LOYERS straight from these columns.
    code_agence: Mapped[str | None] = mapped_column(String(20))
    loyer_cents: Mapped[int | None] = mapped_column(BigInteger)       # LOYERS, MOUVEMENTS
    charges_cents: Mapped[int | None] = mapped_column(BigInteger)     # LOYERS, MOUVEMENTS
    date_effet: Mapped[date | None] = mapped_column(Date)             # LOYERS
    nb_colocataires: Mapped[int | None] = mapped_column(Integer)      # LOYERS
    type_mouvement: Mapped[str | None] = mapped_column(String(10))    # MOUVEMENTS
    date_mouvement: Mapped[date | None] = mapped_column(Date)         # MOUVEMENTS
    montant_dette_cents: Mapped[int | None] = mapped_column(BigInteger)   # IMPAYES
    loyer_mensuel_cents: Mapped[int | None] = mapped_column(BigInteger)   # IMPAYES
    date_constitution: Mapped[date | None] = mapped_column(Date)      # IMPAYES
    periode_debut: Mapped[date | None] = mapped_column(Date)          # IMPAYES
    periode_fin: Mapped[date | None] = mapped_column(Date)            # IMPAYES
    plan_apurement: Mapped[bool | None] = mapped_column(Boolean)      # IMPAYES
    accepte: Mapped[bool] = mapped_column(Boolean)
    severite: Mapped[str] = mapped_column(String(14))  # ERREUR / AVERTISSEMENT / INFO
    code: Mapped[str] = mapped_column(String(40))  # main code (first error, else first warning, else OK)
    libelle: Mapped[str] = mapped_column(Text)
    anomalies: Mapped[list] = mapped_column(JSON, default=list)  # every {"code", "libelle", "severite"}
    nb_anomalies: Mapped[int] = mapped_column(Integer, default=0)  # = len(anomalies): ACCUSE size


class EdiAvisPaiement(db.Model):
    """Monthly AVIS_PAIEMENT for one landlord: built and signed once per (landlord, month)."""
    __tablename__ = "edi_avis_paiement"
    __table_args__ = (UniqueConstraint("organisation_id", "annee", "mois", name="uq_edi_avis_mois"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    annee: Mapped[int] = mapped_column(Integer)
    mois: Mapped[int] = mapped_column(Integer)
    identifiant_fichier: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    taille: Mapped[int] = mapped_column(BigInteger)
    signature_sha256: Mapped[str] = mapped_column(String(64))
    nb_paiements: Mapped[int] = mapped_column(Integer)
    montant_total_cents: Mapped[int] = mapped_column(BigInteger)
    cree_le: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship()

    @property
    def periode(self) -> date:
        return date(self.annee, self.mois, 1)
