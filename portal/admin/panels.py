"""Home-page panels for the administrators, and the admin demo data."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from ..extensions import db
from ..models import ApiToken, Habilitation, Organisation, User, utcnow
from portal.dates import naive_utc


def home_panel(user):
    now = utcnow()
    if user.role == "partner_admin":
        habs = db.session.scalars(select(Habilitation).join(User, Habilitation.user_id == User.id)
                                  .where(User.organisation_id == user.organisation_id,
                                         Habilitation.revoked_at.is_(None))).all()
        expiring = db.session.scalar(select(func.count()).select_from(ApiToken).where(
            ApiToken.organisation_id == user.organisation_id, ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > now, ApiToken.expires_at < now + timedelta(days=30)))
        return "admin/home_panel_partner.html", {
            "to_review": sum(1 for h in habs if h.needs_review), "expiring_tokens": expiring}
    if user.role == "caf_admin":
        suspended = db.session.scalar(select(func.count()).select_from(Organisation)
                                      .where(Organisation.suspended_at.is_not(None)))
        return "admin/home_panel_caf.html", {"suspended": suspended}
    return None


def seed_demo() -> int:
    """Show the 12-month review flag: the demo partner manager's habilitation dates from 2024."""
    user = db.session.scalar(select(User).where(User.email == "gestionnaire@amiens.example"))
    if user is None:
        return 0
    old = naive_utc(datetime(2024, 9, 2, tzinfo=UTC))
    for hab in user.habilitations:
        if hab.reviewed_at is None and hab.granted_at > old:
            hab.granted_at = old
            return 1
    return 0
