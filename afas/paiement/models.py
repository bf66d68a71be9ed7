"""Tables of the payment hand-off: order files (signed, immutable once produced), their lines
(one line per thing paid or recovered, in exactly one file: unique per source and attempt),
return files from the payment system, indus (recoveries of an overpayment) and the partners'
bank references (the IBAN itself stays in the payment system)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (Boolean, Date, DateTime, ForeignKey, Integer, LargeBinary, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models import Organisation, utcnow

from ..models import Declaration, Equipement

KIND_LABELS = {"acompte": "Acompte", "regularisation": "Régularisation",
               "recouvrement": "Recouvrement d'indu"}
LINE_STATUS_LABELS = {"emise": "Ordonnée", "payee": "Versée", "rejetee": "Rejetée",
                      "relancee": "Rejetée puis relancée"}
INDU_STATUS_LABELS = {"notifie": "Notifié", "compensation": "Compensation demandée",
                      "recouvrement": "Recouvrement ordonné", "solde": "Soldé"}


class CoordonneesBancaires(db.Model):
    """A partner's bank details as the Caf agent entered them (afas.paiement.coordonnees): the
    IBAN (electronic form, checked), an optional BIC, the account holder. Shown masked
    everywhere but the agent's edit form. `reference`: the payment system's former reference
    (before the IBAN was entered here), kept for history; a row without an IBAN is not valid."""
    __tablename__ = "afas_paiement_coordonnees"
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), unique=True)
    reference: Mapped[str | None] = mapped_column(String(35))
    iban: Mapped[str | None] = mapped_column(String(34))
    bic: Mapped[str | None] = mapped_column(String(11))
    titulaire: Mapped[str | None] = mapped_column(String(70))
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    @property
    def iban_masque(self) -> str:
        from .iban import mask
        return mask(self.iban)


class OrdrePaiement(db.Model):
    """A payment order file as produced and signed: the bytes are kept, never rewritten."""
    __tablename__ = "afas_paiement_ordres"
    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    jour: Mapped[date] = mapped_column(Date, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    nb_lignes: Mapped[int] = mapped_column(Integer)
    total_versements: Mapped[int] = mapped_column(Integer)     # cents
    total_recouvrements: Mapped[int] = mapped_column(Integer)  # cents
    xml: Mapped[bytes] = mapped_column(LargeBinary)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    lignes: Mapped[list[LignePaiement]] = relationship(back_populates="ordre", order_by="LignePaiement.id")

    @property
    def total_net(self) -> int:
        return self.total_versements - self.total_recouvrements


class LignePaiement(db.Model):
    """One payment (acompte n, régularisation) or recovery (indu) in one order file. The unique
    constraint is the idempotence: a source is ordered once per attempt (a rejected line may be
    relaunched by the agent as attempt n+1)."""
    __tablename__ = "afas_paiement_lignes"
    __table_args__ = (UniqueConstraint("nature", "source_id", "tentative"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ordre_id: Mapped[int] = mapped_column(ForeignKey("afas_paiement_ordres.id"), index=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    nature: Mapped[str] = mapped_column(String(16))      # acompte, regularisation, recouvrement
    source_id: Mapped[int] = mapped_column(Integer)      # Acompte.id, Regularisation.id or Indu.id
    tentative: Mapped[int] = mapped_column(Integer, default=1)
    numero_acompte: Mapped[int | None] = mapped_column(Integer)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    equipement_id: Mapped[int] = mapped_column(ForeignKey("afas_equipements.id"), index=True)
    declaration_id: Mapped[int] = mapped_column(ForeignKey("afas_declarations.id"), index=True)
    version_numero: Mapped[int] = mapped_column(Integer)
    annee: Mapped[int] = mapped_column(Integer)
    siret: Mapped[str] = mapped_column(String(14))
    iban_reference: Mapped[str] = mapped_column(String(35))
    montant_brut: Mapped[int] = mapped_column(Integer)   # cents, before any offset
    compensation: Mapped[int] = mapped_column(Integer, default=0)  # cents of an indu offset
    indu_id: Mapped[int | None] = mapped_column(ForeignKey("afas_indus.id"))
    montant: Mapped[int] = mapped_column(Integer)        # cents paid (or recovered), net
    echeance: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="emise", index=True)
    paye_le: Mapped[date | None] = mapped_column(Date)
    motif_rejet: Mapped[str | None] = mapped_column(String(200))
    retour_id: Mapped[int | None] = mapped_column(ForeignKey("afas_paiement_retours.id"))

    ordre: Mapped[OrdrePaiement] = relationship(back_populates="lignes")
    organisation: Mapped[Organisation] = relationship()
    equipement: Mapped[Equipement] = relationship()
    declaration: Mapped[Declaration] = relationship()

    @property
    def nature_label(self) -> str:
        label = KIND_LABELS.get(self.nature, self.nature)
        return f"{label} n° {self.numero_acompte}" if self.numero_acompte else label

    @property
    def status_label(self) -> str:
        return LINE_STATUS_LABELS.get(self.status, self.status)


class RetourPaiement(db.Model):
    """A return file of the payment system, kept with its signature and what applying it did."""
    __tablename__ = "afas_paiement_retours"
    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    via: Mapped[str] = mapped_column(String(8), default="web")
    xml: Mapped[bytes] = mapped_column(LargeBinary)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    nb_payees: Mapped[int] = mapped_column(Integer, default=0)
    nb_rejetees: Mapped[int] = mapped_column(Integer, default=0)
    nb_deja_traitees: Mapped[int] = mapped_column(Integer, default=0)
    rejeu: Mapped[bool] = mapped_column(Boolean, default=False)


class Indu(db.Model):
    """An overpayment to recover, born of a negative régularisation. The partner is notified and
    may ask to offset it on the next acompte (``compensation``); otherwise, or for what an offset
    leaves, the Caf orders a recovery line."""
    __tablename__ = "afas_indus"
    id: Mapped[int] = mapped_column(primary_key=True)
    regularisation_id: Mapped[int] = mapped_column(ForeignKey("afas_regularisations.id"), unique=True)
    declaration_id: Mapped[int] = mapped_column(ForeignKey("afas_declarations.id"), index=True)
    equipement_id: Mapped[int] = mapped_column(ForeignKey("afas_equipements.id"), index=True)
    annee: Mapped[int] = mapped_column(Integer)
    montant: Mapped[int] = mapped_column(Integer)   # cents, positive
    reste: Mapped[int] = mapped_column(Integer)     # cents still to recover
    status: Mapped[str] = mapped_column(String(16), default="notifie")
    notifie_le: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    avis: Mapped[str] = mapped_column(Text)         # the notice as sent to the partner
    choix_le: Mapped[datetime | None] = mapped_column(DateTime)
    choix_par_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    declaration: Mapped[Declaration] = relationship()
    equipement: Mapped[Equipement] = relationship()

    @property
    def status_label(self) -> str:
        return INDU_STATUS_LABELS.get(self.status, self.status)
