"""AFAS's label table: the French words people read instead of the domain's codes.

The tables the AFAS pages already use live beside their data (``afas.schema``: equipment and
declaration types, statuses, field labels; ``afas.models.EVENT_LABELS``: the timeline); this
module gathers them with what the shell shows for AFAS (audit actions, detail keys, values),
declared in ``afas.register`` as ``Domain(labels=LABELS)``.
"""
from __future__ import annotations

from .models import EVENT_LABELS
from .schema import DECLARATION_TYPES, EQUIPEMENT_TYPES, STATUS_LABELS

AUDIT_ACTIONS = {
    **{code: label for code, label in EVENT_LABELS.items()},
    "message": "Message sur une déclaration",
    "bareme_importe": "Barème AFAS importé",
    "convention_enregistree": "Convention d'objectifs et de financement enregistrée",
    "convention_signee_deposee": "Convention signée déposée",
    "territoire_valide": "Territoire de l'équipement validé",
    "reference_bancaire_enregistree": "Coordonnées bancaires d'un partenaire enregistrées ou modifiées",
    "ordre_paiement_produit": "Ordre de paiement AFAS produit et signé",
    "retour_paiement_applique": "Retour du système de paiement appliqué",
    "ligne_paiement_relancee": "Ligne de paiement rejetée relancée",
}

AUDIT_DETAILS = {
    "iban": "IBAN", "iban_avant": "IBAN précédent", "bic": "BIC", "bic_avant": "BIC précédent",
    "titulaire": "Titulaire du compte", "titulaire_avant": "Titulaire précédent",
    "verse_le": "Versé le", "ligne": "Ligne de paiement",
    "deja_traitees": "Lignes déjà traitées", "lignes": "Lignes", "payees": "Lignes payées",
    "rejetees": "Lignes rejetées", "total_recouvrements": "Total recouvré",
    "total_versements": "Total versé",
    "version": "Version",
    "empreinte": "Empreinte",
    "en_retard": "En retard",
    "anticipee": "Avant l'ouverture de la campagne",
    "droit": "Droit",
    "droit_reel": "Droit réel",
    "deja_verse": "Déjà versé",
    "solde": "Solde",
    "sens": "Sens",
    "plafond": "Plafond",
    "montant": "Montant",
    "acompte": "Acompte n°",
    "acomptes": "Acomptes",
    "acomptes_verses": "Acomptes versés",
    "message_id": "Message n°",
    "prerempli_depuis": "Prérempli depuis",
    "annee": "Année",
    "date": "Date",
    "convention": "Convention n°",
    "reference": "Référence",
    "signee_le": "Signée le",
    "debut": "Début",
    "fin": "Fin",
    "zone": "Zone",
    "ctg": "Convention territoriale globale",
    "places": "Places",
}

VALEURS = {
    **STATUS_LABELS,
    **{code: label.lower() if code != "reel" else "réel" for code, label in DECLARATION_TYPES.items()},
    **{code: label for code, label in EQUIPEMENT_TYPES.items()},
    "a_verser": "à verser",
    "a_recuperer": "à récupérer",
    "AFAS": "AFAS",
}

UNITS = {key: "euros" for key in ("droit", "droit_reel", "deja_verse", "solde", "montant", "acomptes_verses")}

LABELS = {"audit_units": UNITS, "audit_categories": {"afas": "AFAS"}, "audit_targets": {"declaration": "Déclaration n°", "bareme": "Barème",
                                                                   "equipement": "Équipement n°",
                                                                   "ordre_paiement": "Ordre de paiement n°",
                                                                   "retour_paiement": "Retour de paiement n°",
                                                                   "ligne_paiement": "Ligne de paiement n°"}, "audit_actions": AUDIT_ACTIONS,
          "audit_details": AUDIT_DETAILS, "valeurs": VALEURS}
