"""Demo data: the history the domains' demo steps publish (validations and payments of past
years) is old news. Of what a seeding run published, only each user's latest few stay unread
(the bell shows a handful, not dozens) and nothing waits for a digest."""
from __future__ import annotations

from sqlalchemy import func, select

from ..extensions import db
from ..models import utcnow
from .models import Notification

KEPT_UNREAD = 3


def last_id() -> int:
    return db.session.scalar(select(func.max(Notification.id))) or 0


def settle(after_id: int) -> int:
    """Read and emailed: the notifications published since ``after_id`` but each user's latest
    KEPT_UNREAD. Returns how many were settled."""
    now = utcnow()
    notes = db.session.scalars(select(Notification).where(Notification.id > after_id)
                               .order_by(Notification.user_id, Notification.id.desc())).all()
    seen: dict[int, int] = {}
    settled = 0
    for note in notes:
        seen[note.user_id] = seen.get(note.user_id, 0) + 1
        note.emailed_at = note.emailed_at or now
        if seen[note.user_id] > KEPT_UNREAD and note.read_at is None:
            note.read_at = now
            settled += 1
    db.session.flush()
    return settled
