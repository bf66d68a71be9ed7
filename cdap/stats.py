"""CDAP aggregates for the dashboards: consultations per profile per day, atypical-use alerts.
GROUP BY queries on indexed columns (`cdap_journal.at`, `cdap_alertes.at`)."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from portal.extensions import db
from portal.dates import paris_midnight_utc
from portal.models import User
from portal.paris_days import by_paris_day, utc_hour

from .models import AtypicalAlert, ConsultationJournal


def _day(value) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)[:10]


def consultations_per_profile_per_day(since: date, until: date | None = None) -> list[dict]:
    """Consultation attempts per Paris day and profile (every outcome counted), oldest day first."""
    hour = utc_hour(ConsultationJournal.at)
    query = (select(hour, ConsultationJournal.profile, func.count())
             .where(ConsultationJournal.at >= paris_midnight_utc(since))
             .group_by(hour, ConsultationJournal.profile))
    if until is not None:
        query = query.where(ConsultationJournal.at < paris_midnight_utc(until + timedelta(days=1)))
    return [{"day": _day(d), "profile": profile or "—", "nombre": n}
            for (d, profile), (n,) in by_paris_day(db.session.execute(query), keys=1).items()]


def recent_alerts(since: date, limit: int = 10) -> list[dict]:
    """The latest atypical-use alerts (alert or suspension), newest first."""
    rows = db.session.execute(
        select(AtypicalAlert, User.prenom, User.nom)
        .outerjoin(User, User.id == AtypicalAlert.user_id)
        .where(AtypicalAlert.at >= paris_midnight_utc(since))
        .order_by(AtypicalAlert.at.desc()).limit(limit))
    return [{"at": alert.at, "day": _day(alert.day), "kind": alert.kind, "level": alert.level,
             "count": alert.count, "threshold": alert.threshold,
             "user": f"{prenom} {nom}" if prenom else "jeton d'API",
             "acknowledged": alert.acknowledged_at is not None}
            for alert, prenom, nom in rows]


def alerts_per_day(since: date) -> list[dict]:
    """Alerts per day and kind (volume, nuit, introuvables)."""
    query = (select(AtypicalAlert.day, AtypicalAlert.kind, func.count())
             .where(AtypicalAlert.day >= since)
             .group_by(AtypicalAlert.day, AtypicalAlert.kind).order_by(AtypicalAlert.day))
    return [{"day": _day(d), "kind": kind, "nombre": n} for d, kind, n in db.session.execute(query)]
