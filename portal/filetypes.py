"""What an uploaded file really is: its first bytes (the « magic number »), checked against its
extension, for the documents people exchange with the Caf — PDF, images, spreadsheets. Pure:
bytes and a name in, a verdict out.

An extension that says one thing over bytes that say another (a renamed executable, a « .pdf »
that is an HTML page) is refused. Office Open XML and OpenDocument spreadsheets are ZIP
archives: the archive must hold the part that names a spreadsheet (``xl/workbook.xml``; the
``mimetype`` entry of an ODS). A CSV is text: UTF-8 (or Windows-1252) without NUL byte.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass


@dataclass(frozen=True)
class FileType:
    extension: str
    mimetype: str
    label: str


TYPES = {
    "pdf": FileType("pdf", "application/pdf", "PDF"),
    "png": FileType("png", "image/png", "image PNG"),
    "jpg": FileType("jpg", "image/jpeg", "image JPEG"),
    "jpeg": FileType("jpeg", "image/jpeg", "image JPEG"),
    "xlsx": FileType("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "tableur Excel"),
    "ods": FileType("ods", "application/vnd.oasis.opendocument.spreadsheet", "tableur OpenDocument"),
    "csv": FileType("csv", "text/csv", "tableau CSV"),
}
ACCEPT = ",".join(f".{ext}" for ext in TYPES)  # the file input's `accept`
ALLOWED_LABEL = "PDF, PNG, JPEG, XLSX, ODS ou CSV"
SNIFF_BYTES = 8192


class Refused(ValueError):
    """The file is not one of the accepted types, or its content contradicts its name."""


def _is_zip_spreadsheet(data: bytes, extension: str) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if extension == "xlsx":
                return "xl/workbook.xml" in names and "[Content_Types].xml" in names
            return "mimetype" in names and archive.read("mimetype").strip() == TYPES["ods"].mimetype.encode()
    except (zipfile.BadZipFile, KeyError, OSError, RuntimeError):
        return False


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    for encoding in ("utf-8", "cp1252"):
        try:
            head.decode(encoding)
            return True
        except UnicodeDecodeError as exc:
            if encoding == "utf-8" and exc.start >= len(head) - 3:  # a character cut by the sniff window
                return True
    return False


def identify(filename: str, data: bytes) -> FileType:
    """The type of ``data`` uploaded as ``filename``, or :class:`Refused` with a French reason.
    ``data``: the whole file (spreadsheets are opened as archives)."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    kind = TYPES.get(extension)
    if kind is None:
        raise Refused(f"« {filename} » : type de fichier non accepté (formats acceptés : {ALLOWED_LABEL}).")
    head = data[:SNIFF_BYTES]
    ok = {
        "pdf": head.startswith(b"%PDF-"),
        "png": head.startswith(b"\x89PNG\r\n\x1a\n"),
        "jpg": head.startswith(b"\xff\xd8\xff"),
        "jpeg": head.startswith(b"\xff\xd8\xff"),
        "xlsx": head.startswith(b"PK\x03\x04") and _is_zip_spreadsheet(data, "xlsx"),
        "ods": head.startswith(b"PK\x03\x04") and _is_zip_spreadsheet(data, "ods"),
        "csv": bool(head) and _is_text(head),
    }[kind.extension]
    if not ok:
        raise Refused(f"« {filename} » n'est pas un fichier {kind.label} valide : son contenu ne "
                      "correspond pas à son extension.")
    return kind
