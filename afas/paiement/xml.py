"""The two files of the hand-off, pure (bytes in, bytes or data out; no database, no Flask).

``build_order`` writes the payment order (schemas/paiement-ordre-1.xsd) with its control total
and validates it against its own schema before anyone signs it. ``read_return`` reads a return
file through the shell's hostile-XML gate (portal.xmlsafe: UTF-8 only, no DOCTYPE, defensive
parser) and its XSD, and rechecks nothing of the business: that is the services' job."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache

from lxml import etree

from portal.xmlsafe import PARSER_OPTIONS, FormatError, check_prolog, load_schema, sanitize
from schemas import SCHEMA_DIR

NS_ORDRE = "urn:caf:extranet:afas:paiement-ordre:1"
NS_RETOUR = "urn:caf:extranet:afas:paiement-retour:1"
MAX_RETURN_BYTES = 5 * 1024 * 1024
NATURES = {"acompte": "ACOMPTE", "regularisation": "REGULARISATION", "recouvrement": "RECOUVREMENT"}


@cache
def order_schema() -> etree.XMLSchema:
    return load_schema(SCHEMA_DIR / "paiement-ordre-1.xsd")


@cache
def return_schema() -> etree.XMLSchema:
    return load_schema(SCHEMA_DIR / "paiement-retour-1.xsd")


@dataclass(frozen=True)
class OrderLine:
    reference: str
    nature: str            # acompte, regularisation, recouvrement
    siret: str
    iban_reference: str
    equipement: str        # numéro d'équipement Caf
    exercice: int
    montant_brut: int      # cents
    compensation: int      # cents
    montant: int           # cents, net
    echeance: date
    declaration_id: int
    version: int
    numero_acompte: int | None = None


def control_totals(lines: list[OrderLine]) -> tuple[int, int]:
    """(total paid, total recovered), in cents."""
    paid = sum(x.montant for x in lines if x.nature != "recouvrement")
    recovered = sum(x.montant for x in lines if x.nature == "recouvrement")
    return paid, recovered


def build_order(reference: str, jour: date, lines: list[OrderLine]) -> bytes:
    if not lines:
        raise ValueError("un ordre de paiement a au moins une ligne")
    q = f"{{{NS_ORDRE}}}"
    root = etree.Element(q + "OrdrePaiement", nsmap={None: NS_ORDRE},
                         reference=reference, date=jour.isoformat())
    for x in lines:
        el = etree.SubElement(root, q + "Ligne", reference=x.reference)
        for tag, value in (("Siret", x.siret), ("ReferenceIban", x.iban_reference),
                           ("Equipement", x.equipement), ("Exercice", x.exercice),
                           ("Nature", NATURES[x.nature]), ("NumeroAcompte", x.numero_acompte),
                           ("MontantBrutCentimes", x.montant_brut),
                           ("CompensationCentimes", x.compensation), ("MontantCentimes", x.montant),
                           ("Echeance", x.echeance.isoformat())):
            if value is not None:
                etree.SubElement(el, q + tag).text = str(value)
        etree.SubElement(el, q + "Declaration", id=str(x.declaration_id), version=str(x.version))
    paid, recovered = control_totals(lines)
    etree.SubElement(root, q + "Controle", nombreLignes=str(len(lines)),
                     totalVersementsCentimes=str(paid), totalRecouvrementsCentimes=str(recovered))
    order_schema().assertValid(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


@dataclass(frozen=True)
class ReturnResult:
    ligne: str
    statut: str            # PAYE, REJETE
    date: date
    motif: str | None


@dataclass(frozen=True)
class ReturnFile:
    reference: str
    results: list[ReturnResult]


def read_return(data: bytes) -> ReturnFile:
    """Parse and validate a return file; FormatError (stable code, French message) otherwise."""
    if not data:
        raise FormatError("FICHIER_VIDE", "Le fichier est vide.")
    if len(data) > MAX_RETURN_BYTES:
        raise FormatError("FICHIER_TROP_VOLUMINEUX",
                          f"Le fichier dépasse la taille maximale autorisée ({MAX_RETURN_BYTES} octets).")
    check_prolog(data[:64 * 1024])
    try:
        root = etree.fromstring(data, etree.XMLParser(**PARSER_OPTIONS))
    except etree.XMLSyntaxError as exc:
        raise FormatError("XML_MAL_FORME", sanitize(f"XML mal formé : {exc.msg}")) from None
    if root.getroottree().docinfo.doctype:
        raise FormatError("DOCTYPE_INTERDIT", "Les déclarations DOCTYPE sont interdites.")
    schema = return_schema()
    if not schema.validate(root):
        entry = schema.error_log.last_error
        raise FormatError("SCHEMA_INVALIDE", sanitize(f"Non conforme au schéma : {entry.message}"),
                          entry.line)
    q = f"{{{NS_RETOUR}}}"
    results = [ReturnResult(el.get("ligne"), el.get("statut"), date.fromisoformat(el.get("date")),
                            el.findtext(q + "Motif")) for el in root.iter(q + "Resultat")]
    return ReturnFile(root.get("reference"), results)


def build_return(reference: str, results: list[ReturnResult]) -> bytes:
    """What the payment system sends back (demo, tests, and the agent's simulation)."""
    q = f"{{{NS_RETOUR}}}"
    root = etree.Element(q + "RetourPaiement", nsmap={None: NS_RETOUR}, reference=reference)
    for r in results:
        el = etree.SubElement(root, q + "Resultat", ligne=r.ligne, statut=r.statut, date=r.date.isoformat())
        if r.motif:
            etree.SubElement(el, q + "Motif").text = r.motif
    return_schema().assertValid(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
