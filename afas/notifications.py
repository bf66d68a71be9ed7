"""What AFAS tells people (``portal.notifications``): the kinds it declares to the registry and
one small function per event, called by ``afas.services`` in the state change's transaction.

Partner side: the organisation's managers habilitated for AFAS (those who declare). Caf side:
the agent in charge of the declaration, or every Caf agent habilitated for AFAS while no one is.
"""
from __future__ import annotations

from portal import notifications
from portal.formatting import accord, euros
from portal.registry import NotificationKind

CORRECTION, MESSAGE, VALIDATION, PAIEMENT = "afas_correction", "afas_message", "afas_validation", "afas_paiement"


def _partner(user) -> bool:
    return user.role in ("partner_manager", "partner_admin")


def _afas_people(user) -> bool:
    return _partner(user) or user.role in ("caf_agent", "caf_admin")


KINDS = [
    NotificationKind(CORRECTION, "Demande de correction d'une déclaration AFAS", "immediat", _partner, 10),
    NotificationKind(MESSAGE, "Message sur une déclaration AFAS", "immediat", _afas_people, 11),
    NotificationKind(VALIDATION, "Déclaration AFAS validée", "immediat", _partner, 12),
    NotificationKind(PAIEMENT, "Paiement AFAS (acompte, solde)", "quotidien", _partner, 13),
]


def _managers(decl):
    return notifications.organisation_users(decl.equipement.organisation_id, roles={"partner_manager"},
                                            service="AFAS")


def _about(decl) -> str:
    return f"{decl.titre} — {decl.equipement.libelle}"


def _partner_url(decl) -> str:
    return notifications.path_for("afas.declaration", did=decl.id)


def correction_requested(decl, agent, message: str) -> None:
    notifications.publish(CORRECTION, _managers(decl), actor=agent, url=_partner_url(decl),
                          title=f"Correction demandée : {_about(decl)}",
                          body=f"La Caf vous demande de corriger votre déclaration « {_about(decl)} » :\n\n{message}")


def message_posted(decl, msg) -> None:
    author = msg.author
    if msg.from_caf:
        people, url = _managers(decl), _partner_url(decl)
    else:
        agent = decl.agent
        people = [agent] if agent is not None and agent.habilitation("AFAS") is not None \
            else notifications.caf_staff(roles={"caf_agent"}, service="AFAS")
        url = notifications.path_for("afas.review", did=decl.id)
    joined = f"\n(avec {accord(len(msg.attachments), 'pièce jointe', 'pièces jointes')})" if getattr(msg, "attachments", None) else ""
    notifications.publish(MESSAGE, people, actor=author, url=url,
                          title=f"Nouveau message : {_about(decl)}",
                          body=f"{author.full_name}{' (Caf)' if msg.from_caf else ''} a écrit :\n\n{msg.body}{joined}")


def validated(decl, agent) -> None:
    montant = decl.last_version.montant if decl.last_version else None
    droit = f" Droit retenu : {euros(montant)}." if montant is not None else ""
    notifications.publish(VALIDATION, _managers(decl), actor=agent, url=_partner_url(decl),
                          title=f"Déclaration validée : {_about(decl)}",
                          body=f"La Caf a validé votre déclaration « {_about(decl)} ».{droit}")


def paid(decl, what: str, montant: float | None = None) -> None:
    amount = f" de {euros(montant)}" if montant is not None else ""
    notifications.publish(PAIEMENT, _managers(decl), url=_partner_url(decl),
                          title=f"{what}{amount} : {_about(decl)}",
                          body=f"{what}{amount} pour « {_about(decl)} ».")
