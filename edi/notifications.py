"""What EDI tells people (``portal.notifications``): a file rejected or processed only in part
(to the landlord's operators habilitated for EDI, and whoever deposited it) and a signing
certificate about to expire (to the landlord's partner admins)."""
from __future__ import annotations

from portal import notifications
from portal.formatting import accord, date_heure
from portal.registry import NotificationKind

from .models import REJETE, STATUT_LABELS, TRAITE_PARTIEL

FICHIER, CERTIFICAT = "edi_fichier", "edi_certificat"
TOLD = frozenset({REJETE, TRAITE_PARTIEL})

KINDS = [
    NotificationKind(FICHIER, "Fichier EDI rejeté ou traité partiellement", "immediat",
                     lambda user: user.role in ("bailleur_operator", "partner_admin"), 30),
    NotificationKind(CERTIFICAT, "Certificat EDI bientôt expiré", "immediat",
                     lambda user: user.role == "partner_admin", 31),
]


def file_closed(f) -> None:
    """Called when a file's processing ends: nothing unless it was rejected or partly applied."""
    if f.statut not in TOLD:
        return
    people = notifications.organisation_users(f.organisation_id, roles={"bailleur_operator"}, service="EDI")
    if f.depose_par is not None and f.depose_par.organisation_id == f.organisation_id:
        people = [f.depose_par, *people]
    if f.statut == REJETE:
        motifs = [m.get("libelle") or m.get("code") for m in (f.motifs or []) if isinstance(m, dict)]
        detail = "Le fichier a été rejeté" + (f" : {motifs[0]}" if motifs else ".")
    else:
        detail = (f"{accord(f.nb_acceptes, 'enregistrement accepté', 'enregistrements acceptés')}, {accord(f.nb_rejetes, 'rejeté')} : "
                  "corrigez les enregistrements rejetés et déposez-les dans un nouveau fichier.")
    notifications.publish(FICHIER, people, url=notifications.path_for("edi.file_detail", fichier_id=f.id),
                          title=f"Fichier EDI {STATUT_LABELS[f.statut].lower()} : {f.nom_fichier}",
                          body=detail)


def certificate_expiring(cert, admins) -> None:
    notifications.publish(
        CERTIFICAT, admins, url=notifications.path_for("edi_certs.detail", cert_id=cert.id),
        title=f"Certificat EDI bientôt expiré : {cert.label}",
        body=(f"Le certificat de signature EDI « {cert.label} » de {cert.organisation.nom} ne pourra plus "
              f"être utilisé après le {date_heure(cert.end_of_use, fuseau=True)}.\nPour éviter tout rejet de fichier, "
              "enregistrez dès maintenant son successeur dans l'Extranet (Certificats EDI) : plusieurs "
              "certificats peuvent être actifs en même temps."))
