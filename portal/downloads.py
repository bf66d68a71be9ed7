"""File downloads: the name a file is saved under, and the response that sends it.

- `display_name(raw)` cleans a name chosen by a user (an uploaded file's) once, at reception:
  what the pages and the API show, and what a download proposes.
- `attachment(body, mimetype=..., filename=...)` is every download's response: the name goes
  into `Content-Disposition` through werkzeug's header encoding (RFC 6266: a quoted ASCII
  `filename`, plus `filename*=UTF-8''…` percent-encoded per RFC 5987 when the name is not ASCII,
  as `send_file(download_name=...)` writes it), never by string concatenation; and
  `Cache-Control: no-store` (personal data: no copy in a browser or proxy cache).
"""
from __future__ import annotations

import unicodedata
from typing import Iterable
from urllib.parse import quote

from flask import Response

MAX_NAME = 255
# Refused by Windows in a file name (the agents' workstations); "/" and "\" separate paths.
_REPLACED = dict.fromkeys(map(ord, '"*:<>?|'), "_")


def display_name(raw: str | None, default: str = "fichier") -> str:
    """The last part of the path, composed (NFC), without control or format characters (CR/LF,
    NUL, right-to-left overrides, zero-width characters), the characters Windows refuses
    replaced by "_", no leading dot (no hidden file, no "..") nor trailing dot or space, at
    most 255 characters (extension kept); `default` if nothing is left."""
    name = unicodedata.normalize("NFC", raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    kept = []
    for char in name:
        category = unicodedata.category(char)
        if category.startswith("C"):
            continue
        kept.append(" " if category.startswith("Z") else char)
    name = "".join(kept).translate(_REPLACED).lstrip(". ").rstrip(". ")
    if len(name) > MAX_NAME:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and len(extension) <= 16:
            name = stem[:MAX_NAME - len(extension) - 1] + "." + extension
        else:
            name = name[:MAX_NAME]
    return name or default


def _ascii_fallback(name: str) -> str:
    """The name for clients without RFC 5987 (accents dropped, other letters lost)."""
    simple = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    stem, dot, extension = simple.rpartition(".")
    if dot and not display_name(stem, ""):  # nothing but the extension left ("报告.xml")
        return "fichier." + extension
    return display_name(simple, "fichier")


def attachment(body: bytes | str | Iterable[bytes], *, mimetype: str, filename: str,
               headers: dict | None = None) -> Response:
    """A download saved as `filename` (cleaned again: names stored before cleaning existed)."""
    name = display_name(filename)
    response = Response(body, mimetype=mimetype, headers=headers)
    response.headers["Cache-Control"] = "no-store"
    fallback = _ascii_fallback(name)
    names = {"filename": fallback}
    if fallback != name:
        names["filename*"] = "UTF-8''" + quote(name, safe="!#$&+-.^_`|~")  # RFC 5987 attr-char
    response.headers.set("Content-Disposition", "attachment", **names)
    return response
