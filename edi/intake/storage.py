"""EDI bytes (received files, signatures, ACCUSE, AVIS_PAIEMENT) in the content-addressed
store of the shell (`portal.storage`, area "edi": STORAGE_DIR/edi/<aa>/<bb>/<sha256>), and the
helpers the EDI code uses on it. ``app.extensions["edi.storage"]`` may hold another store.
"""
from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from flask import current_app

from portal.storage import (CHUNK, LocalDirectory, ObjectStore, Stored, TooLarge,  # noqa: F401 (re-exported)
                            checked as _checked, chunks as _store_chunks, store)

EXTENSION = "edi.storage"


def current() -> ObjectStore:
    """The store of the current app: ``app.extensions["edi.storage"]``, by default a
    LocalDirectory at STORAGE_DIR/edi."""
    return store("edi")


# ------------------------------------------------------------------ helpers (on `current()`)

def store_stream(stream: BinaryIO, *, max_bytes: int | None = None) -> Stored:
    return current().put(stream, max_bytes=max_bytes)


def store_bytes(data: bytes) -> Stored:
    return current().put(io.BytesIO(data))


def store_written(write: Callable[[BinaryIO], None], prefix: str) -> Stored:
    """Store what `write(out)` writes to a binary file (an outbound file built as a stream): a
    scratch file first, on the storage volume (STORAGE_DIR/edi/tmp: an outbound file may be
    large), then put like any stream."""
    scratch = Path(current_app.config["STORAGE_DIR"]) / "edi" / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=scratch, prefix=prefix)
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
        with open(tmp_name, "rb") as fh:
            return store_stream(fh)
    finally:
        os.unlink(tmp_name)


def read_bytes(sha256: str) -> bytes:
    with current().open(sha256) as fh:
        return fh.read()


def exists(sha256: str) -> bool:
    return current().exists(sha256)


def local_path(sha256: str) -> Path:
    return current().local_path(sha256)


def iter_chunks(sha256: str) -> Iterator[bytes]:
    """Chunks of a stored object; the store is resolved now (usable in a streamed response,
    read after the request's app context)."""
    return _chunks(current(), _checked(sha256))


def _chunks(store_: ObjectStore, sha256: str) -> Iterator[bytes]:
    return _store_chunks(store_, sha256)
