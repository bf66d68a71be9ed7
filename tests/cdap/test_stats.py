"""CDAP aggregates used by the dashboards."""
from datetime import date, datetime

from cdap import stats
from cdap.models import AtypicalAlert, ConsultationJournal
from portal import chain
from portal.extensions import db


def _consult(user, profile, at, outcome="trouve"):
    chain.append(ConsultationJournal(at=at, user_id=user.id, organisation_id=user.organisation_id,
                                     profile=profile, reference="x" * 64, categories=[], motif="tarification",
                                     channel="web", outcome=outcome))


def test_consultations_per_profile_per_day_and_alerts(factory):
    org = factory.organisation(kind="conseil_departemental", services={"CDAP": ["travailleur_social"]})
    user = factory.user(org=org, role="travailleur_social", habilitations={"CDAP": "travailleur_social"})
    _consult(user, "travailleur_social", datetime(2031, 3, 1, 9))
    _consult(user, "travailleur_social", datetime(2031, 3, 1, 22, 59), outcome="introuvable")  # 23:59 Paris
    _consult(user, "bailleur", datetime(2031, 3, 2, 10))
    _consult(user, "bailleur", datetime(2031, 2, 27, 10))  # before the window
    db.session.add(AtypicalAlert(at=datetime(2031, 3, 2, 11), user_id=user.id, kind="nuit", level="alerte",
                                 day=date(2031, 3, 2), count=3, threshold=2))
    db.session.flush()
    rows = stats.consultations_per_profile_per_day(date(2031, 3, 1))
    assert rows == [{"day": "2031-03-01", "profile": "travailleur_social", "nombre": 2},
                    {"day": "2031-03-02", "profile": "bailleur", "nombre": 1}]
    [alert] = stats.recent_alerts(date(2031, 3, 1))
    assert (alert["kind"], alert["level"], alert["count"], alert["threshold"]) == ("nuit", "alerte", 3, 2)
    assert alert["user"] == f"{user.prenom} {user.nom}"
    assert stats.alerts_per_day(date(2031, 3, 1)) == [{"day": "2031-03-02", "kind": "nuit", "nombre": 1}]
    assert stats.recent_alerts(date(2031, 3, 3)) == []


def test_consultations_are_counted_on_the_paris_day(factory):
    """Stored UTC, counted by Paris day: 23:30 Paris is still the day, 00:30 Paris is the next
    one (22:30 / 23:30 UTC in winter, 21:30 / 22:30 UTC in summer)."""
    org = factory.organisation(kind="conseil_departemental", services={"CDAP": ["travailleur_social"]})
    user = factory.user(org=org, role="travailleur_social", habilitations={"CDAP": "travailleur_social"})
    _consult(user, "travailleur_social", datetime(2031, 2, 28, 23, 30))  # 1 March 00:30 Paris
    _consult(user, "travailleur_social", datetime(2031, 3, 1, 22, 30))  # 1 March 23:30 Paris
    _consult(user, "travailleur_social", datetime(2031, 3, 1, 23, 30))  # 2 March 00:30 Paris
    _consult(user, "travailleur_social", datetime(2031, 6, 30, 21, 30))  # 30 June 23:30 Paris
    _consult(user, "travailleur_social", datetime(2031, 6, 30, 22, 30))  # 1 July 00:30 Paris
    db.session.flush()
    rows = stats.consultations_per_profile_per_day(date(2031, 3, 1), until=date(2031, 3, 1))
    assert rows == [{"day": "2031-03-01", "profile": "travailleur_social", "nombre": 2}]
    rows = stats.consultations_per_profile_per_day(date(2031, 3, 2))
    assert [(r["day"], r["nombre"]) for r in rows] == [("2031-03-02", 1), ("2031-06-30", 1), ("2031-07-01", 1)]
