"""Tables of the unpaid-rent case (« situation »): one per queue item, created when a worker
takes the item, with its contact attempts, appointments, actions and procedure stages.

Notes (`note` columns) and the budget (`ressources_cents`, `charges_cents`, `droits_a_verifier`,
`capacite`) are personal data of the most sensitive kind: read only through
``cdap.situations.access`` (which journals every read). Purged after the retention
(``CDAP_SITUATION_RETENTION_MONTHS`` after closing, ``cdap.situations.services.purge_closed``).
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models import utcnow

MODES = {"information_conseil": "Information-conseil", "accompagnement_social": "Accompagnement social"}
CANAUX = {"telephone": "Téléphone", "courrier": "Courrier", "visite": "Visite à domicile"}
RESULTATS_CONTACT = {"joint": "Famille jointe", "sans_reponse": "Sans réponse"}
MODALITES_RDV = {"presentiel": "En présentiel", "telephone": "Par téléphone", "visio": "En visioconférence"}
STATUTS_RDV = {"prevu": "Prévu", "realise": "Réalisé", "manque": "Manqué"}
ACTIONS = {
    "plan_apurement": "Plan d'apurement",
    "fsl": "Saisine du FSL",
    "aide_projet": "Demande d'aide sur projet (Caf)",
    "concordat": "Convention tripartite (concordat)",
    "orientation_ccapex": "Orientation vers la CCAPEX",
    "orientation_autre": "Orientation vers un autre service",
}
STATUTS_ACTION = {"proposee": "Proposée", "en_cours": "En cours", "accordee": "Accordée",
                  "refusee": "Refusée", "terminee": "Terminée"}
CAPACITES = {"oui": "Peut payer le loyer courant", "partielle": "Peut payer une partie du loyer courant",
             "non": "Ne peut pas payer le loyer courant"}
DROITS_A_VERIFIER = {"montant_aides": "Montant des aides perçues", "prestations_manquantes": "Prestations non demandées",
                     "eligibilite_fsl": "Éligibilité au FSL"}
MAINTIEN = {"maintien": "Aide maintenue", "suspension": "Aide suspendue",
            "renegociation": "Aide maintenue pour renégocier le plan (3 mois au plus)"}
ETAPES_PROCEDURE = {
    "commandement_payer": "Commandement de payer",
    "assignation": "Assignation",
    "jugement": "Jugement",
    "commandement_quitter": "Commandement de quitter les lieux",
    "concours_force_publique": "Concours de la force publique",
}
# What the landlord (and everyone) reads of the plan: cdap.situations.services.plan_state
PLANS = {None: "Aucun plan d'apurement", "propose": "Plan d'apurement proposé",
         "accorde": "Plan d'apurement convenu, accord du bailleur enregistré"}
ISSUES = {
    "dette_soldee": "Dette soldée",
    "plan_respecte": "Plan respecté",
    "relogement": "Relogement",
    "procedure_expulsion": "Procédure d'expulsion engagée",
    "injoignable": "Famille injoignable",
    "refus": "Accompagnement refusé",
}


class Situation(db.Model):
    __tablename__ = "cdap_situations"
    __table_args__ = (Index("ix_cdap_situations_closed", "closed_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    queue_item_id: Mapped[int] = mapped_column(ForeignKey("cdap_file_impayes.id", ondelete="CASCADE"), unique=True)
    taken_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    first_contact_on: Mapped[date | None] = mapped_column(Date)
    mode: Mapped[str | None] = mapped_column(String(24))
    # diagnostic (sensitive)
    ressources_cents: Mapped[int | None] = mapped_column(Integer)
    charges_cents: Mapped[int | None] = mapped_column(Integer)
    personnes: Mapped[int | None] = mapped_column(Integer)
    droits_a_verifier: Mapped[list] = mapped_column(JSON, default=list)
    capacite: Mapped[str | None] = mapped_column(String(10))
    # maintien de l'aide, decided by a Caf agent
    maintien: Mapped[str | None] = mapped_column(String(16))
    maintien_motif: Mapped[str | None] = mapped_column(String(300))
    maintien_mois: Mapped[int | None] = mapped_column(Integer)
    maintien_on: Mapped[date | None] = mapped_column(Date)
    maintien_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # closing
    issue: Mapped[str | None] = mapped_column(String(24))
    minutes: Mapped[int | None] = mapped_column(Integer)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)

    contacts: Mapped[list[Contact]] = relationship(order_by="Contact.id", cascade="all, delete-orphan")
    rdvs: Mapped[list[RendezVous]] = relationship(order_by="RendezVous.at", cascade="all, delete-orphan")
    actions: Mapped[list[Action]] = relationship(order_by="Action.id", cascade="all, delete-orphan")
    etapes: Mapped[list[EtapeProcedure]] = relationship(order_by="EtapeProcedure.on", cascade="all, delete-orphan")


class Contact(db.Model):
    __tablename__ = "cdap_situation_contacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    situation_id: Mapped[int] = mapped_column(ForeignKey("cdap_situations.id", ondelete="CASCADE"), index=True)
    on: Mapped[date] = mapped_column(Date)
    canal: Mapped[str] = mapped_column(String(12))
    resultat: Mapped[str] = mapped_column(String(14))
    note: Mapped[str | None] = mapped_column(String(500))
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class RendezVous(db.Model):
    __tablename__ = "cdap_situation_rdv"
    id: Mapped[int] = mapped_column(primary_key=True)
    situation_id: Mapped[int] = mapped_column(ForeignKey("cdap_situations.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime)  # naive UTC
    modalite: Mapped[str] = mapped_column(String(12))
    statut: Mapped[str] = mapped_column(String(10), default="prevu")
    note: Mapped[str | None] = mapped_column(String(500))


class Action(db.Model):
    __tablename__ = "cdap_situation_actions"
    id: Mapped[int] = mapped_column(primary_key=True)
    situation_id: Mapped[int] = mapped_column(ForeignKey("cdap_situations.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(24))
    statut: Mapped[str] = mapped_column(String(10), default="proposee")
    on: Mapped[date] = mapped_column(Date)            # date of the last status
    detail: Mapped[str | None] = mapped_column(String(200))  # service oriented to, reference
    # plan d'apurement
    montant_mensuel_cents: Mapped[int | None] = mapped_column(Integer)
    duree_mois: Mapped[int | None] = mapped_column(Integer)
    debut: Mapped[date | None] = mapped_column(Date)
    accord_bailleur: Mapped[bool] = mapped_column(Boolean, default=False)
    accord_bailleur_on: Mapped[date | None] = mapped_column(Date)


class EtapeProcedure(db.Model):
    __tablename__ = "cdap_situation_procedure"
    id: Mapped[int] = mapped_column(primary_key=True)
    situation_id: Mapped[int] = mapped_column(ForeignKey("cdap_situations.id", ondelete="CASCADE"), index=True)
    etape: Mapped[str] = mapped_column(String(24))
    on: Mapped[date] = mapped_column(Date)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
