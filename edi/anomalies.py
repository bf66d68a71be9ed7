"""Anomalies of a landlord's declaration or file: stable codes, French labels, severities.

One table (CODES, published in the specification) for both channels: a record of an EDI file
and a web form (edi.declarations) are answered with the same codes. ERREUR rejects the record
(or the file, for envelope codes), AVERTISSEMENT keeps it. An anomaly may name the `champ` (the
record key) it is about: the web form shows it at that field; the ACCUSE does not carry it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

ERREUR, AVERTISSEMENT, INFO = "ERREUR", "AVERTISSEMENT", "INFORMATION"


@dataclass(frozen=True)
class Anomalie:
    code: str
    libelle: str
    severite: str = ERREUR
    champ: str | None = field(default=None, compare=False)

    def as_dict(self) -> dict:
        return {"code": self.code, "libelle": self.libelle, "severite": self.severite}


# code -> (severity, generic label). Labels of actual anomalies add the record's details.
CODES: dict[str, tuple[str, str]] = {
    "ENREGISTREMENT_ACCEPTE": (INFO, "Enregistrement accepté et pris en compte"),
    # File level, technical (the identifier may be sent again). The signature and format codes
    # (portal.crypto.signature.SIGNATURE_CODES, edi.formats.FILE_ERROR_CODES) are used as they come.
    "SIGNATURE_ABSENTE": (ERREUR, "Le fichier n'est pas accompagné de sa signature (.p7s)"),
    "FLUX_INATTENDU": (ERREUR, "Flux non accepté en entrée"),
    "EMETTEUR_INCORRECT": (ERREUR, "L'émetteur de l'enveloppe n'est pas l'organisation qui dépose"),
    "DESTINATAIRE_INCORRECT": (ERREUR, "Le destinataire de l'enveloppe n'est pas la Caf"),
    "DATE_CREATION_FUTURE": (ERREUR, "La date de création du fichier est dans le futur"),
    "DATE_CREATION_ANCIENNE": (ERREUR, "La date de création du fichier est trop ancienne"),
    "NOMBRE_ENREGISTREMENTS_INCORRECT": (ERREUR, "Nombre d'enregistrements annoncé différent du nombre lu"),
    "SEQUENCE_INCORRECTE": (ERREUR, "Numéro de séquence déjà utilisé ou non croissant"),
    "IDENTIFIANT_ENREGISTREMENT_EN_DOUBLE": (ERREUR, "Identifiant d'enregistrement en double dans le fichier"),
    "SEQUENCE_NON_CONSECUTIVE": (AVERTISSEMENT, "Numéro de séquence non consécutif (fichier manquant ?)"),
    # File level, business
    "DOUBLON": (ERREUR, "Fichier déjà reçu"),
    "AUCUN_ENREGISTREMENT_ACCEPTE": (ERREUR, "Aucun enregistrement n'a été accepté"),
    "MODE_TEST": (INFO, "Fichier de test : contrôles effectués, rien n'a été appliqué"),
    # Record level
    "LOCATAIRE_INCONNU": (ERREUR, "Allocataire inconnu ou non locataire de ce bailleur"),
    "MONTANT_INVRAISEMBLABLE": (ERREUR, "Montant invraisemblable"),
    "DATE_INVRAISEMBLABLE": (ERREUR, "Date invraisemblable"),
    "COLOCATAIRES_INVRAISEMBLABLE": (ERREUR, "Nombre de colocataires invraisemblable"),
    "PERIODE_INCOHERENTE": (ERREUR, "Période de l'impayé incohérente"),
    "IMPAYE_NON_CONSTITUE": (ERREUR, "Impayé non constitué au sens de l'article R824-1 du CCH"),
    "IMPAYE_SIGNALE_TARDIVEMENT": (AVERTISSEMENT, "Impayé signalé plus de deux mois après sa constitution (R824-4)"),
    "LOYER_DIFFERENT": (AVERTISSEMENT, "Loyer mensuel déclaré différent du loyer connu"),
    "MOUVEMENT_INCOHERENT": (ERREUR, "Mouvement incohérent avec le bail connu"),
}


def anomalie(code: str, detail: str | None = None, champ: str | None = None) -> Anomalie:
    severite, libelle = CODES[code]
    return Anomalie(code, f"{libelle} : {detail}" if detail else libelle, severite, champ)


ACCEPTED = (True, "ENREGISTREMENT_ACCEPTE", CODES["ENREGISTREMENT_ACCEPTE"][1], INFO)


def summarise(anomalies: list[Anomalie]) -> tuple[bool, str, str, str]:
    """(accepted, main code, label, severity) for a record's list of anomalies."""
    if not anomalies:
        return ACCEPTED
    errors = [a for a in anomalies if a.severite == ERREUR]
    warnings = [a for a in anomalies if a.severite == AVERTISSEMENT]
    if errors:
        return False, errors[0].code, " ; ".join(a.libelle for a in errors + warnings), ERREUR
    if warnings:
        return True, warnings[0].code, " ; ".join(a.libelle for a in warnings), AVERTISSEMENT
    return True, "ENREGISTREMENT_ACCEPTE", CODES["ENREGISTREMENT_ACCEPTE"][1], INFO
