"""Outgoing email: every message is written to the `outbox_messages` table (the source of
truth) and dropped as an RFC 5322 `.eml` file under OUTBOX_DIR, the local outbox of run mode.
No SMTP here: a relay, when there is one, reads the outbox."""
from __future__ import annotations

import secrets
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from flask import current_app

from .extensions import db
from .models import OutboxMessage, utcnow


def send_email(to: str, subject: str, body: str) -> OutboxMessage:
    """Queue an email in the caller's transaction and write its .eml copy."""
    message = OutboxMessage(to=to, subject=subject[:200], body=body, created_at=utcnow())
    db.session.add(message)
    db.session.flush()
    outbox = current_app.config.get("OUTBOX_DIR")
    if outbox:
        eml = EmailMessage()
        eml["From"] = current_app.config["MAIL_FROM"]
        eml["To"] = to
        eml["Subject"] = subject
        eml["Date"] = formatdate(localtime=False)
        eml["Message-ID"] = make_msgid(domain="extranet-partenaires.local")
        eml.set_content(body, charset="utf-8", cte="8bit")  # readable as-is in the outbox
        path = Path(outbox)
        path.mkdir(parents=True, exist_ok=True)
        (path / f"{message.created_at:%Y%m%dT%H%M%S}-{message.id:06d}-{secrets.token_hex(4)}.eml").write_bytes(bytes(eml))
        message.sent_at = utcnow()
    return message
