"""Publishing, reading and choosing how to hear: the notification state changes (the caller
commits). ``publish`` is the one function the domains call."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app, g, has_app_context
from sqlalchemy import func, select, update

from .. import registry
from ..audit import record_event
from ..extensions import db
from ..formatting import date_heure
from ..mail import send_email
from ..models import User, utcnow
from .models import Notification, NotificationPreference

CHANNELS = {
    "immediat": "Courriel immédiat",
    "quotidien": "Résumé quotidien par courriel",
    "portail": "Dans le portail seulement",
}
PARIS = ZoneInfo("Europe/Paris")
SIGNATURE = "\n— Extranet Partenaires de la Caf\n"


def path_for(endpoint: str, **values) -> str:
    """The path of a portal page, also outside a request (beat tasks, workers)."""
    return current_app.url_map.bind("localhost").build(endpoint, values)


def kinds_for(user) -> list[registry.NotificationKind]:
    """The kinds this user may receive (their preferences page), in display order."""
    kinds = registry.current().notification_kinds.values()
    return sorted((k for k in kinds if k.audience(user)), key=lambda k: (k.order, k.label))


def channel_for(user, kind: str) -> str:
    chosen = db.session.scalar(select(NotificationPreference.channel).where(
        NotificationPreference.user_id == user.id, NotificationPreference.kind == kind))
    return chosen or registry.current().notification_kinds[kind].default_channel


def _link(url: str | None) -> str:
    return f"\n{current_app.config.get('PUBLIC_BASE_URL', '').rstrip('/')}{url}\n" if url else "\n"


def publish(kind: str, users: Iterable[User], *, title: str, body: str = "", url: str | None = None,
            actor=None) -> list[Notification]:
    """Tell ``users`` (each once; disabled accounts and the ``actor`` who caused it skipped)
    about something of ``kind`` (a registered ``NotificationKind``): a notification each, and
    the email at once for those who chose it. ``url``: the page it concerns (a path)."""
    if kind not in registry.current().notification_kinds:
        raise ValueError(f"type de notification non déclaré : {kind}")
    if url is not None and not url.startswith("/"):
        raise ValueError("l'adresse d'une notification est un chemin du portail")
    now = utcnow()
    created, seen = [], set()
    for user in users:
        if user.id in seen or user.disabled_at is not None or (actor is not None and user.id == actor.id):
            continue
        seen.add(user.id)
        channel = channel_for(user, kind)
        note = Notification(user_id=user.id, kind=kind, title=title[:200], body=body, url=url,
                            channel=channel, created_at=now)
        if channel == "immediat":
            send_email(user.email, f"Extranet Partenaires — {title}",
                       f"Bonjour {user.prenom},\n\n{body}\n{_link(url)}{SIGNATURE}")
            note.emailed_at = now
        db.session.add(note)
        created.append(note)
    _forget_bell_count()
    db.session.flush()
    return created


def unread_count(user) -> int:
    return db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def unread_count_of(user_id_column):
    """The unread count as a scalar subquery on `user_id_column`: the session load reads it in
    its own statement (`portal.accounts.sessions`), so the bell costs no statement of its own."""
    return (select(func.count()).select_from(Notification)
            .where(Notification.user_id == user_id_column, Notification.read_at.is_(None))
            .scalar_subquery())


def bell_count(user) -> int:
    """The header's count: the one read with the session in this request, if nothing changed
    the user's notifications since; else counted now."""
    cached = g.get("unread_notifications")
    return unread_count(user) if cached is None else cached


def _forget_bell_count() -> None:
    if has_app_context():
        g.pop("unread_notifications", None)


def mark_read(user, notification_id: int) -> Notification | None:
    """The user's notification, now read (None: not theirs or unknown)."""
    note = db.session.get(Notification, notification_id)
    if note is None or note.user_id != user.id:
        return None
    if note.read_at is None:
        note.read_at = utcnow()
        _forget_bell_count()
        db.session.flush()
    return note


def mark_all_read(user) -> int:
    count = db.session.execute(update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)).values(read_at=utcnow())).rowcount
    _forget_bell_count()
    db.session.flush()
    return count


def set_preferences(user, choices: dict[str, str]) -> dict[str, str]:
    """Record the user's channel for each kind offered to them; returns the changes (kind ->
    channel) and writes them to the audit trail. Unknown kinds or channels: ValueError."""
    offered = {k.code for k in kinds_for(user)}
    changes = {}
    for kind, channel in choices.items():
        if kind not in offered or channel not in CHANNELS:
            raise ValueError(kind)
        if channel_for(user, kind) == channel:
            continue
        row = db.session.scalar(select(NotificationPreference).where(
            NotificationPreference.user_id == user.id, NotificationPreference.kind == kind))
        if row is None:
            row = NotificationPreference(user_id=user.id, kind=kind)
            db.session.add(row)
        row.channel = changes[kind] = channel
    if changes:
        db.session.flush()
        record_event("notifications", "preferences_modifiees", actor=user,
                     organisation_id=user.organisation_id, target=f"user:{user.id}", canaux=changes)
    return changes


def send_digests(now: datetime | None = None) -> int:
    """One email per user gathering their « résumé quotidien » notifications not emailed yet
    (read ones included: the digest is the record of the day). Returns the emails sent."""
    now = now or utcnow()
    pending = db.session.scalars(select(Notification).where(
        Notification.channel == "quotidien", Notification.emailed_at.is_(None),
        Notification.created_at <= now).order_by(Notification.user_id, Notification.id)).all()
    by_user: dict[int, list[Notification]] = {}
    for note in pending:
        by_user.setdefault(note.user_id, []).append(note)
    sent = 0
    for user_id, notes in by_user.items():
        user = db.session.get(User, user_id)
        if user.disabled_at is None:
            lines = [f"- {date_heure(n.created_at)} : {n.title}{_link(n.url).rstrip()}" for n in notes]
            plural = "s" if len(notes) > 1 else ""
            send_email(user.email, f"Extranet Partenaires — résumé quotidien ({len(notes)} notification{plural})",
                       f"Bonjour {user.prenom},\n\nVoici ce qui vous concerne depuis le dernier résumé :\n\n"
                       + "\n".join(lines) + f"\n\nVos préférences : {_link('/notifications/preferences').strip()}\n"
                       + SIGNATURE)
            sent += 1
        for note in notes:
            note.emailed_at = now
    db.session.flush()
    return sent
