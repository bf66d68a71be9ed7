"""EDI aggregates for the dashboards: files per day by outcome, most frequent rejection codes.
GROUP BY queries on indexed columns (`edi_fichiers.recu_le`, `edi_enregistrements(fichier_id, code)`)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import case, func, select

from portal.dates import paris_midnight_utc
from portal.extensions import db
from portal.paris_days import by_paris_day, utc_hour

from .models import ERREUR, REJETE, TRAITE, TRAITE_PARTIEL, EdiEnregistrement, EdiFichier


def _day(value) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)[:10]


def files_per_day(since: date, organisation_id: int | None = None) -> list[dict]:
    """Processed files per Paris day of receipt: accepted, partially accepted, rejected (and the others:
    duplicates, quarantine, in progress)."""
    hour = utc_hour(EdiFichier.recu_le)
    query = (select(hour,
                    func.sum(case((EdiFichier.statut == TRAITE, 1), else_=0)),
                    func.sum(case((EdiFichier.statut == TRAITE_PARTIEL, 1), else_=0)),
                    func.sum(case((EdiFichier.statut == REJETE, 1), else_=0)),
                    func.count())
             .where(EdiFichier.recu_le >= paris_midnight_utc(since))
             .group_by(hour))
    if organisation_id is not None:
        query = query.where(EdiFichier.organisation_id == organisation_id)
    return [{"day": _day(d), "acceptes": int(a or 0), "partiels": int(p or 0), "rejetes": int(r or 0),
             "autres": int(n) - int(a or 0) - int(p or 0) - int(r or 0)}
            for (d,), (a, p, r, n) in by_paris_day(db.session.execute(query)).items()]


def top_rejection_codes(since: date, organisation_id: int | None = None, limit: int = 5) -> list[dict]:
    """Most frequent error codes of records in files received since `since`."""
    query = (select(EdiEnregistrement.code, func.min(EdiEnregistrement.libelle), func.count())
             .join(EdiFichier, EdiFichier.id == EdiEnregistrement.fichier_id)
             .where(EdiFichier.recu_le >= paris_midnight_utc(since),
                    EdiEnregistrement.severite == ERREUR)
             .group_by(EdiEnregistrement.code).order_by(func.count().desc(), EdiEnregistrement.code)
             .limit(limit))
    if organisation_id is not None:
        query = query.where(EdiFichier.organisation_id == organisation_id)
    return [{"code": code, "libelle": libelle, "nombre": n} for code, libelle, n in db.session.execute(query)]
