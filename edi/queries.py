"""Read-side queries for dashboards and the API (no state change)."""
from __future__ import annotations

from sqlalchemy import Select, case, func, or_, select, text

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


def _anomaly_elements() -> tuple[str, str, str]:
    """(FROM item, code, severity) SQL over each anomaly `a` of a staged record's JSON list."""
    if db.session.get_bind().dialect.name == "postgresql":
        return "json_array_elements(edi_enregistrements.anomalies) AS a", "a->>'code'", "a->>'severite'"
    return ("json_each(edi_enregistrements.anomalies) AS a", "json_extract(a.value, '$.code')",
            "json_extract(a.value, '$.severite')")


def anomaly_summary(fichier_id: int) -> list[dict]:
    """Records with an anomaly, per code (every code of a record counts, not only its main
    one): [{code, severite, libelle, nombre}], most frequent first. Main codes come from the
    code index; only the records with several anomalies have their JSON list read."""
    from .rules import CODES
    counts: dict[tuple[str, str], int] = {}
    for code, sev, n in db.session.execute(
            select(R.code, R.severite, func.count())
            .where(R.fichier_id == fichier_id, R.severite.in_((ERREUR, AVERTISSEMENT)))
            .group_by(R.code, R.severite)):
        counts[(code, sev)] = n
    elements, code_of, severity_of = _anomaly_elements()
    for code, sev, n in db.session.execute(text(
            f"SELECT {code_of}, {severity_of}, COUNT(DISTINCT edi_enregistrements.rang) "
            f"FROM edi_enregistrements, {elements} "
            "WHERE edi_enregistrements.fichier_id = :f AND edi_enregistrements.nb_anomalies > 1 "
            f"AND {code_of} <> edi_enregistrements.code "
            f"GROUP BY {code_of}, {severity_of}"), {"f": fichier_id}):
        if sev in (ERREUR, AVERTISSEMENT):
            counts[(code, sev)] = counts.get((code, sev), 0) + n
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][0]))
    return [{"code": code, "severite": sev, "libelle": CODES.get(code, (sev, code))[1], "nombre": n}
            for (code, sev), n in ordered]


def anomalies(fichier_id: int, *, code: str | None = None, severite: str | None = None,
              page: int = 1, per_page: int = 50) -> tuple[list[EdiEnregistrement], int]:
    """The staged records with an anomaly, in file order; `code`: those having that code among
    their anomalies (main or not)."""
    query = select(R).where(R.fichier_id == fichier_id, R.severite.in_((ERREUR, AVERTISSEMENT)))
    if code:
        elements, code_of, _severity = _anomaly_elements()
        has_code = text(f"EXISTS (SELECT 1 FROM {elements} WHERE {code_of} = :code_filtre)").bindparams(
            code_filtre=code)
        query = query.where(or_(R.code == code, (R.nb_anomalies > 1) & has_code))
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
