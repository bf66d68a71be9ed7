"""Read-side queries for dashboards and the API (no state change)."""
from __future__ import annotations

from sqlalchemy import Select, case, func, select

from portal.extensions import db
from portal.models import Organisation

from .models import ERREUR, AVERTISSEMENT, EdiEnregistrement, EdiFichier

R = EdiEnregistrement


def files_query(organisation_id: int | None = None, statut: str | None = None,
                flux: str | None = None) -> Select:
    query = select(EdiFichier).order_by(EdiFichier.id.desc())
    if organisation_id is not None:
        query = query.where(EdiFichier.organisation_id == organisation_id)
    if statut:
        query = query.where(EdiFichier.statut == statut)
    if flux:
        query = query.where(EdiFichier.flux == flux)
    return query


def anomaly_summary(fichier_id: int) -> list[dict]:
    """Records with an anomaly, grouped by main code: [{code, severite, libelle, nombre}]."""
    rows = db.session.execute(
        select(R.code, R.severite, func.count(), func.min(R.rang))
        .where(R.fichier_id == fichier_id, R.severite.in_((ERREUR, AVERTISSEMENT)))
        .group_by(R.code, R.severite).order_by(func.count().desc(), R.code)).all()
    from .rules import CODES
    return [{"code": code, "severite": sev, "libelle": CODES.get(code, (sev, code))[1],
             "nombre": n} for code, sev, n, _first in rows]


def anomalies(fichier_id: int, *, code: str | None = None, severite: str | None = None,
              page: int = 1, per_page: int = 50) -> tuple[list[EdiEnregistrement], int]:
    query = select(R).where(R.fichier_id == fichier_id, R.severite.in_((ERREUR, AVERTISSEMENT)))
    if code:
        query = query.where(R.code == code)
    if severite in (ERREUR, AVERTISSEMENT):
        query = query.where(R.severite == severite)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(R.rang).offset((page - 1) * per_page).limit(per_page)).all()
    return rows, total


def flow_statistics() -> dict:
    """Caf view: files per flux and status, and the most frequent rejection codes."""
    by_status = db.session.execute(
        select(EdiFichier.flux, EdiFichier.statut, func.count())
        .group_by(EdiFichier.flux, EdiFichier.statut)).all()
    flux_rows: dict = {}
    for flux, statut, n in by_status:
        flux_rows.setdefault(flux or "—", {})[statut] = n
    codes = db.session.execute(
        select(R.code, func.count()).where(R.severite == ERREUR)
        .group_by(R.code).order_by(func.count().desc()).limit(15)).all()
    file_codes: dict[str, int] = {}
    for (motifs,) in db.session.execute(select(EdiFichier.motifs).where(
            EdiFichier.statut.in_(("REJETE", "DOUBLON")))):
        for m in motifs or []:
            if m.get("severite") == ERREUR:
                file_codes[m["code"]] = file_codes.get(m["code"], 0) + 1
    per_org = db.session.execute(
        select(Organisation.nom, func.count(EdiFichier.id),
               func.sum(case((EdiFichier.statut == "REJETE", 1), else_=0)))
        .join(Organisation, Organisation.id == EdiFichier.organisation_id)
        .group_by(Organisation.nom).order_by(Organisation.nom)).all()
    return {"par_flux": flux_rows, "codes_enregistrements": codes,
            "codes_fichiers": sorted(file_codes.items(), key=lambda kv: -kv[1]),
            "par_bailleur": per_org}
