"""EDI file formats: streaming readers for the inbound flows, writers for the outbound ones.

Inbound flows (landlord -> Caf): LOYERS, IMPAYES, MOUVEMENTS. Outbound (Caf -> landlord):
ACCUSE, AVIS_PAIEMENT. Schemas live in the ``schemas`` package (one XSD per flow and version,
namespace ``urn:caf:extranet:edi:<flux>:<version>``); schemas/README.md is the specification.

Public API (used by the intake pipeline):

``read_envelope(path, max_bytes=...) -> Envelope``
    Reads and checks only the envelope (first element), without reading the rest of the file.

``iter_records(path, flow=None, max_bytes=..., unique_ids=True) -> Iterator[dict]``
    Streams the whole file with XSD validation; yields one typed dict per record (see
    ``RECORD_FIELDS``: amounts as ``int`` cents, dates as ``datetime.date``, plus
    ``"identifiant"`` and ``"ligne"``), releasing each element once yielded (flat memory).

``stream(path, flow=None, ...) -> Iterator[Envelope | dict]``
    Same single pass, yielding the ``Envelope`` first, then the record dicts; with
    ``columns=True``, a run of records with the same elements read at once comes as one
    ``RecordColumns`` (the same records column by column: the intake's bulk path builds no dict
    per record).

    **Validation is only complete when the iterator is exhausted without raising.** libxml2
    reports most schema errors as soon as the chunk holding them is parsed (raised here at once)
    but some (missing required content, identity constraints) only when the document ends; the
    record count is checked after the last record. A consumer must therefore *stage* the records
    and commit them only after the iteration finished without ``FormatError``.

``FormatError(code, message, line)``
    Stable ``code`` (see ``FILE_ERROR_CODES``), French message without any file content.

``check_envelope(envelope, now=None) -> list[FormatError]``
    Envelope rules that need no database (creation time not in the future, not too old, mode).

``validate_file(path, now=None, max_bytes=...) -> ValidationReport``
    Everything above in one pass (used by ``portal edi validate``).

``write_accuse(out, accuse: AccuseData)`` / ``write_avis_paiement(out, avis: AvisPaiementData)``
    Streaming writers (``lxml.etree.xmlfile``); ``out`` is a path or a binary file object.
    Same inputs -> same bytes (no clock read, stable order, fixed formatting).
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from itertools import repeat
from operator import attrgetter
from pathlib import Path
from typing import IO

from lxml import etree

from schemas import SCHEMA_DIR

from .xmlsafe import (
    DEFAULT_MAX_BYTES,
    FormatError,
    RELEASE_EVERY,
    check_document_end,
    StreamState,
    load_schema,
    register_safe_names,
    release_consumed,
    root_tag,
    stream_element_batches,
    stream_elements,
)

__all__ = [
    "FILE_ERROR_CODES",
    "FILE_STATUSES",
    "FLOWS",
    "INBOUND_FLOWS",
    "OUTBOUND_FLOWS",
    "SEVERITIES",
    "AccuseData",
    "AvisPaiementData",
    "Envelope",
    "FichierRecu",
    "FileReason",
    "FormatError",
    "Paiement",
    "RecordResult",
    "ValidationReport",
    "check_envelope",
    "iter_records",
    "namespace",
    "read_envelope",
    "schema_path",
    "stream",
    "validate_file",
    "write_accuse",
    "write_avis_paiement",
]

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
def _schema(flow: str, version: str = SCHEMA_VERSION, streaming: bool = True) -> etree.XMLSchema:
    return load_schema(schema_path(flow, version), strip_identity_constraints=streaming)


def _collect_schema_names() -> None:
    names = set()
    for xsd in SCHEMA_DIR.glob("*.xsd"):
        doc = etree.parse(str(xsd), etree.XMLParser(resolve_entities=False, no_network=True))
        names.update(doc.xpath("//@name"))
        names.update(doc.xpath("//*[local-name()='pattern' or local-name()='enumeration']/@value"))
    register_safe_names(names)


_collect_schema_names()

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
# Envelope
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Envelope:
    """The envelope common to every flow. ``created_at`` is an aware UTC datetime."""
    flow: str
    sender_code: str
    sender_siren: str
    receiver_code: str
    receiver_siren: str
    file_id: str
    sequence: int
    created_at: datetime
    record_count: int
    mode: str  # "TEST" | "PRODUCTION"
    schema_version: str = SCHEMA_VERSION

    @property
    def namespace(self) -> str:
        return namespace(self.flow, self.schema_version)

    @property
    def is_test(self) -> bool:
        return self.mode == "TEST"


def parse_utc(text: str) -> datetime:
    """``2026-07-31T10:00:00Z`` -> aware UTC datetime."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("horodatage sans fuseau")
    return value.astimezone(UTC)


