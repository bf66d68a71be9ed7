"""Who is concerned: the queries the domains use to name the people they notify."""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from ..extensions import db
from ..models import CAF_ROLES, User


def organisation_users(organisation_id: int, *, roles: Iterable[str], service: str | None = None) -> list[User]:
    """The organisation's active users with one of ``roles`` (and, if given, a usable
    habilitation for ``service``)."""
    users = db.session.scalars(select(User).where(
        User.organisation_id == organisation_id, User.role.in_(list(roles)),
        User.disabled_at.is_(None)).order_by(User.id)).all()
    return [u for u in users if service is None or u.habilitation(service) is not None]


def caf_staff(*, roles: Iterable[str] = CAF_ROLES, service: str | None = None) -> list[User]:
    """The Caf's active staff with one of ``roles`` (and a habilitation for ``service``)."""
    users = db.session.scalars(select(User).where(
        User.role.in_(list(roles)), User.disabled_at.is_(None)).order_by(User.id)).all()
    return [u for u in users if service is None or u.habilitation(service) is not None]
