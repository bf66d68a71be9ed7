"""Safe, streaming XML parsing for files received from outside (hostile input): EDI landlords, the payment system's return files.

(One module of ~490 lines on purpose: it is the EDI's security gate. Every check that hostile
bytes meet before the schema and the business rules do — size, prolog, parser options, DOCTYPE,
sanitised messages, the streaming feed loop, the document's end — is reviewed in one place, and
they change together, with the lxml/libxml2 version.)

Every file goes through the same gate before any schema or business logic sees it:

1. **size limit** checked with ``os.stat`` *before* reading a byte (``FICHIER_TROP_VOLUMINEUX``),
   and again while feeding the parser (a file growing under us is cut off);
2. **prolog scan** of the first bytes: UTF-8 only (``ENCODAGE_NON_SUPPORTE``), and *any*
   ``<!DOCTYPE`` (or other ``<!`` markup declaration) is refused (``DOCTYPE_INTERDIT``): no DTD,
   so no entity of any kind, no XXE, no billion laughs;
3. the lxml (>= 6.1) parser itself is configured defensively: ``resolve_entities=False``,
   ``no_network=True``, ``load_dtd=False``, ``dtd_validation=False``, ``huge_tree=False``
   (libxml2's own limits: nesting depth 256, text node size), and a DOCTYPE that slipped through
   is refused again from the parsed document's ``docinfo``;
4. **depth**: our formats are 3 levels deep; anything deeper is a schema violation that libxml2
   reports as soon as it meets the unexpected element (the feed loop checks the error log after
   every chunk), and libxml2 stops any document at depth 256 (``PROFONDEUR_EXCESSIVE``);
5. parsing is **streamed**: the file is fed to an ``lxml.etree.XMLPullParser`` (the push-parser
   behind ``etree.iterparse``, here with ``schema=...`` for streaming XSD validation) in chunks
   of :data:`CHUNK_SIZE`; the caller clears each element once consumed, so memory stays flat;
6. **completeness** is established from the bytes, not from the parser alone: a validating push
   parser does not report a premature end on every lxml build (6.2 even reports an end event
   for the unclosed root when it is closed), so a document is complete only when the root's end
   tag was parsed while the bytes were fed *and* the last bytes read are that end tag followed
   by nothing but whitespace, comments and processing instructions (``document_end_error``).

Error messages never echo file content: libxml2 messages are reduced to names that appear in our
own schemas, any other quoted value is replaced by ``[valeur]``.
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

# Bytes fed to the parser at a time. Each feed builds the tree of its records before they are
# read: at 64 KB that tree (≈ 170 records) stays in the core's cache, at 256 KB it does not, and
# the pass took a quarter longer (100k-record bench file, median of 6 interleaved runs each).
CHUNK_SIZE = 64 * 1024
PROLOG_BYTES = 64 * 1024
DEFAULT_MAX_BYTES = 1024 * 1024 * 1024  # 1 GiB; the intake passes its own configured limit
MAX_MESSAGE_CHARS = 600

PARSER_OPTIONS = dict(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
    strip_cdata=True,
)


class FormatError(Exception):
    """A received file is not acceptable as XML or against its format.

    ``code`` is stable (see schemas/README.md, « Codes de rejet du fichier »), ``message`` is in
    French and never contains content of the file, ``line`` is the line number when known.
    """

    def __init__(self, code: str, message: str, line: int | None = None):
        super().__init__(f"{code}: {message}" + (f" (ligne {line})" if line else ""))
        self.code = code
        self.message = message
        self.line = line

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "line": self.line}


# --------------------------------------------------------------------------------------------
# Size and prolog
# --------------------------------------------------------------------------------------------

def check_size(path: str | os.PathLike, max_bytes: int = DEFAULT_MAX_BYTES) -> int:
    """Return the file size, or raise before anything is read."""
    try:
        size = os.stat(path).st_size
    except OSError:
        raise FormatError("FICHIER_ILLISIBLE", "Le fichier est introuvable ou illisible.") from None
    if size == 0:
        raise FormatError("FICHIER_VIDE", "Le fichier est vide.")
    if size > max_bytes:
        raise FormatError("FICHIER_TROP_VOLUMINEUX",
                          f"Le fichier dépasse la taille maximale autorisée ({max_bytes} octets).")
    return size


_ENCODING_RE = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._\-]+)["']""")