def format_utc(value: datetime) -> str:
    """Aware or naive-UTC datetime -> ``YYYY-MM-DDThh:mm:ssZ`` (microseconds dropped)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.replace(microsecond=0).isoformat() + "Z"


def _text(element, name: str, ns: str) -> str | None:
    child = element.find(f"{{{ns}}}{name}")
    return None if child is None or child.text is None else child.text.strip()


def _envelope_from_element(element, flow: str, ns: str) -> Envelope:
    line = element.sourceline
    try:
        emetteur = element.find(f"{{{ns}}}Emetteur")
        destinataire = element.find(f"{{{ns}}}Destinataire")
        envelope = Envelope(
            flow=_text(element, "Flux", ns),
            sender_code=_text(emetteur, "Code", ns),
            sender_siren=_text(emetteur, "Siren", ns),
            receiver_code=_text(destinataire, "Code", ns),
            receiver_siren=_text(destinataire, "Siren", ns),
            file_id=_text(element, "IdentifiantFichier", ns),
            sequence=int(_text(element, "NumeroSequence", ns)),
            created_at=parse_utc(_text(element, "DateCreation", ns)),
            record_count=int(_text(element, "NombreEnregistrements", ns)),
            mode=_text(element, "Mode", ns),
            schema_version=_text(element, "VersionSchema", ns),
        )
    except (TypeError, ValueError, AttributeError):
        raise FormatError("NON_CONFORME_SCHEMA", "Enveloppe incomplète ou mal formée.", line) from None
    if envelope.flow != flow:
        raise FormatError("ENVELOPPE_INCOHERENTE",
                          f"L'enveloppe annonce le flux {envelope.flow} dans un fichier {flow}.", line)
    if envelope.schema_version != ns.rsplit(":", 1)[1]:
        raise FormatError("ENVELOPPE_INCOHERENTE",
                          "La version de schéma de l'enveloppe ne correspond pas à l'espace de noms.", line)
    return envelope


def _flow_of(path, expected: str | None, max_bytes: int) -> tuple[str, str]:
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


def read_envelope(path: str | os.PathLike, flow: str | None = None,
                  max_bytes: int = DEFAULT_MAX_BYTES) -> Envelope:
    """Read the envelope only (streaming, stops right after it). Envelope content is checked by
    the XSD; the rest of the file is not read, so the file may still prove invalid later."""
    flow, ns = _flow_of(path, flow, max_bytes)
    elements = stream_elements(path, (f"{{{ns}}}Enveloppe",), _schema(flow), max_bytes)
    try:
        for element in elements:
            return _envelope_from_element(element, flow, ns)
    finally:
        elements.close()
    raise FormatError("NON_CONFORME_SCHEMA", "Enveloppe absente.", None)


# --------------------------------------------------------------------------------------------
# Records
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


def _strip_then(fn: Callable[[str], object]) -> Callable[[str], object]:
    return lambda value: fn(value.strip())


def _positional(conv: tuple[str, Callable[[str], object]] | None):
    """(key, converter) of the positional fast path, each converter taking the raw text: one
    call per value where the generic path makes two (strip, then convert). `int` accepts the
    surrounding whitespace that the XSD collapses; strings and dates are stripped first."""
    if conv is None:
        return None
    key, fn = conv
    if fn is str:
        return key, str.strip
    if fn is int:
        return key, int
    return key, _strip_then(fn)


def _column(conv: tuple[str, Callable[[str], object]]):
    """(key, converter of a column of raw texts): the positional converter mapped in C."""
    key, fn = conv
    if fn is str:
        return key, lambda texts: map(str.strip, texts)
    if fn is int:
        return key, lambda texts: map(int, texts)
    return key, lambda texts: map(fn, map(str.strip, texts))


# The first text of every child of the first $n elements under a node: one call into libxml2
# for a whole chunk of records, plain str, no Python proxy per child (a third of the cost of
# reading them one child at a time, callgrind).
_CHILD_TEXTS = etree.XPath("*[position() <= $n]/*/text()[1]", smart_strings=False)
_SOURCELINE = attrgetter("sourceline")


class RecordColumns:
    """A run of consecutive records with the same elements, column by column: `keys` (those of
    the record dicts, "identifiant" first) and one list of values per key (None for a field the
    records leave out). What a bulk consumer reads without building a dict per record;
    `records()` gives the dicts."""

    __slots__ = ("keys", "values")

    def __init__(self, keys: tuple[str, ...], values: list[list]):
        self.keys, self.values = keys, values

    def __len__(self) -> int:
        return len(self.values[0])

    def column(self, key: str) -> list:
        return self.values[self.keys.index(key)]

    def records(self) -> list[dict]:
        return list(map(dict, map(zip, repeat(self.keys), zip(*self.values))))

    def split(self, n: int) -> tuple["RecordColumns", "RecordColumns"]:
        """The first `n` records, and the rest."""
        return (RecordColumns(self.keys, [v[:n] for v in self.values]),
                RecordColumns(self.keys, [v[n:] for v in self.values]))


class _Layout:
    """How to read, column by column, a chunk of records that all have the same elements: their
    number (`size`), the converter of each column after the identifier, the record keys (those
    read, "ligne", then those left out), and (when an optional element is left out) one count
    per element that proves every record of the chunk has it."""

    def __init__(self, size: int, keys: tuple[str, ...], converters: list, counters: list):
        self.size, self.keys, self.converters, self.counters = size, keys, converters, counters


class _Layouts:
    """The layouts met in a file, by the tags of a chunk's first record: the whole XSD sequence,
    or the sequence less some optional elements (a landlord without agencies never sends
    CodeAgence). The schema bounds them (at most one per subset of the optional elements)."""

    def __init__(self, flow: str, ns: str, sequence: tuple[str, ...]):
        self.flow, self.ns, self.sequence = flow, ns, sequence
        self.names = {f"{{{ns}}}{name}": name for name in sequence}
        self.cache: dict[tuple, _Layout | None] = {}

    def of(self, record) -> _Layout | None:
        tags = tuple(child.tag for child in record)
        if tags not in self.cache:
            self.cache[tags] = self._make(tags)
        return self.cache[tags]

    def _make(self, tags: tuple) -> _Layout | None:
        names = [self.names.get(tag) for tag in tags]
        if not names or names[0] != "Identifiant" or None in names:
            return None
        fields = RECORD_FIELDS[self.flow]
        if any(name not in fields for name in names[1:]):
            return None
        counters = [] if len(names) == len(self.sequence) else [
            etree.XPath(f"count(*[position() <= $n]/e:{name})", namespaces={"e": self.ns}) for name in names[1:]]
        read = ["identifiant"] + [fields[name][0] for name in names[1:]] + ["ligne"]
        left_out = [key for key, _conv in fields.values() if key not in read]
        return _Layout(len(names), tuple(read + left_out), [_column(fields[name]) for name in names[1:]],
                       counters)


def _read_columns(batch: list, layout: _Layout | None) -> RecordColumns | None:
    """The records of `batch` (consecutive validated records under the root, those before it
    released), when they all have the elements of `layout`; else None, and the caller reads them
    one by one (and reports a faulty one with its line)."""
    if layout is None:
        return None
    n, size = len(batch), layout.size
    if list(map(len, batch)).count(size) != n:
        return None
    parent = batch[0].getparent()
    if parent is None or parent[n - 1] is not batch[-1]:  # not a run of siblings
        return None
    # Same number of elements as the first record, and each of its elements in every record:
    # the same elements everywhere (the schema allows each at most once, in its order).
    for counter in layout.counters:
        if counter(parent, n=n) != n:
            return None
    texts = _CHILD_TEXTS(parent, n=n)
    if len(texts) != n * size:  # an empty element (no text node) somewhere
        return None
    try:
        values = [texts[0::size]] + [list(conv(texts[i::size])) for i, (_key, conv) in enumerate(layout.converters, 1)]
    except (TypeError, ValueError):
        return None
    values.append(list(map(_SOURCELINE, batch)))
    values += [[None] * n for _key in layout.keys[len(values):]]  # the fields left out
    return RecordColumns(layout.keys, values)


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


def stream(path: str | os.PathLike, flow: str | None = None, *, max_bytes: int = DEFAULT_MAX_BYTES,
           unique_ids: bool = True, validate: bool = True, extract: bool = True,
           columns: bool = False) -> Iterator[Envelope | dict | RecordColumns | None]:
    """One pass over the file: yield the ``Envelope``, then one dict per record.

    ``columns=True`` (with ``unique_ids=False``): a run of records with the same elements read at
    once comes as one ``RecordColumns`` instead of its dicts (same records, same order, mixed with
    the dicts of records read one by one).

    See the module docstring: stage what you receive, commit only once this is exhausted.
    ``unique_ids``: check record-id uniqueness here (a set of the ids: ~100 MB for 1 M records);
    pass False when the consumer enforces it otherwise (e.g. a unique index on its staging table).
    ``extract=False``: validate only, yielding None per record (no dict built).
    ``validate=False``: no XSD (about half of lxml's time), for a second pass over bytes that
    an exhausted validating pass already accepted (same safe parser, same limits).
    """
    flow, ns = _flow_of(path, flow, max_bytes)
    spec = FLOWS[flow]
    record_tag = f"{{{ns}}}{spec.record}"
    envelope_tag = f"{{{ns}}}Enveloppe"
    id_tag = f"{{{ns}}}Identifiant"
    fields = {f"{{{ns}}}{name}": conv for name, conv in RECORD_FIELDS[flow].items()}
    empty = {key: None for key, _conv in RECORD_FIELDS[flow].values()}
    # Fast path: a validated record with every element of its sequence has them in XSD order,
    # so its values are read by position, without building each child's tag.
    sequence = record_sequence(flow) if validate else ()
    by_position = [_positional(RECORD_FIELDS[flow].get(name)) for name in sequence[1:]]
    full = (len(sequence) if sequence and sequence[0] == "Identifiant" and None not in by_position
            else -1)
    # Faster still, a whole chunk of records with the same elements at a time (_read_columns).
    layouts = _Layouts(flow, ns, sequence) if sequence and sequence[0] == "Identifiant" else None
    seen: set[str] | None = set() if unique_ids else None
    as_columns = columns and seen is None
    state = StreamState()
    envelope = None
    count = 0
    root = f"{{{ns}}}{spec.root}"

    def read_one(element) -> dict:
        line = element.sourceline
        record = dict(empty)
        record["identifiant"] = None
        record["ligne"] = line
        try:
            if len(element) == full:
                texts = iter([child.text for child in element])
                record["identifiant"] = next(texts)
                for (key, fn), value in zip(by_position, texts):
                    record[key] = fn(value)
            else:
                for child in element:
                    tag = child.tag
                    if tag == id_tag:
                        record["identifiant"] = child.text
                        continue
                    conv = fields.get(tag)
                    if conv is not None:
                        key, fn = conv
                        record[key] = fn(child.text.strip())
        except (TypeError, ValueError, AttributeError):
            raise FormatError("NON_CONFORME_SCHEMA", "Valeur non conforme au type attendu.", line) from None
        if envelope is None or record["identifiant"] is None:
            raise FormatError("NON_CONFORME_SCHEMA", "Enregistrement sans enveloppe ou sans identifiant.", line)
        return record

    def check_unique(record: dict) -> None:
        if record["identifiant"] in seen:
            raise FormatError("IDENTIFIANT_DUPLIQUE",
                              f"L'identifiant d'enregistrement {record['identifiant']} apparaît "
                              "plusieurs fois dans le fichier.", record["ligne"])
        seen.add(record["identifiant"])

    for batch in stream_element_batches(path, (envelope_tag, record_tag), _schema(flow) if validate else None,
                                        max_bytes, state, root=root):
        # After the envelope of a validated file, the tag filter leaves only records: the
        # batch is read at once, or record by record when it is not a run of full records.
        if envelope is not None and validate:
            release_consumed(batch[0])
            if not extract:
                count += len(batch)
                yield from repeat(None, len(batch))
                continue
            block = _read_columns(batch, layouts.of(batch[0])) if layouts else None
            if block is not None:
                count += len(block)
                if as_columns:
                    yield block
                    continue
                records = block.records()
                if seen is not None:
                    for record in records:
                        check_unique(record)
                yield from records
                continue
        for element in batch:
            # The envelope comes first (the schema says so); without a schema, wherever it is.
            if (envelope is None or not validate) and element.tag == envelope_tag:
                envelope = _envelope_from_element(element, flow, ns)
                element.clear()  # unlinked with the first records
                yield envelope
                continue
            if not extract and envelope is not None:
                count += 1
                if not count % RELEASE_EVERY:
                    release_consumed(element)
                yield None
                continue
            record = read_one(element)
            if seen is not None:
                check_unique(record)
            count += 1
            if not count % RELEASE_EVERY:
                release_consumed(element)
            yield record
    if envelope is None:
        raise FormatError("NON_CONFORME_SCHEMA", "Enveloppe absente.")
    if count != envelope.record_count:
        raise FormatError("NOMBRE_ENREGISTREMENTS_INCORRECT",
                          f"L'enveloppe annonce {envelope.record_count} enregistrement(s), "
                          f"le fichier en contient {count}.")


def iter_records(path: str | os.PathLike, flow: str | None = None, *,
                 max_bytes: int = DEFAULT_MAX_BYTES, unique_ids: bool = True) -> Iterator[dict]:
    """Records only (the envelope is read and checked but not yielded). Same contract as ``stream``."""
    for item in stream(path, flow, max_bytes=max_bytes, unique_ids=unique_ids):
        if not isinstance(item, Envelope):
            yield item


# Creation-time window accepted for an inbound file.
MAX_FUTURE = timedelta(minutes=10)
MAX_AGE = timedelta(days=31)


def check_envelope(envelope: Envelope, now: datetime | None = None) -> list[FormatError]:
    """Envelope rules that need no database. Returns the problems found (empty list = fine)."""
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    problems = []
    if envelope.created_at > now + MAX_FUTURE:
        problems.append(FormatError("DATE_CREATION_FUTURE",
                                    f"La date de création ({format_utc(envelope.created_at)}) est dans le futur."))
    if envelope.created_at < now - MAX_AGE:
        problems.append(FormatError("DATE_CREATION_ANCIENNE",
                                    f"La date de création ({format_utc(envelope.created_at)}) date de plus de "
                                    f"{MAX_AGE.days} jours."))
    return problems


@dataclass
class ValidationReport:
    envelope: Envelope | None
    records: int
    errors: list[FormatError] = field(default_factory=list)
    warnings: list[FormatError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def validate_file(path: str | os.PathLike, flow: str | None = None, now: datetime | None = None,
                  max_bytes: int = DEFAULT_MAX_BYTES, *,
                  freshness_as_warning: bool = False) -> ValidationReport:
    """Schema, record count, unique ids and creation time: everything that needs no database.

    The creation-time window is a rule of *reception* (a file dated a year ago is refused when
    it arrives); offline, ``freshness_as_warning`` reports it as a warning, so a shipped example
    or an archived file still validates on any day."""
    report = ValidationReport(envelope=None, records=0)
    try:
        for item in stream(path, flow, max_bytes=max_bytes):
            if isinstance(item, Envelope):
                report.envelope = item
            else:
                report.records += 1
    except FormatError as exc:
        report.errors.append(exc)
    if report.envelope is not None:
        problems = check_envelope(report.envelope, now)
        (report.warnings if freshness_as_warning else report.errors).extend(problems)
    return report


# --------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FichierRecu:
    """The received file as the ACCUSE describes it (optional parts unknown if unreadable)."""
    sender_code: str
    sender_siren: str
    sha256: str
    size: int
    received_at: datetime
    flow: str | None = None
    file_id: str | None = None
    sequence: int | None = None
    mode: str | None = None


@dataclass(frozen=True)
class FileReason:
    code: str
    label: str
    line: int | None = None


@dataclass(frozen=True)
class RecordResult:
    record_id: str
    code: str
    label: str
    severity: str  # ERREUR | AVERTISSEMENT | INFORMATION
    line: int | None = None


@dataclass(frozen=True)
class DoublonDe:
    sha256: str
    received_at: datetime
    file_id: str | None = None


@dataclass
class AccuseData:
    """Everything an ACCUSE says. ``results`` may be a generator (streamed, e.g. from the
    database in order); then ``result_count`` must be given and is checked at the end."""
    envelope: Envelope  # flow="ACCUSE", sender = the Caf, receiver = the landlord
    received: FichierRecu
    status: str  # key of FILE_STATUSES
    records_total: int
    records_accepted: int
    records_rejected: int
    records_warning: int
    results: Iterable[RecordResult] = ()
    result_count: int | None = None
    file_reasons: Iterable[FileReason] = ()
    duplicate_of: DoublonDe | None = None


@dataclass(frozen=True)
class Paiement:
    record_id: str
    code_locataire: str
    numero_allocataire: str
    nom: str
    prestation: str
    montant_cents: int
    date_paiement: date


@dataclass
class AvisPaiementData:
    envelope: Envelope  # flow="AVIS_PAIEMENT", record_count = number of payments
    year: int
    month: int
    payments: Iterable[Paiement] = ()


class _Writer:
    def __init__(self, xf, ns):
        self.xf, self.ns = xf, ns

    def q(self, name):
        return f"{{{self.ns}}}{name}"

    def nl(self, indent=0):
        self.xf.write("\n" + "  " * indent)

    def leaf(self, name, value, indent, attrib=None):
        self.nl(indent)
        with self.xf.element(self.q(name), attrib or {}):
            self.xf.write(str(value))

    def partenaire(self, name, code, siren, indent):
        self.nl(indent)
        with self.xf.element(self.q(name)):
            self.leaf("Code", code, indent + 1)
            self.leaf("Siren", siren, indent + 1)
            self.nl(indent)

    def envelope(self, env: Envelope):
        self.nl(1)
        with self.xf.element(self.q("Enveloppe")):
            self.partenaire("Emetteur", env.sender_code, env.sender_siren, 2)
            self.partenaire("Destinataire", env.receiver_code, env.receiver_siren, 2)
            self.leaf("Flux", env.flow, 2)
            self.leaf("IdentifiantFichier", env.file_id, 2)
            self.leaf("NumeroSequence", env.sequence, 2)
            self.leaf("DateCreation", format_utc(env.created_at), 2)
            self.leaf("NombreEnregistrements", env.record_count, 2)
            self.leaf("Mode", env.mode, 2)
            self.leaf("VersionSchema", env.schema_version, 2)
            self.nl(1)


def _open_out(out) -> tuple[IO[bytes], bool]:
    if hasattr(out, "write"):
        return out, False
    return open(out, "wb"), True


def _check_outbound(envelope: Envelope, flow: str):
    if envelope.flow != flow:
        raise ValueError(f"enveloppe du flux {envelope.flow} pour un fichier {flow}")
    if envelope.mode not in ("TEST", "PRODUCTION"):
        raise ValueError("mode TEST ou PRODUCTION attendu")


def write_accuse(out, accuse: AccuseData) -> None:
    """Write an ACCUSE (streamed). ``out``: path or binary file object. Deterministic bytes.

    Every ``RecordResult`` and ``FileReason`` is written in full (no truncation); the envelope's
    record count must equal the number of results (checked; ``ValueError`` otherwise — the
    partial output must then be discarded by the caller)."""
    _check_outbound(accuse.envelope, "ACCUSE")
    if accuse.status not in FILE_STATUSES:
        raise ValueError(f"statut de fichier inconnu : {accuse.status}")
    ns = namespace("ACCUSE", accuse.envelope.schema_version)
    fh, close = _open_out(out)
    try:
        with etree.xmlfile(fh, encoding="UTF-8") as xf:
            xf.write_declaration()
            w = _Writer(xf, ns)
            with xf.element(w.q("Accuse"), nsmap={None: ns}):
                w.envelope(accuse.envelope)
                r = accuse.received
                w.nl(1)
                with xf.element(w.q("FichierRecu")):
                    w.partenaire("Emetteur", r.sender_code, r.sender_siren, 2)
                    for name, value in (("Flux", r.flow), ("IdentifiantFichier", r.file_id),
                                        ("NumeroSequence", r.sequence), ("Mode", r.mode)):
                        if value is not None:
                            w.leaf(name, value, 2)
                    w.leaf("Empreinte", r.sha256.lower(), 2, {"algorithme": "SHA-256"})
                    w.leaf("Taille", r.size, 2)
                    w.leaf("DateReception", format_utc(r.received_at), 2)
                    w.nl(1)
                w.nl(1)
                with xf.element(w.q("Statut")):
                    w.leaf("Code", accuse.status, 2)
                    w.leaf("Libelle", FILE_STATUSES[accuse.status], 2)
                    w.nl(1)
                w.nl(1)
                with xf.element(w.q("Synthese")):
                    w.leaf("NombreEnregistrements", accuse.records_total, 2)
                    w.leaf("NombreAcceptes", accuse.records_accepted, 2)
                    w.leaf("NombreRejetes", accuse.records_rejected, 2)
                    w.leaf("NombreAvertissements", accuse.records_warning, 2)
                    w.nl(1)
                if accuse.duplicate_of is not None:
                    d = accuse.duplicate_of
                    w.nl(1)
                    with xf.element(w.q("DoublonDe")):
                        if d.file_id:
                            w.leaf("IdentifiantFichier", d.file_id, 2)
                        w.leaf("Empreinte", d.sha256.lower(), 2, {"algorithme": "SHA-256"})
                        w.leaf("DateReception", format_utc(d.received_at), 2)
                        w.nl(1)
                for reason in accuse.file_reasons:
                    w.nl(1)
                    with xf.element(w.q("MotifFichier")):
                        w.leaf("Code", reason.code, 2)
                        w.leaf("Libelle", reason.label, 2)
                        if reason.line:
                            w.leaf("Ligne", reason.line, 2)
                        w.nl(1)
                written = 0
                for res in accuse.results:
                    if res.severity not in SEVERITIES:
                        raise ValueError(f"gravité inconnue : {res.severity}")
                    w.nl(1)
                    with xf.element(w.q("Resultat")):
                        w.leaf("Identifiant", res.record_id, 2)
                        if res.line:
                            w.leaf("Ligne", res.line, 2)
                        w.leaf("Code", res.code, 2)
                        w.leaf("Libelle", res.label, 2)
                        w.leaf("Gravite", res.severity, 2)
                        w.nl(1)
                    written += 1
                if written != accuse.envelope.record_count:
                    raise ValueError(f"l'enveloppe annonce {accuse.envelope.record_count} résultat(s), "
                                     f"{written} écrit(s)")
                w.nl(0)
        fh.write(b"\n")
    finally:
        if close:
            fh.close()


def write_avis_paiement(out, avis: AvisPaiementData) -> None:
    """Write an AVIS_PAIEMENT (streamed, totals computed while writing). Deterministic bytes."""
    _check_outbound(avis.envelope, "AVIS_PAIEMENT")
    ns = namespace("AVIS_PAIEMENT", avis.envelope.schema_version)
    fh, close = _open_out(out)
    try:
        with etree.xmlfile(fh, encoding="UTF-8") as xf:
            xf.write_declaration()
            w = _Writer(xf, ns)
            with xf.element(w.q("AvisPaiement"), nsmap={None: ns}):
                w.envelope(avis.envelope)
                w.nl(1)
                with xf.element(w.q("Periode")):
                    w.leaf("Annee", avis.year, 2)
                    w.leaf("Mois", avis.month, 2)
                    w.nl(1)
                count = total = 0
                for p in avis.payments:
                    w.nl(1)
                    with xf.element(w.q("Paiement")):
                        w.leaf("Identifiant", p.record_id, 2)
                        w.leaf("CodeLocataire", p.code_locataire, 2)
                        w.leaf("NumeroAllocataire", p.numero_allocataire, 2)
                        w.leaf("Nom", p.nom, 2)
                        w.leaf("Prestation", p.prestation, 2)
                        w.leaf("MontantCentimes", int(p.montant_cents), 2)
                        w.leaf("DatePaiement", p.date_paiement.isoformat(), 2)
                        w.nl(1)
                    count += 1
                    total += int(p.montant_cents)
                if count != avis.envelope.record_count:
                    raise ValueError(f"l'enveloppe annonce {avis.envelope.record_count} paiement(s), "
                                     f"{count} écrit(s)")
                w.nl(1)
                with xf.element(w.q("Total")):
                    w.leaf("NombrePaiements", count, 2)
                    w.leaf("MontantCentimes", total, 2)
                    w.nl(1)
                w.nl(0)
        fh.write(b"\n")
    finally:
        if close:
            fh.close()


def fresh_example(flow: str, now: datetime, mode: str | None = None) -> bytes:
    """The annotated example of an inbound flow with ``DateCreation`` = now and a new
    ``IdentifiantFichier`` (so it passes the creation-time window and is not a duplicate)."""
    from schemas import EXAMPLES_DIR
    ns = namespace(flow)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    tree = etree.parse(str(EXAMPLES_DIR / f"{FLOWS[flow].slug}-exemple.xml"), parser)
    envelope = tree.getroot().find(f"{{{ns}}}Enveloppe")
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%S")
    envelope.find(f"{{{ns}}}DateCreation").text = format_utc(now)
    envelope.find(f"{{{ns}}}IdentifiantFichier").text = f"PH-{flow}-{stamp}"
    if mode:
        envelope.find(f"{{{ns}}}Mode").text = mode
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8") + b"\n"
