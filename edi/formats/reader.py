"""The streaming reader of inbound files: one pass with XSD validation, yielding the envelope
then the records (dicts, or with ``columns=True`` blocks of `RecordColumns`); and the offline
validation of a whole file (``portal edi validate``)."""
from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import repeat

from .columns import Layouts, RecordColumns, positional, read_columns
from .envelope import Envelope, check_envelope, envelope_from_element
from .flows import FLOWS, RECORD_FIELDS, compiled_schema, flow_of, record_sequence
from portal.formatting import accord
from portal.xmlsafe import (DEFAULT_MAX_BYTES, RELEASE_EVERY, FormatError, StreamState, release_consumed,
                      stream_element_batches)

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
    flow, ns = flow_of(path, flow, max_bytes)
    spec = FLOWS[flow]
    record_tag = f"{{{ns}}}{spec.record}"
    envelope_tag = f"{{{ns}}}Enveloppe"
    id_tag = f"{{{ns}}}Identifiant"
    fields = {f"{{{ns}}}{name}": conv for name, conv in RECORD_FIELDS[flow].items()}
    empty = {key: None for key, _conv in RECORD_FIELDS[flow].values()}
    # Fast path: a validated record with every element of its sequence has them in XSD order,
    # so its values are read by position, without building each child's tag.
    sequence = record_sequence(flow) if validate else ()
    by_position = [positional(RECORD_FIELDS[flow].get(name)) for name in sequence[1:]]
    full = (len(sequence) if sequence and sequence[0] == "Identifiant" and None not in by_position
            else -1)
    # Faster still, a whole chunk of records with the same elements at a time (read_columns).
    layouts = Layouts(flow, ns, sequence) if sequence and sequence[0] == "Identifiant" else None
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

    for batch in stream_element_batches(path, (envelope_tag, record_tag), compiled_schema(flow) if validate else None,
                                        max_bytes, state, root=root):
        # After the envelope of a validated file, the tag filter leaves only records: the
        # batch is read at once, or record by record when it is not a run of full records.
        if envelope is not None and validate:
            release_consumed(batch[0])
            if not extract:
                count += len(batch)
                yield from repeat(None, len(batch))
                continue
            block = read_columns(batch, layouts.of(batch[0])) if layouts else None
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
                envelope = envelope_from_element(element, flow, ns)
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
                          f"L'enveloppe annonce {accord(envelope.record_count, 'enregistrement')}, "
                          f"le fichier en contient {count}.")


def iter_records(path: str | os.PathLike, flow: str | None = None, *,
                 max_bytes: int = DEFAULT_MAX_BYTES, unique_ids: bool = True) -> Iterator[dict]:
    """Records only (the envelope is read and checked but not yielded). Same contract as ``stream``."""
    for item in stream(path, flow, max_bytes=max_bytes, unique_ids=unique_ids):
        if not isinstance(item, Envelope):
            yield item


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
