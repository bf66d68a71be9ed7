"""The envelope common to every flow: read from an inbound file (alone, without reading the
rest), checked against the rules that need no database (creation-time window), and set afresh
in the shipped examples."""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lxml import etree

from .flows import FLOWS, SCHEMA_VERSION, compiled_schema, flow_of, namespace
from portal.xmlsafe import DEFAULT_MAX_BYTES, FormatError, stream_elements

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


def envelope_from_element(element, flow: str, ns: str) -> Envelope:
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


def read_envelope(path: str | os.PathLike, flow: str | None = None,
                  max_bytes: int = DEFAULT_MAX_BYTES) -> Envelope:
    """Read the envelope only (streaming, stops right after it). Envelope content is checked by
    the XSD; the rest of the file is not read, so the file may still prove invalid later."""
    flow, ns = flow_of(path, flow, max_bytes)
    elements = stream_elements(path, (f"{{{ns}}}Enveloppe",), compiled_schema(flow), max_bytes)
    try:
        for element in elements:
            return envelope_from_element(element, flow, ns)
    finally:
        elements.close()
    raise FormatError("NON_CONFORME_SCHEMA", "Enveloppe absente.", None)


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
