"""The EDI flows as the schemas define them: one namespace and one XSD per flow and version,
the record elements and their converters, and the codes the readers and writers use.

Everything here is read from, or must agree with, the shipped XSDs (``schemas/``); a new flow
or schema version starts here.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from lxml import etree

from schemas import SCHEMA_DIR

from portal.xmlsafe import FormatError, check_document_end, load_schema, register_safe_names, root_tag

SCHEMA_VERSION = "1"


@dataclass(frozen=True)
class FlowSpec:
    flow: str
    slug: str
    root: str
    record: str
    inbound: bool


FLOWS: dict[str, FlowSpec] = {
    "LOYERS": FlowSpec("LOYERS", "loyers", "Loyers", "Loyer", True),
    "IMPAYES": FlowSpec("IMPAYES", "impayes", "Impayes", "Impaye", True),
    "MOUVEMENTS": FlowSpec("MOUVEMENTS", "mouvements", "Mouvements", "Mouvement", True),
    "ACCUSE": FlowSpec("ACCUSE", "accuse", "Accuse", "Resultat", False),
    "AVIS_PAIEMENT": FlowSpec("AVIS_PAIEMENT", "avis-paiement", "AvisPaiement", "Paiement", False),
}
INBOUND_FLOWS = tuple(f for f, s in FLOWS.items() if s.inbound)
OUTBOUND_FLOWS = tuple(f for f, s in FLOWS.items() if not s.inbound)


def namespace(flow: str, version: str = SCHEMA_VERSION) -> str:
    return f"urn:caf:extranet:edi:{FLOWS[flow].slug}:{version}"


def schema_path(flow: str, version: str = SCHEMA_VERSION) -> Path:
    return SCHEMA_DIR / f"{FLOWS[flow].slug}-{version}.xsd"


_NS_TO_FLOW = {namespace(f): f for f in FLOWS}


@cache
def compiled_schema(flow: str, version: str = SCHEMA_VERSION, streaming: bool = True) -> etree.XMLSchema:
    return load_schema(schema_path(flow, version), strip_identity_constraints=streaming)


def _collect_schema_names() -> None:
    names = set()
    for xsd in SCHEMA_DIR.glob("*.xsd"):
        doc = etree.parse(str(xsd), etree.XMLParser(resolve_entities=False, no_network=True))
        names.update(doc.xpath("//@name"))
        names.update(doc.xpath("//*[local-name()='pattern' or local-name()='enumeration']/@value"))
    register_safe_names(names)


_collect_schema_names()


def flow_of(path, expected: str | None, max_bytes: int) -> tuple[str, str]:
    """(flow, namespace) of the file at `path`, from its root element (read from the first
    bytes only), refused at once if unknown, not `expected`, or not closed by its last bytes."""
    tag = root_tag(path, max_bytes)
    ns, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    flow = _NS_TO_FLOW.get(ns)
    if flow is None or FLOWS[flow].root != local:
        raise FormatError("ESPACE_DE_NOMS_INCONNU",
                          "Élément racine ou espace de noms inconnu : attendu par exemple "
                          f"<Loyers xmlns=\"{namespace('LOYERS')}\">.", 1)
    if expected is not None and flow != expected:
        raise FormatError("FLUX_INATTENDU", f"Fichier {flow} reçu alors qu'un fichier {expected} est attendu.", 1)
    check_document_end(path, tag)
    return flow, ns


@cache
def record_sequence(flow: str, version: str = SCHEMA_VERSION) -> tuple[str, ...]:
    """Child element names of the flow's record, in the order of its XSD sequence (read from
    the shipped XSD). A validated record with all of them has them in that order."""
    spec = FLOWS[flow]
    doc = etree.parse(str(schema_path(flow, version)),
                      etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))
    xs = {"xs": "http://www.w3.org/2001/XMLSchema"}
    types = doc.xpath(f"//xs:element[@name='{spec.record}']/@type", namespaces=xs)
    if not types:  # record type declared inline: no fast path
        return ()
    type_name = types[0].split(":")[-1]
    return tuple(doc.xpath(f"/xs:schema/xs:complexType[@name='{type_name}']/xs:sequence/xs:element/@name",
                           namespaces=xs))


# --------------------------------------------------------------------------------------------
# Codes
# --------------------------------------------------------------------------------------------

FILE_STATUSES = {
    "ACCEPTE": "accepté",
    "ACCEPTE_PARTIELLEMENT": "accepté partiellement",
    "REJETE": "rejeté",
    "NON_CONFORME": "non conforme au schéma",
    "DOUBLON": "doublon",
}
SEVERITIES = ("ERREUR", "AVERTISSEMENT", "INFORMATION")

# File-level codes raised by the readers (FormatError.code) — listed in schemas/README.md.
FILE_ERROR_CODES = {
    "FICHIER_ILLISIBLE": "Le fichier est introuvable ou illisible.",
    "FICHIER_VIDE": "Le fichier est vide.",
    "FICHIER_TROP_VOLUMINEUX": "Le fichier dépasse la taille maximale autorisée.",
    "ENCODAGE_NON_SUPPORTE": "Le fichier doit être encodé en UTF-8.",
    "DOCTYPE_INTERDIT": "Les déclarations DOCTYPE (DTD, entités) sont interdites.",
    "ENTITE_INTERDITE": "Les entités XML sont interdites.",
    "XML_MALFORME": "Le fichier n'est pas un document XML bien formé.",
    "PROFONDEUR_EXCESSIVE": "Imbrication d'éléments trop profonde.",
    "ESPACE_DE_NOMS_INCONNU": "Espace de noms (flux ou version) inconnu.",
    "FLUX_INATTENDU": "Le flux du fichier n'est pas celui attendu.",
    "NON_CONFORME_SCHEMA": "Le fichier n'est pas conforme au schéma XSD.",
    "ENVELOPPE_INCOHERENTE": "L'enveloppe contredit l'espace de noms du fichier.",
    "IDENTIFIANT_DUPLIQUE": "Deux enregistrements portent le même identifiant.",
    "NOMBRE_ENREGISTREMENTS_INCORRECT": "Le nombre d'enregistrements ne correspond pas à l'enveloppe.",
    "DATE_CREATION_FUTURE": "La date de création du fichier est dans le futur.",
    "DATE_CREATION_ANCIENNE": "La date de création du fichier est trop ancienne.",
}


# --------------------------------------------------------------------------------------------
# Record fields
# --------------------------------------------------------------------------------------------

def _bool(text: str) -> bool:
    return text in ("true", "1")


# element -> (dict key, converter); every key is present in each yielded dict (None if absent).
RECORD_FIELDS: dict[str, dict[str, tuple[str, Callable[[str], object]]]] = {
    "LOYERS": {
        "CodeAgence": ("code_agence", str),
        "CodeLocataire": ("code_locataire", str),
        "NumeroAllocataire": ("numero_allocataire", str),
        "LoyerCentimes": ("loyer_cents", int),
        "ChargesCentimes": ("charges_cents", int),
        "DateEffet": ("date_effet", date.fromisoformat),
        "NombreColocataires": ("nb_colocataires", int),
    },
    "IMPAYES": {
        "CodeAgence": ("code_agence", str),
        "CodeLocataire": ("code_locataire", str),
        "NumeroAllocataire": ("numero_allocataire", str),
        "MontantDetteCentimes": ("montant_dette_cents", int),
        "LoyerMensuelCentimes": ("loyer_mensuel_cents", int),
        "DateConstitution": ("date_constitution", date.fromisoformat),
        "PeriodeDebut": ("periode_debut", date.fromisoformat),
        "PeriodeFin": ("periode_fin", date.fromisoformat),
        "PlanApurement": ("plan_apurement", _bool),
    },
    "MOUVEMENTS": {
        "CodeAgence": ("code_agence", str),
        "CodeLocataire": ("code_locataire", str),
        "NumeroAllocataire": ("numero_allocataire", str),
        "TypeMouvement": ("type", str),
        "DateMouvement": ("date_mouvement", date.fromisoformat),
        "LoyerCentimes": ("loyer_cents", int),
        "ChargesCentimes": ("charges_cents", int),
    },
    "AVIS_PAIEMENT": {
        "CodeLocataire": ("code_locataire", str),
        "NumeroAllocataire": ("numero_allocataire", str),
        "Nom": ("nom", str),
        "Prestation": ("prestation", str),
        "MontantCentimes": ("montant_cents", int),
        "DatePaiement": ("date_paiement", date.fromisoformat),
    },
    "ACCUSE": {
        "Ligne": ("ligne_recue", int),
        "Code": ("code", str),
        "Libelle": ("libelle", str),
        "Gravite": ("gravite", str),
    },
}
