"""AFAS tables: équipements, campaign windows, barèmes added by the Caf, declarations with their
immutable versions, messages, timeline events, acomptes and régularisations."""
from __future__ import annotations

import hashlib
import json
from datetime import date, datetime

from sqlalchemy import (JSON, Boolean, Date, DateTime, ForeignKey, Integer, LargeBinary, Numeric, String, Text,
                        UniqueConstraint, event, false)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models import Organisation, User, utcnow

from .schema import ALSH_ACTIVITES, DECLARATION_TYPES, EQUIPEMENT_TYPES, STATUS_LABELS


class Equipement(db.Model):
    __tablename__ = "afas_equipements"
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    type: Mapped[str] = mapped_column(String(8))             # EAJE, ALSH, RPE, LAEP
    nom: Mapped[str] = mapped_column(String(200))
    numero: Mapped[str] = mapped_column(String(30), unique=True)  # numéro d'équipement Caf
    activite: Mapped[str | None] = mapped_column(String(20))  # ALSH: periscolaire / extrascolaire
    commune: Mapped[str | None] = mapped_column(String(100))
    actif: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Bonus territoire (EAJE): priority area (QPV, ZRR) or convention territoriale globale, and the
    # places created there; counted only once validated by the Caf (afas.conventions).
    zone_prioritaire: Mapped[str | None] = mapped_column(String(8))
    ctg: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    places_territoire: Mapped[int | None] = mapped_column(Integer)
    territoire_valide_le: Mapped[datetime | None] = mapped_column(DateTime)
    territoire_valide_par_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    organisation: Mapped[Organisation] = relationship()
    conventions: Mapped[list[ConventionFinancement]] = relationship(order_by="ConventionFinancement.debut")

    @property
    def territoire(self) -> dict:
        """What the droit computation reads (afas.bonus.territoire_par_place)."""
        return {"zone": self.zone_prioritaire, "ctg": bool(self.ctg), "places": self.places_territoire or 0,
                "valide": self.territoire_valide_le is not None}
    declarations: Mapped[list[Declaration]] = relationship(back_populates="equipement",
                                                           order_by="Declaration.annee.desc()")

    @property
    def type_label(self) -> str:
        return EQUIPEMENT_TYPES.get(self.type, self.type)

    @property
    def libelle(self) -> str:
        suffix = f" ({ALSH_ACTIVITES[self.activite].lower()})" if self.activite in ALSH_ACTIVITES else ""
        return f"{self.nom}{suffix}"