def check_prolog(head: bytes) -> None:
    """Scan what precedes the root element: XML declaration, comments, processing instructions.

    Refuses other encodings than UTF-8 and any ``<!DOCTYPE`` / ``<!ENTITY`` / ``<![CDATA[``
    before the root element. Raises FormatError; returns None when the prolog is acceptable.
    """
    if head.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00")) or \
            b"\x00" in head[:4]:
        raise FormatError("ENCODAGE_NON_SUPPORTE", "Le fichier doit être encodé en UTF-8.")
    pos = 3 if head.startswith(b"\xef\xbb\xbf") else 0
    n = len(head)
    while True:
        while pos < n and head[pos] in b" \t\r\n":
            pos += 1
        if pos >= n:
            if n < PROLOG_BYTES:
                raise FormatError("XML_MALFORME", "Le fichier ne contient pas d'élément XML racine.", 1)
            raise FormatError("XML_MALFORME",
                              "L'élément racine doit apparaître dans les 64 premiers Kio du fichier.")
        if head.startswith(b"<?", pos):
            end = head.find(b"?>", pos)
            if end < 0:
                raise FormatError("XML_MALFORME", "Déclaration XML ou instruction non terminée.", 1)
            decl = head[pos:end]
            if decl[2:5].lower() == b"xml" and decl[5:6] in (b" ", b"\t", b"\r", b"\n", b""):
                match = _ENCODING_RE.search(decl)
                if match and match.group(1).lower() not in (b"utf-8", b"utf8"):
                    raise FormatError("ENCODAGE_NON_SUPPORTE", "Le fichier doit être encodé en UTF-8.")
            pos = end + 2
        elif n < PROLOG_BYTES and b"<!--".startswith(head[pos:]):  # the whole file: "<!" or "<!-"
            raise FormatError("XML_MALFORME", "Document tronqué avant l'élément racine.", 1)
        elif head.startswith(b"<!--", pos):
            end = head.find(b"-->", pos + 4)
            if end < 0:
                raise FormatError("XML_MALFORME", "Commentaire non terminé avant l'élément racine.")
            pos = end + 3
        elif head.startswith(b"<!", pos):
            raise FormatError("DOCTYPE_INTERDIT",
                              "Les déclarations DOCTYPE (DTD, entités) sont interdites.",
                              head.count(b"\n", 0, pos) + 1)
        elif head.startswith(b"<", pos):
            return
        else:
            raise FormatError("XML_MALFORME", "Le fichier n'est pas un document XML.",
                              head.count(b"\n", 0, pos) + 1)


# --------------------------------------------------------------------------------------------
# Message sanitising
# --------------------------------------------------------------------------------------------

_QUOTED_RE = re.compile(r"'([^']*)'")
_SAFE_NAMES: set[str] = {  # XSD facet names libxml2 quotes in its messages
    "pattern", "enumeration", "length", "minLength", "maxLength", "minInclusive", "maxInclusive",
    "minExclusive", "maxExclusive", "totalDigits", "fractionDigits", "whiteSpace"}
_SAFE_NAMESPACES = ("urn:caf:extranet:edi:",)


def register_safe_names(names: Iterable[str]) -> None:
    """Names (elements, types) from our own schemas, allowed to appear in error messages."""
    _SAFE_NAMES.update(names)


def _safe_token(token: str) -> bool:
    if token.startswith("xs:"):
        return True
    if token.startswith("{"):
        ns, _, local = token[1:].partition("}")
        return ns.startswith(_SAFE_NAMESPACES) and local in _SAFE_NAMES
    return token in _SAFE_NAMES


def sanitize(message: str) -> str:
    """Keep libxml2's explanation, drop anything quoted that does not come from our schemas."""
    message = " ".join(message.split())

    def repl(match: re.Match) -> str:
        return match.group(0) if _safe_token(match.group(1)) else "'[valeur]'"

    message = _QUOTED_RE.sub(repl, message)
    # Duplicate key-sequence ['...'] and other bracketed values are already quoted; remaining
    # unknown namespaces in "Expected is ( ... )" lists come from our schema.
    message = re.sub(r"\{(?!urn:caf:extranet:edi:)[^}]*[:/][^}]*\}(?=[A-Za-z_])", "{…}", message)
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[:MAX_MESSAGE_CHARS] + "…"
    return message


def _after(fallback_line: int | None) -> str:
    """Where an error without a line of its own lies: after the last element read. libxml2's
    streaming validator gives no line, and that element may be a whole parser chunk before the
    fault: stated as a line, it would point at a valid record."""
    return f" (après la ligne {fallback_line})" if fallback_line else ""


