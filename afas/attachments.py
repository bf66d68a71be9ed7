"""Attachments of the declaration thread's messages: the Caf asks for documents, the partner
answers with PDF, images or spreadsheets. Each file is checked (count, size, type by its first
bytes, ``portal.filetypes``) before anything is written, then kept once in the shell's
content-addressed store (``portal.storage``, area "afas") and described by a row here.
Who may download one: the declaration's organisation and the Caf (``afas.views``)."""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from sqlalchemy import BigInteger, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from portal import filetypes, storage
from portal.downloads import display_name
from portal.extensions import db
from portal.formatting import nombre
from portal.models import utcnow

from .models import DeclarationMessage

MAX_FILES = 5
MAX_BYTES = 10 * 1024 * 1024
AREA = "afas"


class MessageAttachment(db.Model):
    __tablename__ = "afas_message_attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("afas_messages.id"), index=True)
    declaration_id: Mapped[int] = mapped_column(ForeignKey("afas_declarations.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    mimetype: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    message: Mapped[DeclarationMessage] = relationship(
        backref=backref("attachments", order_by="MessageAttachment.id"))

    @property
    def type_label(self) -> str:
        return next((t.label for t in filetypes.TYPES.values() if t.mimetype == self.mimetype), "fichier")

    @property
    def size_label(self) -> str:
        if self.size < 1024 * 1024:
            return f"{nombre(max(self.size, 1) / 1024, 0)} Ko"
        return f"{nombre(self.size / (1024 * 1024), 1)} Mo"


@dataclass(frozen=True)
class Checked:
    filename: str
    data: bytes
    type: filetypes.FileType


def check(files: list[tuple[str, BinaryIO]]) -> list[Checked]:
    """The files to attach, read and checked: ``filetypes.Refused`` with a French reason for the
    first one refused (too many, empty, too large, type not accepted or contradicting its name)."""
    if len(files) > MAX_FILES:
        raise filetypes.Refused(f"{MAX_FILES} pièces jointes au plus par message ({len(files)} choisies).")
    checked = []
    for raw_name, stream in files:
        name = display_name(raw_name)
        data = stream.read(MAX_BYTES + 1)
        if not data:
            raise filetypes.Refused(f"« {name} » est vide.")
        if len(data) > MAX_BYTES:
            raise filetypes.Refused(f"« {name} » dépasse {MAX_BYTES // (1024 * 1024)} Mo.")
        checked.append(Checked(name, data, filetypes.identify(name, data)))
    return checked


def attach(msg: DeclarationMessage, files: list[Checked]) -> list[MessageAttachment]:
    """Store the checked files (write-once, by content) and attach them to ``msg``."""
    rows = []
    store = storage.store(AREA)
    for f in files:
        stored = store.put(io.BytesIO(f.data))
        row = MessageAttachment(message_id=msg.id, declaration_id=msg.declaration_id, filename=f.filename,
                                mimetype=f.type.mimetype, size=stored.size, sha256=stored.sha256,
                                created_at=utcnow())
        db.session.add(row)
        rows.append(row)
    db.session.flush()
    return rows
