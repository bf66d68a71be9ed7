"""Immutable, content-addressed storage for EDI bytes (received files, signatures, ACCUSE,
AVIS_PAIEMENT) under STORAGE_DIR/edi/<aa>/<bb>/<sha256>.

Write-once: bytes are streamed to a temporary file in the same directory while hashed, fsynced,
then linked into place with `os.link` (which never overwrites); an object that already exists
is kept as is (same name = same bytes). Stored objects are read-only (0o444).
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

from flask import current_app

CHUNK = 1024 * 1024


class TooLarge(Exception):
    """The stream exceeded the allowed size (the partial copy is discarded)."""


@dataclass(frozen=True)
class Stored:
    sha256: str
    size: int
    path: Path


def root() -> Path:
    base = Path(current_app.config["STORAGE_DIR"]) / "edi"
    base.mkdir(parents=True, exist_ok=True)
    return base


def path_for(sha256: str, base: Path | None = None) -> Path:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError("empreinte SHA-256 invalide")
    base = base or root()
    return base / sha256[:2] / sha256[2:4] / sha256


def store_stream(stream: BinaryIO, *, max_bytes: int | None = None, base: Path | None = None) -> Stored:
    """Copy `stream` into storage in chunks, hashing on the way; returns its address."""
    base = base or root()
    tmp_dir = base / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="in-")
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
        final = path_for(sha, base)
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(tmp_name, final)
            os.chmod(final, 0o444)
        except FileExistsError:
            pass  # same address = same content: keep the first copy untouched
        return Stored(sha, size, final)
    finally:
        os.unlink(tmp_name)


def store_bytes(data: bytes, *, base: Path | None = None) -> Stored:
    import io
    return store_stream(io.BytesIO(data), base=base)


def read_bytes(sha256: str) -> bytes:
    return path_for(sha256).read_bytes()


def exists(sha256: str) -> bool:
    return path_for(sha256).exists()


def iter_chunks(sha256: str) -> Iterator[bytes]:
    """Chunks of a stored object; the path is resolved now (usable in a streamed response)."""
    return _chunks(path_for(sha256))


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while True:
            chunk = fh.read(CHUNK)
            if not chunk:
                return
            yield chunk


def verify(sha256: str) -> bool:
    """Re-hash a stored object (integrity check)."""
    digest = hashlib.sha256()
    for chunk in iter_chunks(sha256):
        digest.update(chunk)
    return digest.hexdigest() == sha256