def _error_from_log_entry(entry, fallback_line: int | None = None) -> FormatError:
    domain = getattr(entry, "domain_name", "") or ""
    type_name = getattr(entry, "type_name", "") or ""
    line = entry.line or None
    after = "" if line else _after(fallback_line)
    if "Excessive depth" in entry.message or type_name == "ERR_RESOURCE_LIMIT":
        return FormatError("PROFONDEUR_EXCESSIVE",
                           "Imbrication d'éléments trop profonde" + after + ".", line)
    if domain.startswith("SCHEMAS") or type_name.startswith("SCHEMAV"):
        return FormatError("NON_CONFORME_SCHEMA",
                           "Non conforme au schéma : " + sanitize(entry.message) + after, line)
    if "Entity" in entry.message or "entity" in entry.message or type_name.startswith("ERR_UNDECLARED_ENTITY"):
        return FormatError("ENTITE_INTERDITE", "Les entités XML sont interdites" + after + ".", line)
    # Well-formedness messages quote tag names without quotes: never echo them, describe instead.
    reason = _WELLFORMEDNESS_REASONS.get(type_name, "syntaxe XML invalide")
    column = getattr(entry, "column", 0)
    where = f" (colonne {column})" if column and line else after
    return FormatError("XML_MALFORME", f"XML mal formé : {reason}{where}.", line)


_WELLFORMEDNESS_REASONS = {
    "ERR_TAG_NAME_MISMATCH": "balise fermante différente de la balise ouverte",
    "ERR_TAG_NOT_FINISHED": "document tronqué (élément non fermé)",
    "ERR_DOCUMENT_END": "contenu après la fin de l'élément racine",
    "ERR_DOCUMENT_EMPTY": "document vide",
    "ERR_DOCUMENT_START": "le document ne commence pas par un élément XML",
    "ERR_INVALID_CHAR": "caractère interdit en XML",
    "ERR_INVALID_ENCODING": "octets qui ne sont pas de l'UTF-8 valide",
    "ERR_INVALID_CHARREF": "référence de caractère invalide",
    "ERR_LT_IN_ATTRIBUTE": "caractère < dans un attribut",
    "ERR_ATTRIBUTE_REDEFINED": "attribut répété",
    "ERR_GT_REQUIRED": "balise mal fermée (> attendu)",
    "ERR_NAME_REQUIRED": "nom d'élément attendu",
    "ERR_SPACE_REQUIRED": "espace attendu",
    "ERR_LTSLASH_REQUIRED": "balise fermante attendue",
    "ERR_RESERVED_XML_NAME": "déclaration XML mal placée",
    "ERR_UNDECLARED_ENTITY": "entité non déclarée",
    "NS_ERR_UNDEFINED_NAMESPACE": "préfixe d'espace de noms non déclaré",
}


def error_from_lxml(exc: etree.Error, fallback_line: int | None = None, parser=None) -> FormatError:
    """Map an lxml error to a FormatError; ``parser``'s own log is preferred (the exception's
    log may hold earlier errors of the same thread)."""
    log = parser.feed_error_log if parser is not None else getattr(exc, "error_log", None)
    entries = [e for e in (log or []) if e.level_name == "FATAL"] or \
        [e for e in (log or []) if e.level_name == "ERROR"]  # well-formedness first
    if entries:
        return _error_from_log_entry(entries[0], fallback_line)
    text = str(exc)
    if "Excessive depth" in text:
        return FormatError("PROFONDEUR_EXCESSIVE", f"Imbrication d'éléments trop profonde{_after(fallback_line)}.")
    return FormatError("XML_MALFORME", f"XML mal formé : syntaxe XML invalide{_after(fallback_line)}.")


# --------------------------------------------------------------------------------------------
# Completeness of a document, from its last bytes
# --------------------------------------------------------------------------------------------

# How many trailing bytes are kept to check the end of a document: the root's end tag plus
# what XML allows after it (whitespace, comments, PIs). A longer epilogue is refused.
TAIL_BYTES = 4096
_TRAILING_SPACE = b" \t\r\n"
_NAME = rb"(?:([A-Za-z_][A-Za-z0-9._-]*):)?([A-Za-z_][A-Za-z0-9._-]*)"
_END_TAG = re.compile(rb"</" + _NAME + rb"[ \t\r\n]*>\Z")
_EMPTY_TAG = re.compile(rb"<" + _NAME + rb"(?:[ \t\r\n][^<>]*)?/>\Z")  # an empty root: <Loyers/>


