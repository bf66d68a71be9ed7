"""EDI file formats: streaming readers for the inbound flows, writers for the outbound ones.

Inbound flows (landlord -> Caf): LOYERS, IMPAYES, MOUVEMENTS. Outbound (Caf -> landlord):
ACCUSE, AVIS_PAIEMENT. Schemas live in the ``schemas`` package (one XSD per flow and version,
namespace ``urn:caf:extranet:edi:<flux>:<version>``); schemas/README.md is the specification.

Modules, by reason to change: ``flows`` (flows, namespaces, schemas, record fields, codes),
``xmlsafe`` (the gate every received byte goes through: size, prolog, DOCTYPE, sanitised
messages, streaming parser), ``envelope``, ``columns`` (records read column by column),
``reader`` (the one validating pass), ``writers`` (ACCUSE, AVIS_PAIEMENT).

Public API (used by the intake), importable from ``edi.formats``:

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

from .columns import RecordColumns
from .envelope import Envelope, check_envelope, format_utc, fresh_example, parse_utc, read_envelope
from .flows import (FILE_ERROR_CODES, FILE_STATUSES, FLOWS, INBOUND_FLOWS, OUTBOUND_FLOWS,
                    RECORD_FIELDS, SCHEMA_VERSION, SEVERITIES, namespace, record_sequence,
                    schema_path)
from .reader import ValidationReport, iter_records, stream, validate_file
from .writers import (AccuseData, AvisPaiementData, DoublonDe, FichierRecu, FileReason, Paiement,
                      RecordResult, write_accuse, write_avis_paiement)
from portal.xmlsafe import FormatError

__all__ = [
    "FILE_ERROR_CODES",
    "FILE_STATUSES",
    "FLOWS",
    "INBOUND_FLOWS",
    "OUTBOUND_FLOWS",
    "RECORD_FIELDS",
    "SCHEMA_VERSION",
    "SEVERITIES",
    "AccuseData",
    "AvisPaiementData",
    "DoublonDe",
    "Envelope",
    "FichierRecu",
    "FileReason",
    "FormatError",
    "Paiement",
    "RecordColumns",
    "RecordResult",
    "ValidationReport",
    "check_envelope",
    "format_utc",
    "fresh_example",
    "iter_records",
    "namespace",
    "parse_utc",
    "read_envelope",
    "record_sequence",
    "schema_path",
    "stream",
    "validate_file",
    "write_accuse",
    "write_avis_paiement",
]
