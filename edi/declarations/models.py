"""A landlord's web declaration (one record of IMPAYES, MOUVEMENTS or LOYERS) and its
attachments. A draft keeps the form's values as typed (`saisie`); sending fixes the record
(`enregistrement`, the same dict an EDI record is), its result (code, label, severity: the
ACCUSE's per-record triple) and the signed PDF receipt, stored content-addressed like EDI
files (edi.intake.storage)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models import Organisation, User, utcnow

BROUILLON, ENVOYEE = "BROUILLON", "ENVOYEE"
STATUT_LABELS = {BROUILLON: "Brouillon", ENVOYEE: "Envoyée"}

# act -> (EDI flow whose rules and effects it shares, French label)
ACTES = {
    "IMPAYE": ("IMPAYES", "Signalement d'impayé de loyer"),
    "MOUVEMENT": ("MOUVEMENTS", "Entrée ou sortie d'un locataire"),
    "LOYER": ("LOYERS", "Mise à jour du loyer"),
}

RESULT_LABELS = {"INFORMATION": "Prise en compte", "AVERTISSEMENT": "Prise en compte avec avertissement"}


class DeclarationBailleur(db.Model):
    __tablename__ = "edi_declarations"
    __table_args__ = (Index("ix_edi_declarations_org_statut", "organisation_id", "statut"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    acte: Mapped[str] = mapped_column(String(12))  # IMPAYE | MOUVEMENT | LOYER
    statut: Mapped[str] = mapped_column(String(12), default=BROUILLON)
    saisie: Mapped[dict] = mapped_column(JSON, default=dict)  # the form's values, as typed
    cree_par_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cree_le: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    modifie_le: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Once sent
    envoye_par_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    envoye_le: Mapped[datetime | None] = mapped_column(DateTime)
    code_bailleur: Mapped[str | None] = mapped_column(String(20))
    code_locataire: Mapped[str | None] = mapped_column(String(30), index=True)
    numero_allocataire: Mapped[str | None] = mapped_column(String(20))
    enregistrement: Mapped[dict | None] = mapped_column(JSON)  # the record, dates as ISO text
    idempotency_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    code: Mapped[str | None] = mapped_column(String(40))
    libelle: Mapped[str | None] = mapped_column(Text)
    severite: Mapped[str | None] = mapped_column(String(14))
    empreinte: Mapped[str | None] = mapped_column(String(64))  # SHA-256 of the sent content
    recu_sha256: Mapped[str | None] = mapped_column(String(64))
    recu_signature_sha256: Mapped[str | None] = mapped_column(String(64))

    organisation: Mapped[Organisation] = relationship()
    cree_par: Mapped[User | None] = relationship(foreign_keys=[cree_par_id])
    envoye_par: Mapped[User | None] = relationship(foreign_keys=[envoye_par_id])
    pieces: Mapped[list["PieceDeclaration"]] = relationship(back_populates="declaration",
                                                       order_by="PieceDeclaration.id",
                                                       cascade="all, delete-orphan")

    @property
    def flux(self) -> str:
        return ACTES[self.acte][0]

    @property
    def acte_label(self) -> str:
        return ACTES[self.acte][1]

    @property
    def statut_label(self) -> str:
        if self.statut == ENVOYEE:
            return RESULT_LABELS.get(self.severite or "", STATUT_LABELS[ENVOYEE])
        return STATUT_LABELS.get(self.statut, self.statut)

    @property
    def statut_badge(self) -> str:
        if self.statut == BROUILLON:
            return "fr-badge--info"
        return "fr-badge--warning" if self.severite == "AVERTISSEMENT" else "fr-badge--success"

    @property
    def reference(self) -> str:
        return f"WEB-{self.id:06d}"


class PieceDeclaration(db.Model):
    """A file joined to a declaration (reminder letter, signed plan d'apurement): its bytes in
    the content-addressed storage, its cleaned name and checked type here."""
    __tablename__ = "edi_declaration_pieces"
    id: Mapped[int] = mapped_column(primary_key=True)
    declaration_id: Mapped[int] = mapped_column(ForeignKey("edi_declarations.id", ondelete="CASCADE"),
                                                index=True)
    nature: Mapped[str] = mapped_column(String(16))  # relance | plan | autre
    nom: Mapped[str] = mapped_column(String(255))
    type_mime: Mapped[str] = mapped_column(String(60))
    sha256: Mapped[str] = mapped_column(String(64))
    taille: Mapped[int] = mapped_column(BigInteger)
    ajoute_par_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    ajoute_le: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    rang: Mapped[int] = mapped_column(Integer, default=0)

    declaration: Mapped[DeclarationBailleur] = relationship(back_populates="pieces")