def document_end_error(tail: bytes, root_local: str, prefix: str | None = None) -> str | None:
    """Why ``tail`` (the last bytes of a document) does not end the document whose root element
    is named ``root_local`` (with ``prefix``, when known), or None when it does.

    Pure byte check, independent of the parser build: after the root's end tag XML allows only
    whitespace, comments and processing instructions (the ``Misc`` production)."""
    end = len(tail)
    while True:
        while end and tail[end - 1] in _TRAILING_SPACE:
            end -= 1
        if tail.endswith(b"-->", 0, end):
            start = tail.rfind(b"<!--", 0, end - 3)
            if start < 0 or b"--" in tail[start + 4:end - 3]:
                return "commentaire final incomplet"
            end = start
        elif tail.endswith(b"?>", 0, end):
            start = tail.rfind(b"<?", 0, end - 2)
            if start < 0:
                return "instruction de traitement finale incomplète"
            end = start
        else:
            break
    start = tail.rfind(b"<", 0, end)
    tag = _EMPTY_TAG if tail.endswith(b"/>", 0, end) else _END_TAG
    match = tag.match(tail, start, end) if start >= 0 else None
    if match is None or match.group(2) != root_local.encode():
        return "l'élément racine n'est pas fermé"
    if prefix is not None and (match.group(1) or b"").decode() != prefix:
        return "l'élément racine n'est pas fermé"
    return None


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def check_document_end(path: str | os.PathLike, root: str) -> None:
    """Refuse at once (``XML_MALFORME``) a file whose last bytes do not close the root element
    ``root`` (qualified tag): a truncated upload fails before any of it is read or applied."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        fh.seek(max(0, size - TAIL_BYTES))
        tail = fh.read(TAIL_BYTES)
    reason = document_end_error(tail, _local(root))
    if reason:
        raise FormatError("XML_MALFORME", f"Document tronqué : {reason}.")


# --------------------------------------------------------------------------------------------
# Streaming
# --------------------------------------------------------------------------------------------

@dataclass
class StreamState:
    bytes_read: int = 0
    last_element: object = None  # the last element yielded; its line is read only on error

    @property
    def last_line(self) -> int | None:
        return self.last_element.sourceline if self.last_element is not None else None


def _refuse_doctype(element) -> None:
    docinfo = element.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise FormatError("DOCTYPE_INTERDIT", "Les déclarations DOCTYPE (DTD, entités) sont interdites.")


def root_tag(path: str | os.PathLike, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """Qualified tag of the root element (``{namespace}Local``), read from the first bytes only."""
    check_size(path, max_bytes)
    with open(path, "rb") as fh:
        head = fh.read(PROLOG_BYTES)
    check_prolog(head)
    parser = etree.XMLPullParser(events=("start",), **PARSER_OPTIONS)
    try:
        parser.feed(head)
        for _event, element in parser.read_events():
            _refuse_doctype(element)
            return element.tag
    except etree.XMLSyntaxError as exc:
        raise error_from_lxml(exc, parser=parser) from None
    raise FormatError("XML_MALFORME", "Élément racine introuvable dans le début du fichier.")


def stream_elements(path: str | os.PathLike, tags: tuple[str, ...], schema: etree.XMLSchema | None,
                    max_bytes: int = DEFAULT_MAX_BYTES, state: StreamState | None = None,
                    root: str | None = None) -> Iterator[etree._Element]:
    """Yield each element whose tag is in ``tags`` when it ends: ``stream_element_batches``
    one element at a time (same arguments, same contract)."""
    for batch in stream_element_batches(path, tags, schema, max_bytes, state, root):
        yield from batch


def stream_element_batches(path: str | os.PathLike, tags: tuple[str, ...],
                           schema: etree.XMLSchema | None, max_bytes: int = DEFAULT_MAX_BYTES,
                           state: StreamState | None = None,
                           root: str | None = None) -> Iterator[list[etree._Element]]:
    """Yield, for each chunk of the file fed to the parser, the list of elements whose tag is
    in ``tags`` that ended in it (document order, never empty), validating against ``schema``
    as the bytes go by. The caller must release what it consumed (see ``release_consumed``).
    A whole chunk at a time lets a reader extract many elements with one call into libxml2.

    ``root``: qualified tag of the root element; the document must end with its closing tag,
    parsed from the bytes fed (not merely reported when the parser is closed: lxml 6.2 reports
    the end of every open element then) and found again in the last bytes consumed
    (``document_end_error``): a validating push parser does not complain about a truncated
    document by itself.

    Errors found by the validator are raised as soon as the chunk containing them has been fed
    (checked through the parser's error log); some libxml2 schema errors are only reported when
    the document ends, so **a caller must not commit anything before this generator is exhausted
    without raising**.
    """
    state = state or StreamState()
    check_size(path, max_bytes)
    # Whitespace-only text between elements (the indentation of a file) is not kept: libxml2
    # then neither builds nor frees a node for it (about 7 % of the parse, callgrind). Text
    # inside a leaf element is kept, blank or not, so what is validated and read is unchanged.
    options = dict(PARSER_OPTIONS, remove_blank_text=True)
    if schema is not None:
        options["schema"] = schema
    parser = etree.XMLPullParser(events=("end",), tag=tags + ((root,) if root else ()), **options)
    first = True
    root_closed = False  # the root's end tag was parsed while feeding the bytes
    feeding = True
    tail = b""  # the last bytes consumed, to check the document's end from the bytes
    root_element = None  # known from the first element's parent; then an identity test

    def is_root(element) -> bool:
        nonlocal root_element
        if root_element is None:
            parent = element.getparent()
            if parent is not None:
                if parent.getparent() is None:  # the document element
                    root_element = parent
                return False
        elif element is not root_element:
            return False
        return element.tag == root and element.getparent() is None

    def ended() -> list:
        """The elements that ended in the chunk just fed, the root left out (it ends last)."""
        nonlocal root_closed
        batch = [element for _event, element in parser.read_events()]
        if batch and root is not None and is_root(batch[-1]):
            root_closed = root_closed or feeding
            batch.pop()
        if batch:
            state.last_element = batch[-1]
        return batch

    with open(path, "rb") as fh:
        head = fh.read(PROLOG_BYTES)
        check_prolog(head)
        chunk = head
        while True:
            if not chunk:
                break
            state.bytes_read += len(chunk)
            if state.bytes_read > max_bytes:
                raise FormatError("FICHIER_TROP_VOLUMINEUX",
                                  f"Le fichier dépasse la taille maximale autorisée ({max_bytes} octets).")
            tail = (tail + chunk)[-TAIL_BYTES:] if root is not None else tail
            try:
                parser.feed(chunk)
            except etree.XMLSyntaxError as exc:
                raise error_from_lxml(exc, state.last_line, parser) from None
            _raise_logged(parser, state)
            batch = ended()
            if batch:
                if first:
                    _refuse_doctype(batch[0])
                    first = False
                yield batch
            chunk = fh.read(CHUNK_SIZE)
    feeding = False
    try:
        parser.close()
    except etree.XMLSyntaxError as exc:
        raise error_from_lxml(exc, state.last_line, parser) from None
    _raise_logged(parser, state)
    if root is not None:
        reason = ("l'élément racine n'est pas fermé" if not root_closed
                  else document_end_error(tail, _local(root),
                                          root_element.prefix if root_element is not None else None))
        if reason:
            raise FormatError("XML_MALFORME", f"Document tronqué : {reason}{_after(state.last_line)}.")
    batch = ended()
    if batch:
        yield batch


def _raise_logged(parser, state: StreamState) -> None:
    log = parser.feed_error_log
    if len(log):
        for entry in log:
            if entry.level_name in ("ERROR", "FATAL"):
                raise _error_from_log_entry(entry, state.last_line)


RELEASE_EVERY = 256


def release_consumed(element) -> None:
    """Unlink the previous siblings of `element` (the envelope and records already consumed
    under the root) from their parent by one slice deletion in C: libxml2 frees them with
    their children. Streaming readers call it every RELEASE_EVERY elements, for flat memory
    (at most that many consumed elements wait) without a call per element."""
    parent = element.getparent()
    if parent is not None:
        index = parent.index(element)
        if index:
            del parent[:index]


def load_schema(path: Path, strip_identity_constraints: bool = False) -> etree.XMLSchema:
    """Compile a local XSD (includes resolved from the same folder, never the network).

    ``strip_identity_constraints`` drops ``xs:unique``/``xs:key``: libxml2 keeps every key of an
    identity constraint in memory (≈ 350 MB and twice the time for 1 M records), so the streaming
    reader enforces record-id uniqueness itself (see ``edi.formats``)."""
    parser = etree.XMLParser(**PARSER_OPTIONS)
    doc = etree.parse(str(path), parser)
    if strip_identity_constraints:
        xs = "{http://www.w3.org/2001/XMLSchema}"
        for node in list(doc.iter(xs + "unique", xs + "key", xs + "keyref")):
            node.getparent().remove(node)
    return etree.XMLSchema(doc)