class Campagne(db.Model):
    """Window of one declaration type for one exercice (created from the barème, editable)."""
    __tablename__ = "afas_campagnes"
    __table_args__ = (UniqueConstraint("annee", "type_declaration"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    annee: Mapped[int] = mapped_column(Integer)  # exercice covered
    type_declaration: Mapped[str] = mapped_column(String(24))
    ouverture: Mapped[date] = mapped_column(Date)
    echeance: Mapped[date] = mapped_column(Date)

    @property
    def type_label(self) -> str:
        return DECLARATION_TYPES.get(self.type_declaration, self.type_declaration)


class ConventionFinancement(db.Model):
    """Convention d'objectifs et de financement of an équipement: the Caf funds it (and accepts its
    declarations) only for the exercices the signed convention covers. The signed document is
    uploaded by the Caf; a convention without it is not signed."""
    __tablename__ = "afas_conventions"
    id: Mapped[int] = mapped_column(primary_key=True)
    equipement_id: Mapped[int] = mapped_column(ForeignKey("afas_equipements.id"), index=True)
    reference: Mapped[str] = mapped_column(String(50))
    debut: Mapped[date] = mapped_column(Date)
    fin: Mapped[date] = mapped_column(Date)
    signee_le: Mapped[date | None] = mapped_column(Date)
    document_nom: Mapped[str | None] = mapped_column(String(200))
    document: Mapped[bytes | None] = mapped_column(LargeBinary)
    document_sha256: Mapped[str | None] = mapped_column(String(64))
    deposee_par_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    deposee_le: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    @property
    def signee(self) -> bool:
        return self.signee_le is not None and self.document_sha256 is not None

    def en_vigueur(self, on: date) -> bool:
        return self.signee and self.debut <= on <= self.fin

    def couvre(self, annee: int) -> bool:
        """Signed and in force on at least one day of the exercice."""
        return self.signee and self.debut <= date(annee, 12, 31) and self.fin >= date(annee, 1, 1)


class BaremeVersion(db.Model):
    """Every import of a year's barème, kept: who, when, the document and its differences with
    the barème it replaced. Frozen declaration versions name the one they were computed with."""
    __tablename__ = "afas_bareme_versions"
    __table_args__ = (UniqueConstraint("annee", "numero"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    annee: Mapped[int] = mapped_column(Integer)
    numero: Mapped[int] = mapped_column(Integer)
    doc: Mapped[dict] = mapped_column(JSON)
    diff: Mapped[list] = mapped_column(JSON, default=list)   # [{"cle", "avant", "apres"}]
    imported_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    source: Mapped[str] = mapped_column(String(200), default="")
    imported_by: Mapped[User | None] = relationship()


class BaremeAnnee(db.Model):
    """A barème added by a Caf admin (takes precedence over the file shipped for that year)."""
    __tablename__ = "afas_baremes"
    id: Mapped[int] = mapped_column(primary_key=True)
    annee: Mapped[int] = mapped_column(Integer, unique=True)
    doc: Mapped[dict] = mapped_column(JSON)
    imported_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    source: Mapped[str] = mapped_column(String(200), default="")


class Declaration(db.Model):
    __tablename__ = "afas_declarations"
    __table_args__ = (UniqueConstraint("equipement_id", "annee", "type"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    equipement_id: Mapped[int] = mapped_column(ForeignKey("afas_equipements.id"), index=True)
    annee: Mapped[int] = mapped_column(Integer)      # exercice covered
    type: Mapped[str] = mapped_column(String(24))    # previsionnel, actualise_juin, actualise_septembre, reel
    status: Mapped[str] = mapped_column(String(20), default="brouillon", index=True)
    data: Mapped[dict] = mapped_column(JSON, default=dict)            # as typed (draft)
    justifications: Mapped[dict] = mapped_column(JSON, default=dict)  # code -> text
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    echeance: Mapped[date | None] = mapped_column(Date)
    transmitted_at: Mapped[datetime | None] = mapped_column(DateTime)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    has_alerts: Mapped[bool] = mapped_column(Boolean, default=False)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    droit: Mapped[float | None] = mapped_column(Numeric(14, 2, asdecimal=False))       # of the last frozen version
    validated_at: Mapped[datetime | None] = mapped_column(DateTime)
    validated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime)

    equipement: Mapped[Equipement] = relationship(back_populates="declarations")
    agent: Mapped[User | None] = relationship(foreign_keys=[agent_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    validated_by: Mapped[User | None] = relationship(foreign_keys=[validated_by_id])
    versions: Mapped[list[DeclarationVersion]] = relationship(
        back_populates="declaration", order_by="DeclarationVersion.numero")
    messages: Mapped[list[DeclarationMessage]] = relationship(order_by="DeclarationMessage.id")
    events: Mapped[list[DeclarationEvent]] = relationship(order_by="DeclarationEvent.id")
    acomptes: Mapped[list[Acompte]] = relationship(order_by="Acompte.numero",
                                                   foreign_keys="Acompte.declaration_id")
    regularisation: Mapped[Regularisation | None] = relationship(uselist=False)

    @property
    def type_label(self) -> str:
        return DECLARATION_TYPES.get(self.type, self.type)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def last_version(self) -> DeclarationVersion | None:
        return self.versions[-1] if self.versions else None

    @property
    def titre(self) -> str:
        return f"{self.type_label} {self.annee}"

    @property
    def anticipee(self) -> bool:
        """First transmitted before its campaign opened (flagged like `late`)."""
        return bool(self.versions and self.versions[0].anticipee)


def content_hash(payload: dict) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class DeclarationVersion(db.Model):
    """A transmitted version: frozen data, checks, justifications and droit. Never updated."""
    __tablename__ = "afas_declaration_versions"
    __table_args__ = (UniqueConstraint("declaration_id", "numero"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    declaration_id: Mapped[int] = mapped_column(ForeignKey("afas_declarations.id"), index=True)
    numero: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    via: Mapped[str] = mapped_column(String(8), default="web")  # web / api
    data: Mapped[dict] = mapped_column(JSON)                    # parsed values
    controles: Mapped[list] = mapped_column(JSON)
    justifications: Mapped[dict] = mapped_column(JSON)
    droit: Mapped[dict] = mapped_column(JSON)                   # DroitResult.as_dict()
    bareme_annee: Mapped[int] = mapped_column(Integer)
    # The imported barème version computed with (None: the file shipped with the portal).
    bareme_version_id: Mapped[int | None] = mapped_column(ForeignKey("afas_bareme_versions.id"))
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    # Transmitted before the campaign window opened (flagged, not refused; see services.transmit).
    anticipee: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    content_hash: Mapped[str] = mapped_column(String(64))

    declaration: Mapped[Declaration] = relationship(back_populates="versions")
    user: Mapped[User | None] = relationship()

    def hashed_payload(self) -> dict:
        payload = {"declaration_id": self.declaration_id, "numero": self.numero,
                   "created_at": self.created_at.isoformat(timespec="microseconds"),
                   "user_id": self.user_id, "data": self.data, "controles": self.controles,
                   "justifications": self.justifications, "droit": self.droit,
                   "bareme_annee": self.bareme_annee, "late": self.late}
        if self.anticipee:  # only when set: the hashes of earlier versions stay valid
            payload["anticipee"] = True
        return payload

    def compute_hash(self) -> str:
        return content_hash(self.hashed_payload())

    @property
    def montant(self) -> float | None:
        return (self.droit or {}).get("montant")


@event.listens_for(DeclarationVersion, "before_update")
def _versions_are_immutable(mapper, connection, target):
    raise ValueError("une version transmise est immuable")


@event.listens_for(DeclarationVersion, "before_delete")
def _versions_are_never_deleted(mapper, connection, target):
    raise ValueError("une version transmise ne peut pas être supprimée")


class DeclarationMessage(db.Model):
    __tablename__ = "afas_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    declaration_id: Mapped[int] = mapped_column(ForeignKey("afas_declarations.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    from_caf: Mapped[bool] = mapped_column(Boolean, default=False)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    author: Mapped[User] = relationship()


EVENT_LABELS = {
    "creee": "Déclaration créée",
    "transmise": "Déclaration transmise",
    "prise_en_charge": "Prise en charge par la Caf",
    "correction_demandee": "Correction demandée",
    "validee": "Déclaration validée",
    "acomptes_programmes": "Acomptes programmés",
    "acompte_verse": "Acompte versé",
    "regularisation_calculee": "Régularisation calculée",
    "payee": "Paiement effectué",
    "indu_notifie": "Indu notifié au partenaire",
    "indu_compensation": "Compensation de l'indu demandée",
    "indu_recouvrement": "Recouvrement de l'indu demandé",
    "indu_recouvre": "Indu recouvré",
    "regularisation_versee": "Régularisation versée",
    "paiement_rejete": "Paiement rejeté par le système de paiement",
    "message": "Message",
}


class DeclarationEvent(db.Model):
    """The declaration's timeline (who did what, when); security-relevant actions also go to the
    portal audit chain."""
    __tablename__ = "afas_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    declaration_id: Mapped[int] = mapped_column(ForeignKey("afas_declarations.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(32))
    status_from: Mapped[str | None] = mapped_column(String(20))
    status_to: Mapped[str | None] = mapped_column(String(20))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    actor: Mapped[User | None] = relationship()

    @property
    def label(self) -> str:
        return EVENT_LABELS.get(self.action, self.action)


class Acompte(db.Model):
    __tablename__ = "afas_acomptes"
    __table_args__ = (UniqueConstraint("declaration_id", "numero"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    declaration_id: Mapped[int] = mapped_column(ForeignKey("afas_declarations.id"), index=True)
    equipement_id: Mapped[int] = mapped_column(ForeignKey("afas_equipements.id"), index=True)
    annee: Mapped[int] = mapped_column(Integer)
    numero: Mapped[int] = mapped_column(Integer)
    montant: Mapped[float] = mapped_column(Numeric(14, 2, asdecimal=False))
    date_prevue: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="programme")  # programme, verse, annule
    paid_at: Mapped[datetime | None] = mapped_column(DateTime)

    @property
    def status_label(self) -> str:
        return {"programme": "Programmé", "ordonne": "Ordonné", "verse": "Versé", "rejete": "Rejeté",
                "annule": "Annulé"}.get(self.status, self.status)


class Regularisation(db.Model):
    __tablename__ = "afas_regularisations"
    id: Mapped[int] = mapped_column(primary_key=True)
    declaration_id: Mapped[int] = mapped_column(ForeignKey("afas_declarations.id"), unique=True)
    droit_reel: Mapped[float] = mapped_column(Numeric(14, 2, asdecimal=False))
    acomptes_verses: Mapped[float] = mapped_column(Numeric(14, 2, asdecimal=False))
    solde: Mapped[float] = mapped_column(Numeric(14, 2, asdecimal=False))
    computed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime)

    @property
    def sens(self) -> str:
        s = float(self.solde)
        return "Montant à verser au partenaire" if s > 0 else ("Indu à récupérer" if s < 0 else "Solde nul")
