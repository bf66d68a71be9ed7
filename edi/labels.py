"""EDI's label table: the French words people read instead of the domain's codes.

File statuses and steps stay in ``edi.models``, certificate statuses in
``edi.certificates.models``; this module gathers what the shell shows for EDI (audit actions,
detail keys, values), declared in ``edi.register`` as ``Domain(labels=LABELS)``. Record codes
(``ALLOCATAIRE_INCONNU``…) are shown as a small reference after their sentence, never alone.
"""
from __future__ import annotations

from .anomalies import CODES
from .declarations.models import ACTES
from .models import STATUT_LABELS

AUDIT_ACTIONS = {
    "fichier_recu": "Fichier EDI reçu",
    "fichier_traite": "Fichier EDI traité",
    "fichier_relance": "Traitement d'un fichier EDI relancé",
    "fichier_quarantaine": "Fichier EDI mis en quarantaine",
    "avis_paiement_emis": "Avis de paiement émis",
    "certificat_enregistre": "Certificat de signature enregistré",
    "certificat_approuve": "Certificat de signature approuvé",
    "certificat_refuse": "Certificat de signature refusé",
    "certificat_revoque": "Certificat de signature révoqué",
    "certificat_alerte_expiration": "Alerte d'expiration d'un certificat envoyée",
    "declaration_creee": "Déclaration en ligne d'un bailleur commencée",
    "declaration_modifiee": "Brouillon de déclaration d'un bailleur modifié",
    "declaration_supprimee": "Brouillon de déclaration d'un bailleur supprimé",
    "declaration_envoyee": "Déclaration en ligne d'un bailleur envoyée",
    "declaration_piece_ajoutee": "Pièce jointe ajoutée à une déclaration de bailleur",
    "declaration_piece_retiree": "Pièce jointe retirée d'une déclaration de bailleur",
}

AUDIT_DETAILS = {
    "flux": "Flux", "format": "Format", "taille": "Taille (octets)", "canal": "Canal",
    "signature_jointe": "Signature jointe", "acceptes": "Enregistrements acceptés",
    "rejetes": "Enregistrements rejetés", "appliques": "Enregistrements appliqués",
    "paiements": "Paiements", "destinataires": "Destinataires", "sujet": "Sujet",
    "debut": "Début", "fin": "Fin", "empreinte": "Empreinte", "fictif": "Fictif",
    "acte": "Déclaration", "resultat": "Résultat", "piece": "Pièce n°", "sha256": "Empreinte",
}

VALEURS = {**{code: label.lower() for code, label in STATUT_LABELS.items()}, "EDI": "EDI",
           **{code: libelle.lower() for code, (_flux, libelle) in ACTES.items()},
           **{code: libelle.lower() for code, (_severite, libelle) in CODES.items()}}

LABELS = {"audit_categories": {"edi": "EDI"},
          "audit_targets": {"edi_fichier": "Fichier EDI n°", "edi_avis": "Avis de paiement n°", "certificat": "Certificat n°",
                           "declaration_bailleur": "Déclaration de bailleur n°"}, "audit_actions": AUDIT_ACTIONS,
          "audit_details": AUDIT_DETAILS, "valeurs": VALEURS}
