"""Immutable, content-addressed storage of bytes (EDI files and their signatures, ACCUSE and
AVIS_PAIEMENT, AFAS message attachments), behind one small interface: `ObjectStore` — put,
open, exists by SHA-256 (and a local file for the readers that need one).

The default implementation, `LocalDirectory`, keeps each object under
STORAGE_DIR/<area>/<aa>/<bb>/<sha256>, one area per domain (`store("edi")`, `store("afas")`).
With several hosts, STORAGE_DIR is a shared volume mounted at the same path on every web and
worker host: docs/deploiement-multi-hotes.md. Another implementation of an area may be installed
in ``app.extensions["<area>.storage"]``.

Write-once: bytes are streamed to a temporary file in the same directory while hashed, fsynced,
then linked into place with `os.link` (which never overwrites); an object that already exists
is kept as is (same name = same bytes). Stored objects are read-only (0o444).
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import current_app

CHUNK = 1024 * 1024
class TooLarge(Exception):
    """The stream exceeded the allowed size (the partial copy is discarded)."""


@dataclass(frozen=True)
class Stored:
    sha256: str
    size: int


class ObjectStore(Protocol):
    """Write-once bytes addressed by their SHA-256."""

    def put(self, stream: BinaryIO, *, max_bytes: int | None = None) -> Stored:
        """Copy `stream` in, hashing on the way (TooLarge past `max_bytes`); the same bytes put
        twice are kept once."""

    def open(self, sha256: str) -> BinaryIO:
        """The object's bytes (FileNotFoundError when there is none)."""

    def exists(self, sha256: str) -> bool: ...

    def local_path(self, sha256: str) -> Path:
        """A local file holding the object's bytes, for the readers that need a file (lxml's
        streaming validation sizes, opens and seeks it)."""


def checked(sha256: str) -> str:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError("empreinte SHA-256 invalide")
    return sha256


class LocalDirectory:
    """A directory (local, or a shared volume mounted at the same path on every host): each
    object at <root>/<aa>/<bb>/<sha256>, its temporary files in <root>/tmp, on the same file
    system (the final link is atomic)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.scratch = self.root / "tmp"

    def local_path(self, sha256: str) -> Path:
        sha256 = checked(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def open(self, sha256: str) -> BinaryIO:
        return self.local_path(sha256).open("rb")

    def exists(self, sha256: str) -> bool:
        return self.local_path(sha256).exists()

    def put(self, stream: BinaryIO, *, max_bytes: int | None = None) -> Stored:
        self.scratch.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=self.scratch, prefix="in-")
        try:
            with os.fdopen(fd, "wb") as out:
                while True:
                    chunk = stream.read(CHUNK)
                    if not chunk:
                        break
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise TooLarge(f"plus de {max_bytes} octets")
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            final = self.local_path(sha)
            final.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(tmp_name, final)
                os.chmod(final, 0o444)
            except FileExistsError:
                pass  # same address = same content: keep the first copy untouched
            return Stored(sha, size)
        finally:
            os.unlink(tmp_name)


def store(area: str) -> ObjectStore:
    """The current app's store of `area`: ``app.extensions["<area>.storage"]``, by default a
    LocalDirectory at STORAGE_DIR/<area>."""
    extensions = current_app.extensions
    key = f"{area}.storage"
    found = extensions.get(key)
    if found is None:
        found = extensions[key] = LocalDirectory(Path(current_app.config["STORAGE_DIR"]) / area)
    return found


def chunks(store_: ObjectStore, sha256: str, size: int = CHUNK) -> Iterator[bytes]:
    """The object's chunks, from a store resolved by the caller (usable in a streamed response,
    read after the request's app context)."""
    sha256 = checked(sha256)

    def read() -> Iterator[bytes]:
        with store_.open(sha256) as fh:
            while True:
                chunk = fh.read(size)
                if not chunk:
                    return
                yield chunk
    return read()
