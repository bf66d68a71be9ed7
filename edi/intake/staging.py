"""The staging table (`edi_enregistrements`): only the records with anomalies are staged, the
others are accepted without remark. Written by COPY on PostgreSQL; read back for the counts and,
in file order, for the ACCUSE's results."""
from __future__ import annotations

import json
from datetime import date
from typing import Iterator

from sqlalchemy import case, func, insert, select

from portal.extensions import db

from .. import rules
from ..models import EdiEnregistrement, EdiFichier

STAGING = EdiEnregistrement.__table__


# Staged values of each flow: record key -> staging column (edi.formats.RECORD_FIELDS keys).
STAGED_VALUES = {
    "LOYERS": ("code_agence", "loyer_cents", "charges_cents", "date_effet", "nb_colocataires"),
    "MOUVEMENTS": ("code_agence", "type", "date_mouvement", "loyer_cents", "charges_cents"),
    "IMPAYES": ("code_agence", "montant_dette_cents", "loyer_mensuel_cents", "date_constitution",
                "periode_debut", "periode_fin", "plan_apurement"),
}
VALUE_COLUMNS = {"type": "type_mouvement"}
COMMON_COLUMNS = ("fichier_id", "rang", "ligne", "identifiant", "code_locataire", "numero_allocataire",
                  "accepte", "severite", "code", "libelle", "anomalies", "nb_anomalies")


def staged_columns(flux: str) -> tuple[str, ...]:
    return COMMON_COLUMNS + tuple(VALUE_COLUMNS.get(k, k) for k in STAGED_VALUES[flux])


class StagingWriter:
    """Writes staged rows: one COPY per batch on PostgreSQL, rows sent as they are added
    (performance-notes: COPY ≈ 4x executemany); an executemany INSERT elsewhere.
    Anomalies are JSON-encoded only for the records that have some."""

    def __init__(self, fichier_id: int, flux: str, target: str | None = None):
        """`target`: the table of an attached SQLite staging file (edi.intake.sqlite_lot) with
        the columns of `staged_columns`, written with plain values (JSON text, ISO dates)."""
        self.fichier_id, self.keys = fichier_id, STAGED_VALUES[flux]
        self.columns = staged_columns(flux)
        self.conn = db.session.connection()
        self.postgresql = self.conn.dialect.name == "postgresql"
        self.target = target
        self.rows: list[tuple] = []
        self._copy = self._cursor = None

    def __enter__(self) -> "StagingWriter":
        if self.postgresql:
            self._cursor = self.conn.connection.driver_connection.cursor()
            self._copy_cm = self._cursor.copy(
                f"COPY edi_enregistrements ({', '.join(self.columns)}) FROM STDIN")
            self._copy = self._copy_cm.__enter__()
        return self

    def add(self, rang: int, record: dict, anomalies: list[rules.Anomalie]) -> None:
        accepted, code, libelle, severite = rules.summarise(anomalies)
        if anomalies:
            found = [a.as_dict() for a in anomalies]
            found = json.dumps(found, ensure_ascii=False) if self.postgresql or self.target else found
        else:
            found = "[]" if self.postgresql or self.target else []
        get = record.get
        row = (self.fichier_id, rang, get("ligne"), get("identifiant") or str(rang), get("code_locataire"),
               get("numero_allocataire"), accepted, severite, code, libelle, found,
               len(anomalies), *[get(k) for k in self.keys])
        if self.target is not None:
            row = tuple(v.isoformat() if isinstance(v, date) else v for v in row)
        if self._copy is not None:
            self._copy.write_row(row)
        else:
            self.rows.append(row)

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._copy is not None:
            try:
                self._copy_cm.__exit__(exc_type, exc, tb)
            finally:
                self._cursor.close()
        elif exc_type is None and self.rows and self.target is not None:
            self.conn.exec_driver_sql(f"INSERT INTO {self.target} ({', '.join(self.columns)}) "
                                      f"VALUES ({', '.join('?' for _ in self.columns)})", self.rows)
        elif exc_type is None and self.rows:
            self.conn.execute(insert(STAGING), [dict(zip(self.columns, row)) for row in self.rows])


def count_records(f: EdiFichier) -> None:
    """Record counts: `nb_lus` and `nb_appliques` are stored as the file was read and applied;
    only the records with anomalies are staged, so the rest were accepted without remark."""
    rejected, warnings = (int(x or 0) for x in db.session.execute(select(
        func.sum(case((STAGING.c.accepte.is_(False), 1), else_=0)),
        func.sum(case((STAGING.c.severite == rules.AVERTISSEMENT, 1), else_=0)),
    ).where(STAGING.c.fichier_id == f.id)).one())
    total = f.nb_lus or 0
    f.nb_acceptes = total - rejected
    f.nb_rejetes = rejected
    f.nb_avertissements = warnings


def iter_results(fichier_id: int, size: int = 5000) -> Iterator[dict]:
    """One result per anomaly of the staged records, in file order, read in keyset batches
    (memory stays flat whatever the file size)."""
    last = 0
    while True:
        batch = db.session.execute(
            select(STAGING.c.rang, STAGING.c.ligne, STAGING.c.identifiant, STAGING.c.anomalies)
            .where(STAGING.c.fichier_id == fichier_id, STAGING.c.nb_anomalies > 0,
                   STAGING.c.rang > last)
            .order_by(STAGING.c.rang).limit(size)).all()
        if not batch:
            return
        for rang, ligne, identifiant, anomalies in batch:
            if isinstance(anomalies, str):
                anomalies = json.loads(anomalies)
            for a in anomalies:
                yield {"rang": rang, "ligne": ligne, "identifiant": identifiant, "code": a["code"],
                       "libelle": a["libelle"], "severite": a["severite"]}
        last = batch[-1][0]


def result_count(fichier_id: int) -> int:
    return int(db.session.scalar(select(func.coalesce(func.sum(STAGING.c.nb_anomalies), 0))
                                 .where(STAGING.c.fichier_id == fichier_id)) or 0)
