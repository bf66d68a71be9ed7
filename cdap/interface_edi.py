"""The named interface CDAP offers to EDI: the only CDAP module EDI may call, and only from
edi.adapters (import-linter contract « domains » in pyproject.toml).

Functions EDI may call (``__all__``):

- ``lookup_tenancies(code_bailleur, pairs)`` : known tenancies (baux) of a landlord, by
  (code_locataire, numero_allocataire) pair ;
- ``tenancy_after_mouvement(tenancy, rec, today)`` : the tenancy as an ENTREE / SORTIE leaves it ;
- ``apply_loyers(code_bailleur, rows, source)`` and ``apply_loyers_columns(code_bailleur,
  columns, source)`` (columns named by ``LOYERS_COLUMNS``) : rent history ;
- SQLite, a large LOYERS file (issue #18): ``create_loyers_stage(stage)``,
  ``stage_loyers(code_bailleur, rows, stage)`` and ``stage_loyers_columns(...)`` (the dwellings
  found while the file is read, no write lock), ``apply_staged_loyers(code_bailleur, stage,
  source)`` (one statement), ``tenancies_mark(code_bailleur)`` and
  ``any_tenancy_known(code_bailleur, pairs_table)``, ``staged_dwelling_gone(stage)`` (what
  changed since the staging) ;
- PostgreSQL, a large LOYERS file (issue #22): ``load_loyers_columns(columns, ranks)`` (one
  COPY; EDI reads the identifiers back from the table ``LOADED_LOYERS`` names) then
  ``apply_loaded_loyers(code_bailleur, key_prefix, source)`` ;
- ``apply_mouvements(code_bailleur, rows, source)`` : move-ins / move-outs ;
- ``record_impayes(code_bailleur, rows, source)`` : unpaid-rent reports (and their queue items) ;
- ``tiers_payant_payments(code_bailleur, year, month)``, ``landlord_codes(year, month)`` : the
  third-party payments a payment notice lists ;
- ``echeance_plan_apurement(date_constitution)`` : deadline of a repayment plan ;
- ``find_tenant(code_bailleur, nom, numero_allocataire, code_locataire)`` : the tenancy a web
  declaration names (numéro allocataire or code locataire, with the tenant's name) ;
- ``tenancy_history(code_bailleur, code_locataire, numero_allocataire)`` : rents, movements and
  unpaid-rent reports of one tenancy, whatever their channel (EDI file or web form) ;
- ``first_tenant(code_bailleur)`` : the landlord's first current tenant (demo data and examples) ;
- ``suivi_signalement(code_bailleur, idempotency_key)`` : what the landlord may read of the
  follow-up of one of its unpaid-rent reports (received, plan, maintien de l'aide).

All amounts are integer cents, dates `datetime.date`. Every function runs in the caller's
transaction (never commits) and is set-based: a batch of rows costs a handful of queries,
whatever its size (IN lists are chunked), with no per-row ORM object.
Idempotency: history, movement and impayé rows are unique per (code_bailleur,
idempotency_key); a key already applied is skipped, so replaying a batch changes nothing.

(Over 400 lines on purpose: it is one contract with EDI; splitting it would widen the surface the
import-linter contract has to allow.)
"""
from __future__ import annotations

from datetime import date
from typing import Iterable

from sqlalchemy import (any_, bindparam, func, or_, select, text,
                        update)
from sqlalchemy.dialects import postgresql

from portal.database import copy_rows, insert_ignore, unless_unique_violation
from portal.extensions import db
from portal.models import utcnow

from .loyers import latest_history

from .normalize import normalize_name
from .situations.rules import plan_due
from .models import (AIDES_LOGEMENT, Allocataire, Droit, ImpayeQueueItem, Logement,
                     LoyerHistorique, Mouvement, Paiement, SignalementImpaye, tiers_payant_en_cours)
from portal.dates import today as paris_today

CHUNK = 1000


def _chunks(seq: list, size: int | None = None):
    size = size or _chunk_size()
    for i in range(0, len(seq), size):
        yield seq[i:i + size]


def _is_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _chunk_size() -> int:
    # PostgreSQL takes a whole batch as one array parameter (see _one_of); SQLite binds each value.
    return 50_000 if _is_postgresql() else CHUNK


def _one_of(column, values):
    """`column IN values`. On PostgreSQL one array parameter (`= ANY(:array)`): a batch of
    thousands of keys is one short statement, instead of thousands of bind parameters that
    SQLAlchemy expands and psycopg re-parses on every call (EDI bench: most of the time)."""
    values = list(values)
    if _is_postgresql():
        return column == any_(bindparam(None, values, type_=postgresql.ARRAY(column.type)))
    return column.in_(values)


def echeance_plan_apurement(date_constitution: date) -> date:
    """The plan d'apurement is expected within six months of the impayé's constitution
    (docs/domaine.md §4): one rule for the EDI signal, the import of reference data and the
    case follow-up (``cdap.situations.rules.plan_due``)."""
    return plan_due(date_constitution)


def _existing_keys(model, code_bailleur: str, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(sorted(set(keys))):
        found.update(db.session.scalars(
            select(model.idempotency_key).where(model.code_bailleur == code_bailleur,
                                                _one_of(model.idempotency_key, chunk))))
    return found


def _new_rows(model, code_bailleur: str, rows: list[dict]) -> list[dict]:
    """Rows whose key was never applied, first occurrence only within the batch."""
    existing = _existing_keys(model, code_bailleur, [r["idempotency_key"] for r in rows])
    out, seen = [], set()
    for row in rows:
        key = row["idempotency_key"]
        if key in existing or key in seen:
            continue
        seen.add(key)
        out.append(row)
    return out


def _tenancies(code_bailleur: str, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict]:
    """(code_locataire, numero) -> logement row dict, for this landlord's tenancies. Tiers payant
    is as on `today`: it ends on the date of the tenancy's exit, even one recorded in advance."""
    today = paris_today()
    wanted = {(str(c), str(n)) for c, n in pairs}
    out: dict[tuple[str, str], dict] = {}
    ordered = sorted(wanted)
    for chunk in _chunks(ordered):
        codes = sorted({c for c, _ in chunk})
        numeros = sorted({n for _, n in chunk})
        result = db.session.execute(
            select(Logement.id, Logement.code_locataire, Allocataire.numero, Allocataire.id,
                   Logement.loyer_cents, Logement.charges_cents, Logement.tiers_payant,
                   Logement.date_entree, Logement.date_sortie, Logement.nb_colocataires)
            .join(Allocataire, Allocataire.id == Logement.allocataire_id)
            .where(Logement.code_bailleur == code_bailleur, _one_of(Logement.code_locataire, codes),
                   _one_of(Allocataire.numero, numeros)))
        for lid, code, numero, aid, loyer, charges, tp, entree, sortie, coloc in result:
            if (code, numero) in wanted:
                out[(code, numero)] = {
                    "logement_id": lid, "allocataire_id": aid, "loyer_cents": loyer,
                    "charges_cents": charges, "tiers_payant": tiers_payant_en_cours(tp, sortie, today),
                    "date_entree": entree,
                    "date_sortie": sortie, "nb_colocataires": coloc,
                }
    if out:  # the current rent is the latest history row, when there is one
        latest = latest_history(t["logement_id"] for t in out.values())
        for t in out.values():
            h = latest.get(t["logement_id"])
            if h is not None:
                t.update(loyer_cents=h["loyer_cents"], charges_cents=h["charges_cents"],
                         nb_colocataires=h["nb_colocataires"])
    return out


def _housing_aid(allocataire_ids: list[int], today: date | None = None) -> dict[int, int]:
    """Monthly housing aid (ALF/ALS/APL) currently open, per allocataire."""
    today = today or paris_today()
    out: dict[int, int] = {}
    for chunk in _chunks(sorted(set(allocataire_ids))):
        result = db.session.execute(
            select(Droit.allocataire_id, func.sum(Droit.montant_cents))
            .where(_one_of(Droit.allocataire_id, chunk), Droit.prestation.in_(sorted(AIDES_LOGEMENT)),
                   Droit.statut == "ouvert", Droit.date_debut <= today,
                   or_(Droit.date_fin.is_(None), Droit.date_fin >= today))
            .group_by(Droit.allocataire_id))
        out.update({aid: int(total or 0) for aid, total in result})
    return out


def lookup_tenancies(code_bailleur: str, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict]:
    """For each (code_locataire, numero_allocataire) that is a current or past tenancy of this
    landlord: its logement and the monthly housing aid. Unknown pairs are absent."""
    found = _tenancies(code_bailleur, pairs)
    aid = _housing_aid([t["allocataire_id"] for t in found.values()])
    return {
        key: {
            "logement_id": t["logement_id"], "loyer_cents": t["loyer_cents"],
            "charges_cents": t["charges_cents"], "tiers_payant": t["tiers_payant"],
            "date_entree": t["date_entree"], "date_sortie": t["date_sortie"],
            "aide_mensuelle_cents": aid.get(t["allocataire_id"], 0),
        }
        for key, t in found.items()
    }


def apply_loyers(code_bailleur: str, rows: list[dict], source: str) -> int:
    """Record each new rent row in the history; the dwelling's current rent is its latest row
    (cdap.loyers), so nothing else is written. Rows of unknown tenancies and keys already
    applied are skipped (first occurrence wins within the batch). Returns rows newly applied."""
    if not rows:
        return 0
    if _is_postgresql():
        return _apply_loyers_postgresql(code_bailleur, (
            (r["idempotency_key"], str(r["code_locataire"]), str(r["numero_allocataire"]),
             int(r["loyer_cents"]), int(r["charges_cents"]), int(r.get("nb_colocataires") or 0),
             r["date_effet"], n) for n, r in enumerate(rows, 1)), source)
    return _apply_loyers_sqlite(code_bailleur, (
        (r["idempotency_key"], str(r["code_locataire"]), str(r["numero_allocataire"]),
         int(r["loyer_cents"]), int(r["charges_cents"]), int(r.get("nb_colocataires") or 0),
         r["date_effet"].isoformat(), n) for n, r in enumerate(rows, 1)), source)


# SQLite (`make run`): the same set-based statement, from a temporary table filled by one
# executemany. The row-by-row lookups it replaces (tenancies, keys already applied) cost about
# 90 ms of Python per 5,000 rows; a large EDI file applies all its batches in one transaction,
# which holds SQLite's only write lock meanwhile (issue #18: 9 s for 100,000 LOYERS, now < 2 s).
_LOYERS_BATCH_SQLITE_DDL = """
    CREATE TEMPORARY TABLE IF NOT EXISTS cdap_loyers_lot_sqlite
        (k TEXT, code TEXT, numero TEXT, loyer INTEGER, charges INTEGER, coloc INTEGER, effet TEXT,
         n INTEGER)"""
_LOYERS_INSERT_SQLITE = """
    INSERT INTO cdap_loyers_historique
        (logement_id, code_bailleur, idempotency_key, loyer_cents, charges_cents,
         nb_colocataires, date_effet, source, created_at)
    SELECT lid, ?, k, loyer, charges, coloc, effet, ?, ? FROM (
        SELECT (SELECT l.id FROM cdap_logements l JOIN cdap_allocataires a ON a.id = l.allocataire_id
                WHERE l.code_bailleur = ? AND l.code_locataire = r.code AND a.numero = r.numero
                LIMIT 1) AS lid, r.*
        FROM temp.cdap_loyers_lot_sqlite r)
    WHERE lid IS NOT NULL
    ORDER BY n
    ON CONFLICT (code_bailleur, idempotency_key) DO NOTHING"""


def _load_loyers_batch_sqlite(lot: Iterable[tuple]):
    conn = db.session.connection()
    conn.exec_driver_sql(_LOYERS_BATCH_SQLITE_DDL)
    conn.exec_driver_sql("DELETE FROM temp.cdap_loyers_lot_sqlite")
    copy_rows("temp.cdap_loyers_lot_sqlite", _LOYERS_BATCH_COLUMNS, _LOYERS_BATCH_TYPES, lot)
    return conn


def _sqlite_now() -> str:
    return utcnow().strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's DateTime format on SQLite


def _apply_loyers_sqlite(code_bailleur: str, lot: Iterable[tuple], source: str) -> int:
    """apply_loyers on SQLite: rows of unknown tenancies and keys already applied skipped, the
    first occurrence winning within the batch (ORDER BY the row's rank), as on PostgreSQL."""
    conn = _load_loyers_batch_sqlite(lot)
    return conn.exec_driver_sql(_LOYERS_INSERT_SQLITE,
                                (code_bailleur, source[:120], _sqlite_now(), code_bailleur)).rowcount


# SQLite, a large LOYERS file (issue #18, docs/operations.md): its rows are *staged* while the
# file is read, in a table of a database file ATTACHed by EDI (`stage`, a qualified name such
# as lot_12.loyers), each with its dwelling already found; the transaction that applies them is
# then one INSERT ... SELECT with no lookup. Finding the dwellings only reads the main database
# (WAL: no lock). Dwellings are never deleted and their (landlord, tenant code, allocataire) key
# never changes, so a staged dwelling id stays right; what can change before the file is
# applied is a pair unknown at staging becoming known: `tenancies_mark` and
# `any_tenancy_known` let EDI detect it and stage again.
_LOYERS_STAGE_DDL = """
    CREATE TABLE IF NOT EXISTS {stage}
        (lid INTEGER NOT NULL, k TEXT NOT NULL, loyer INTEGER, charges INTEGER, coloc INTEGER,
         effet TEXT)"""
_LOYERS_STAGE_SQLITE = """
    INSERT INTO {stage} (lid, k, loyer, charges, coloc, effet)
    SELECT lid, k, loyer, charges, coloc, effet FROM (
        SELECT (SELECT l.id FROM main.cdap_logements l
                JOIN main.cdap_allocataires a ON a.id = l.allocataire_id
                WHERE l.code_bailleur = ? AND l.code_locataire = r.code AND a.numero = r.numero
                LIMIT 1) AS lid, r.*
        FROM temp.cdap_loyers_lot_sqlite r)
    WHERE lid IS NOT NULL
    ORDER BY n"""
_LOYERS_APPLY_STAGED_SQLITE = """
    INSERT INTO main.cdap_loyers_historique
        (logement_id, code_bailleur, idempotency_key, loyer_cents, charges_cents,
         nb_colocataires, date_effet, source, created_at)
    SELECT lid, ?, k, loyer, charges, coloc, effet, ?, ? FROM {stage} WHERE true ORDER BY rowid
    ON CONFLICT (code_bailleur, idempotency_key) DO NOTHING"""


def create_loyers_stage(stage: str) -> None:
    """Create (empty) the staging table `stage` of rent rows (SQLite)."""
    conn = db.session.connection()
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {stage}")
    conn.exec_driver_sql(_LOYERS_STAGE_DDL.format(stage=stage))


def stage_loyers(code_bailleur: str, rows: list[dict], stage: str) -> int:
    """apply_loyers, into the staging table `stage` instead of the history (SQLite): the rows
    of known tenancies are added with their dwelling; returns their number."""
    if not rows:
        return 0
    _load_loyers_batch_sqlite(
        (r["idempotency_key"], str(r["code_locataire"]), str(r["numero_allocataire"]),
         int(r["loyer_cents"]), int(r["charges_cents"]), int(r.get("nb_colocataires") or 0),
         r["date_effet"].isoformat(), n) for n, r in enumerate(rows, 1))
    return _stage_loaded(code_bailleur, stage)


def stage_loyers_columns(code_bailleur: str, columns: dict[str, list], stage: str) -> int:
    """stage_loyers for rows given column by column, as apply_loyers_columns takes them."""
    if not columns["idempotency_key"]:
        return 0
    colocs = columns["nb_colocataires"]
    if None in colocs:
        colocs = [n or 0 for n in colocs]
    _load_loyers_batch_sqlite(zip(
        columns["idempotency_key"], columns["code_locataire"], columns["numero_allocataire"],
        columns["loyer_cents"], columns["charges_cents"], colocs, map(date.isoformat, columns["date_effet"]),
        range(1, len(colocs) + 1)))
    return _stage_loaded(code_bailleur, stage)


def _stage_loaded(code_bailleur: str, stage: str) -> int:
    conn = db.session.connection()
    return conn.exec_driver_sql(_LOYERS_STAGE_SQLITE.format(stage=stage), (code_bailleur,)).rowcount


def apply_staged_loyers(code_bailleur: str, stage: str, source: str) -> int:
    """The rows of the staging table `stage` recorded in the history, in one statement (keys
    already applied skipped); returns rows newly applied."""
    conn = db.session.connection()
    return conn.exec_driver_sql(_LOYERS_APPLY_STAGED_SQLITE.format(stage=stage),
                                (code_bailleur, source[:120], _sqlite_now())).rowcount


def tenancies_mark(code_bailleur: str) -> tuple:
    """A mark of the landlord's set of tenancies that changes when one is added (or removed):
    their number, highest id and sum of allocataire ids, read from the unique index alone."""
    return tuple(db.session.execute(
        select(func.count(), func.max(Logement.id), func.sum(Logement.allocataire_id))
        .where(Logement.code_bailleur == code_bailleur)).one())


def any_tenancy_known(code_bailleur: str, pairs_table: str) -> bool:
    """Whether one of the (code, numero) pairs of table `pairs_table` is now a tenancy of this
    landlord (SQLite; cost in proportion to the pairs, not to the landlord's tenancies)."""
    conn = db.session.connection()
    return conn.exec_driver_sql(f"""
        SELECT 1 FROM {pairs_table} p WHERE EXISTS (
            SELECT 1 FROM main.cdap_logements l JOIN main.cdap_allocataires a ON a.id = l.allocataire_id
            WHERE l.code_bailleur = ? AND l.code_locataire = p.code AND a.numero = p.numero)
        LIMIT 1""", (code_bailleur,)).first() is not None


def staged_dwelling_gone(stage: str) -> bool:
    """Whether a dwelling of the staging table `stage` no longer exists (never, as dwellings are
    not deleted; checked when `tenancies_mark` moved). One primary-key probe per staged row."""
    conn = db.session.connection()
    return conn.exec_driver_sql(f"""
        SELECT 1 FROM {stage} s WHERE NOT EXISTS (SELECT 1 FROM main.cdap_logements l WHERE l.id = s.lid)
        LIMIT 1""").first() is not None


# The batch goes to PostgreSQL by binary COPY into a temporary table of the transaction, then
# one INSERT ... SELECT: psycopg adapts a list parameter element by element (an array per column
# cost ten times the client CPU of a binary COPY, EDI bench).
_LOYERS_BATCH_PG = "cdap_loyers_lot"
_LOYERS_BATCH_DDL = f"""
    CREATE TEMPORARY TABLE IF NOT EXISTS {_LOYERS_BATCH_PG}
        (k varchar(120), code varchar(30), numero varchar(20), loyer integer, charges integer,
         coloc integer, effet date, n integer) ON COMMIT DROP"""
_LOYERS_BATCH_COLUMNS = ("k", "code", "numero", "loyer", "charges", "coloc", "effet", "n")
_LOYERS_BATCH_TYPES = ("varchar", "varchar", "varchar", "int4", "int4", "int4", "date", "int4")

_LOYERS_INSERT_PG = f"""
    INSERT INTO cdap_loyers_historique
        (logement_id, code_bailleur, idempotency_key, loyer_cents, charges_cents,
         nb_colocataires, date_effet, source, created_at)
    SELECT l.id, :code_bailleur, :prefix || r.k, r.loyer, r.charges, r.coloc, r.effet, :source, :now
    FROM {_LOYERS_BATCH_PG} r
    CROSS JOIN LATERAL (
        SELECT l.id FROM cdap_logements l
        WHERE l.code_bailleur = :code_bailleur AND l.code_locataire = r.code
          AND (SELECT a.numero FROM cdap_allocataires a WHERE a.id = l.allocataire_id) = r.numero
        LIMIT 1) l
    ORDER BY r.n
"""
_LOYERS_INSERT_PG_FIRST_TIME = text(_LOYERS_INSERT_PG)
_LOYERS_INSERT_PG_REPLAY = text(_LOYERS_INSERT_PG + """
    ON CONFLICT (code_bailleur, idempotency_key) DO NOTHING""")


LOYERS_COLUMNS = ("idempotency_key", "code_locataire", "numero_allocataire", "loyer_cents",
                  "charges_cents", "nb_colocataires", "date_effet")


def apply_loyers_columns(code_bailleur: str, columns: dict[str, list], source: str) -> int:
    """apply_loyers for rows given column by column (`LOYERS_COLUMNS`, equal lengths; codes and
    numéros as str, amounts and counts as int, dates as date, a count may be None): the bulk
    path of a large EDI file, which then builds no dict per row."""
    if not columns["idempotency_key"]:
        return 0
    colocs = columns["nb_colocataires"]
    if None in colocs:
        colocs = [n or 0 for n in colocs]
    if _is_postgresql():
        return _apply_loyers_postgresql(code_bailleur, zip(
            columns["idempotency_key"], columns["code_locataire"], columns["numero_allocataire"],
            columns["loyer_cents"], columns["charges_cents"], colocs, columns["date_effet"],
            range(1, len(colocs) + 1)), source)
    return _apply_loyers_sqlite(code_bailleur, zip(
        columns["idempotency_key"], columns["code_locataire"], columns["numero_allocataire"],
        columns["loyer_cents"], columns["charges_cents"], colocs, map(date.isoformat, columns["date_effet"]),
        range(1, len(colocs) + 1)), source)


def _apply_loyers_postgresql(code_bailleur: str, lot: Iterable[tuple], source: str) -> int:
    """Set-based apply_loyers: the batch is copied (binary COPY) into a temporary table, then
    one INSERT ... SELECT finds each tenancy. The tenancy is found by two index lookups per row
    (LATERAL ... LIMIT 1, the pair identifies at most one dwelling): a hash join would scan
    every dwelling of the Caf for each batch. The allocataire is reached by its primary key
    from the dwelling and its numéro compared there (byte equality), not found by its numéro:
    an integer descent instead of a text one, whose comparisons go through the collation
    (issue #22: 0.82 → 0.74 s of server CPU per 100,000 lookups, C.UTF-8; more with fr_FR).

    Keys already applied are skipped by ON CONFLICT DO NOTHING (first occurrence wins within
    the batch), but only when there are some: the plain INSERT is tried first, in a savepoint,
    and a unique violation sends the batch the ON CONFLICT way. A batch of new keys, the common
    case, is then a plain insertion: speculative insertion cost PostgreSQL a third more server
    time per row (EDI bench, 5,000 LOYERS: 92-130 ms against 67-69 ms). A concurrent replay
    still cannot fail: it waits for the other transaction, violates, and skips. Each savepoint
    is a subtransaction of the caller's: past 64 in one transaction (a file of ~160,000 LOYERS
    with edi.intake.record_ids' own), PostgreSQL's per-backend cache of them overflows and other
    sessions' snapshots read pg_subtrans until it commits; to watch on a busy primary."""
    _load_loyers_batch_postgresql(lot)
    return _insert_loaded_loyers(code_bailleur, "", source)


def _load_loyers_batch_postgresql(lot: Iterable[tuple]) -> None:
    conn = db.session.connection()
    conn.exec_driver_sql(_LOYERS_BATCH_DDL)
    conn.exec_driver_sql(f"TRUNCATE {_LOYERS_BATCH_PG}")
    copy_rows(_LOYERS_BATCH_PG, _LOYERS_BATCH_COLUMNS, _LOYERS_BATCH_TYPES, lot)


def _insert_loaded_loyers(code_bailleur: str, key_prefix: str, source: str) -> int:
    conn = db.session.connection()
    params = {"code_bailleur": code_bailleur, "prefix": key_prefix, "source": source[:120],
              "now": utcnow()}
    inserted, count = unless_unique_violation(
        lambda: conn.execute(_LOYERS_INSERT_PG_FIRST_TIME, params).rowcount)
    return count if inserted else conn.execute(_LOYERS_INSERT_PG_REPLAY, params).rowcount


# PostgreSQL, a large EDI file (issue #22): the batch is copied once, with each record's
# identifier and rank in the file, and serves twice in the server: EDI finds the identifiers
# met again in the file from it (`LOADED_LOYERS` names its table and columns), then
# `apply_loaded_loyers` records its rows, the key being `key_prefix` + identifier. One COPY
# per batch instead of two (identifiers, then rows with their keys), and no key built in Python.
LOADED_COLUMNS = ("identifiant",) + LOYERS_COLUMNS[1:]
LOADED_LOYERS = {"table": _LOYERS_BATCH_PG, "identifiant": "k", "rang": "n"}


def load_loyers_columns(columns: dict[str, list], ranks: Iterable[int]) -> dict[str, str]:
    """Load one batch of LOYERS rows given column by column (`LOADED_COLUMNS`: the record's
    identifier instead of its key) with their ranks in the file (increasing), into a temporary
    table of the transaction (PostgreSQL); returns `LOADED_LOYERS`. The next load replaces it."""
    colocs = columns["nb_colocataires"]
    if None in colocs:
        colocs = [n or 0 for n in colocs]
    _load_loyers_batch_postgresql(zip(
        columns["identifiant"], columns["code_locataire"], columns["numero_allocataire"],
        columns["loyer_cents"], columns["charges_cents"], colocs, columns["date_effet"], ranks))
    return LOADED_LOYERS


def apply_loaded_loyers(code_bailleur: str, key_prefix: str, source: str) -> int:
    """apply_loyers for the batch `load_loyers_columns` loaded, each row keyed `key_prefix` +
    its identifier (same checks, same idempotency); returns rows newly applied."""
    return _insert_loaded_loyers(code_bailleur, key_prefix, source)


def tenancy_after_mouvement(tenancy: dict, rec: dict, today: date) -> dict:
    """The tenancy (dict with date_entree, date_sortie, tiers_payant, loyer_cents, charges_cents)
    as an ENTREE or SORTIE leaves it, as a new dict. ENTREE reopens it from its date, with the
    rent and charges it states; SORTIE sets the exit date, and tiers payant ends at once for an
    exit date that has come (readers treat a later one as ending it on that date). The one rule
    of what a movement does: applying it (apply_mouvements) and checking the file's following
    movements against it (EDI) both use it."""
    after = dict(tenancy)
    day = rec["date_mouvement"]
    if rec["type"] == "ENTREE":
        after["date_entree"], after["date_sortie"] = day, None
        if rec.get("loyer_cents") is not None:
            after["loyer_cents"] = int(rec["loyer_cents"])
        if rec.get("charges_cents") is not None:
            after["charges_cents"] = int(rec["charges_cents"])
    elif rec["type"] == "SORTIE":
        after["date_sortie"] = day
        if day <= today:
            after["tiers_payant"] = False
    else:
        raise ValueError(f"type de mouvement inconnu : {rec['type']!r}")
    return after


_TENANCY_STATE = ("date_entree", "date_sortie", "tiers_payant", "loyer_cents", "charges_cents")


def apply_mouvements(code_bailleur: str, rows: list[dict], source: str) -> int:
    """Apply each movement in its order (tenancy_after_mouvement). A row for a tenancy the Caf
    does not know is ignored: a landlord's declaration alone never creates a tenancy, which
    would open the person's CDAP file to that landlord. Returns rows newly applied."""
    if not rows:
        return 0
    new = _new_rows(Mouvement, code_bailleur, rows)
    if not new:
        return 0
    now = utcnow()
    today = paris_today()
    tenancies = _tenancies(code_bailleur, {(str(r["code_locataire"]), str(r["numero_allocataire"])) for r in new})
    state: dict[int, dict] = {}
    movements, moved_with_rent = [], []
    for r in new:
        t = tenancies.get((str(r["code_locataire"]), str(r["numero_allocataire"])))
        if t is None:
            continue
        lid = t["logement_id"]
        state[lid] = tenancy_after_mouvement(state.get(lid) or {k: t[k] for k in _TENANCY_STATE}, r, today)
        movements.append({
            "logement_id": lid, "code_bailleur": code_bailleur,
            "idempotency_key": r["idempotency_key"], "type": r["type"],
            "date_mouvement": r["date_mouvement"], "source": source[:120], "created_at": now,
        })
        if r["type"] == "ENTREE" and r.get("loyer_cents") is not None:
            moved_with_rent.append((movements[-1], r))
    if not movements:
        return 0
    db.session.execute(insert_ignore(Mouvement), movements)
    rents = [{"logement_id": m["logement_id"], "code_bailleur": code_bailleur,
              "idempotency_key": m["idempotency_key"], "loyer_cents": int(r["loyer_cents"]),
              "charges_cents": int(r.get("charges_cents") or 0), "nb_colocataires": 0,
              "date_effet": m["date_mouvement"], "source": source[:120], "created_at": now}
             for m, r in moved_with_rent]
    if rents:  # the rent an ENTREE states becomes the current rent (cdap.loyers)
        db.session.execute(insert_ignore(LoyerHistorique), rents)
    table = Logement.__table__
    db.session.execute(
        update(table).where(table.c.id == bindparam("b_id"))
        .values(date_entree=bindparam("b_entree"), date_sortie=bindparam("b_sortie"),
                tiers_payant=bindparam("b_tp"), loyer_cents=bindparam("b_loyer"),
                charges_cents=bindparam("b_charges"), updated_at=bindparam("b_now")),
        [{"b_id": lid, "b_entree": s["date_entree"], "b_sortie": s["date_sortie"], "b_tp": s["tiers_payant"],
          "b_loyer": s["loyer_cents"], "b_charges": s["charges_cents"], "b_now": now}
         for lid, s in state.items()],
    )
    return len(movements)


def record_impayes(code_bailleur: str, rows: list[dict], source: str) -> int:
    """Create a signalement d'impayé per new key (plan d'apurement expected within 6 months of
    the constitution) and open an item in the "impayé de loyer" queue. Rows of unknown
    tenancies are ignored. Returns rows newly recorded."""
    if not rows:
        return 0
    tenancies = _tenancies(code_bailleur, [(r["code_locataire"], r["numero_allocataire"]) for r in rows])
    rows = [r for r in rows if (str(r["code_locataire"]), str(r["numero_allocataire"])) in tenancies]
    new = _new_rows(SignalementImpaye, code_bailleur, rows)
    if not new:
        return 0
    now = utcnow()
    records = []
    for r in new:
        t = tenancies[(str(r["code_locataire"]), str(r["numero_allocataire"]))]
        records.append({
            "allocataire_id": t["allocataire_id"], "logement_id": t["logement_id"],
            "code_bailleur": code_bailleur, "idempotency_key": r["idempotency_key"],
            "montant_dette_cents": int(r["montant_dette_cents"]),
            "loyer_mensuel_cents": int(r["loyer_mensuel_cents"]),
            "date_constitution": r["date_constitution"], "periode_debut": r.get("periode_debut"),
            "periode_fin": r.get("periode_fin"), "plan_apurement": bool(r.get("plan_apurement")),
            "date_signalement": r.get("date_signalement") or now.date(),
            "date_limite_plan": echeance_plan_apurement(r["date_constitution"]), "maintien_aide": True,
            "statut": "plan" if r.get("plan_apurement") else "signale", "source": source[:120],
            "created_at": now,
        })
    db.session.execute(insert_ignore(SignalementImpaye), records)
    open_queue_items(code_bailleur, [r["idempotency_key"] for r in records])
    return len(records)


def open_queue_items(code_bailleur: str, keys: list[str]) -> int:
    """Open one queue item per signalement (by key) that has none yet."""
    items = []
    now = utcnow()
    for chunk in _chunks(sorted(set(keys))):
        result = db.session.execute(
            select(SignalementImpaye.id, SignalementImpaye.allocataire_id,
                   SignalementImpaye.date_limite_plan, SignalementImpaye.plan_apurement)
            .join(Allocataire, Allocataire.id == SignalementImpaye.allocataire_id)
            .outerjoin(ImpayeQueueItem, ImpayeQueueItem.impaye_id == SignalementImpaye.id)
            .where(SignalementImpaye.code_bailleur == code_bailleur,
                   _one_of(SignalementImpaye.idempotency_key, chunk), ImpayeQueueItem.id.is_(None)))
        for sid, aid, limite, plan in result:
            items.append({"impaye_id": sid, "allocataire_id": aid,
                          "statut": "plan_apurement" if plan else "nouveau", "echeance": limite,
                          "created_at": now, "updated_at": now})
    if items:
        db.session.execute(insert_ignore(ImpayeQueueItem), items)
    return len(items)


def tiers_payant_payments(code_bailleur: str, year: int, month: int) -> list[dict]:
    """Payments of that month made to this landlord (tiers payant), one dict per payment."""
    mois = date(year, month, 1)
    code_loc = (
        select(func.max(Logement.code_locataire))
        .where(Logement.allocataire_id == Paiement.allocataire_id,
               Logement.code_bailleur == code_bailleur)
        .correlate(Paiement).scalar_subquery()
    )
    result = db.session.execute(
        select(code_loc, Allocataire.numero, Allocataire.nom, Allocataire.prenom,
               Paiement.montant_cents, Paiement.date_paiement, Paiement.prestation)
        .join(Allocataire, Allocataire.id == Paiement.allocataire_id)
        .where(Paiement.code_bailleur == code_bailleur, Paiement.mois == mois,
               Paiement.beneficiaire == "bailleur")
        .order_by(Allocataire.numero, Paiement.prestation))
    return [
        {"code_locataire": code, "numero_allocataire": numero, "nom": f"{nom} {prenom}",
         "montant_cents": montant, "date_paiement": paid, "prestation": prestation}
        for code, numero, nom, prenom, montant, paid, prestation in result
    ]


def landlord_codes(year: int, month: int) -> list[str]:
    """code_bailleur of every landlord paid in tiers payant that month (whether or not its
    tenants are still in tiers payant today)."""
    return list(db.session.scalars(
        select(Paiement.code_bailleur).where(Paiement.mois == date(year, month, 1),
                                             Paiement.beneficiaire == "bailleur",
                                             Paiement.code_bailleur.is_not(None))
        .distinct().order_by(Paiement.code_bailleur)))


def find_tenant(code_bailleur: str, nom: str, numero_allocataire: str | None = None,
                code_locataire: str | None = None) -> tuple[str, str] | None:
    """(code_locataire, numero_allocataire) of this landlord's tenancy whose allocataire bears
    `nom` (exact, case- and accent-insensitive match, as CDAP searches) and has the given numéro
    and/or code locataire (at least one); None when no single tenancy matches. The name is
    required: a numéro alone must not reveal whether someone is a tenant."""
    if not (numero_allocataire or code_locataire) or not normalize_name(nom or ""):
        return None
    query = (select(Logement.code_locataire, Allocataire.numero)
             .join(Allocataire, Allocataire.id == Logement.allocataire_id)
             .where(Logement.code_bailleur == code_bailleur,
                    Allocataire.nom_normalise == normalize_name(nom)))
    if numero_allocataire:
        query = query.where(Allocataire.numero == numero_allocataire)
    if code_locataire:
        query = query.where(Logement.code_locataire == code_locataire)
    found = db.session.execute(query.limit(2)).all()
    return (found[0][0], found[0][1]) if len(found) == 1 else None


def first_tenant(code_bailleur: str) -> dict | None:
    """The landlord's current tenancy with the smallest numéro allocataire, with the tenant's name,
    numéro, address and current rent; None when it has none (demo declarations use it)."""
    row = db.session.execute(
        select(Logement.code_locataire, Allocataire.numero)
        .join(Allocataire, Allocataire.id == Logement.allocataire_id)
        .where(Logement.code_bailleur == code_bailleur, Logement.date_sortie.is_(None))
        .order_by(Allocataire.numero, Logement.code_locataire).limit(1)).first()
    if row is None:
        return None
    tenancy = _tenancies(code_bailleur, [(row[0], row[1])])[(row[0], row[1])]
    a = db.session.get(Allocataire, tenancy["allocataire_id"])
    return {"code_locataire": row[0], "numero_allocataire": row[1], "nom": a.nom, "prenom": a.prenom,
            "adresse": f"{a.adresse}, {a.code_postal} {a.commune}", "loyer_cents": tenancy["loyer_cents"],
            "charges_cents": tenancy["charges_cents"]}


def _channel(key: str) -> str:
    """« EDI », « formulaire » or « Caf » (reference data), from the row's idempotency key."""
    if key.startswith("EDI:"):
        return "EDI"
    return "formulaire" if key.startswith("WEB:") else "Caf"


def tenancy_history(code_bailleur: str, code_locataire: str, numero_allocataire: str) -> list[dict]:
    """Every rent, movement and unpaid-rent report recorded for this tenancy, newest first, each
    with its channel (« EDI » / « formulaire ») and its source: one history whatever the way the
    landlord declared. Empty for an unknown tenancy."""
    found = _tenancies(code_bailleur, [(code_locataire, numero_allocataire)])
    tenancy = found.get((str(code_locataire), str(numero_allocataire)))
    if tenancy is None:
        return []
    lid, out = tenancy["logement_id"], []
    for row in db.session.execute(select(LoyerHistorique).where(LoyerHistorique.logement_id == lid)).scalars():
        out.append({"acte": "LOYERS", "date": row.date_effet, "recu_le": row.created_at,
                    "canal": _channel(row.idempotency_key), "source": row.source,
                    "loyer_cents": row.loyer_cents, "charges_cents": row.charges_cents})
    for row in db.session.execute(select(Mouvement).where(Mouvement.logement_id == lid)).scalars():
        out.append({"acte": "MOUVEMENTS", "date": row.date_mouvement, "recu_le": row.created_at,
                    "canal": _channel(row.idempotency_key), "source": row.source, "type": row.type})
    for row in db.session.execute(select(SignalementImpaye).where(SignalementImpaye.logement_id == lid)).scalars():
        out.append({"acte": "IMPAYES", "date": row.date_signalement, "recu_le": row.created_at,
                    "canal": _channel(row.idempotency_key), "source": row.source,
                    "montant_dette_cents": row.montant_dette_cents,
                    "date_constitution": row.date_constitution})
    out.sort(key=lambda r: (r["recu_le"], r["date"]), reverse=True)
    return out


def suivi_signalement(code_bailleur: str, idempotency_key: str) -> dict | None:
    """The landlord's view of the follow-up of its unpaid-rent report keyed `idempotency_key`
    (a web declaration's « WEB:<code bailleur>:<id> »): exactly what cdap.policy.SUIVI allows the
    « bailleur » profile, built by cdap.situations.services.landlord_view (the view the
    CDAP-habilitated landlord reads). None when this landlord has no such report."""
    from .situations.models import Situation
    from .situations.services import landlord_view
    row = db.session.execute(
        select(SignalementImpaye, Situation)
        .outerjoin(ImpayeQueueItem, ImpayeQueueItem.impaye_id == SignalementImpaye.id)
        .outerjoin(Situation, Situation.queue_item_id == ImpayeQueueItem.id)
        .where(SignalementImpaye.code_bailleur == code_bailleur,
               SignalementImpaye.idempotency_key == idempotency_key).limit(1)).first()
    return None if row is None else landlord_view(row[0], row[1])


__all__ = ["lookup_tenancies", "tenancy_after_mouvement", "apply_loyers", "apply_loyers_columns",
           "LOYERS_COLUMNS", "apply_mouvements", "record_impayes", "tiers_payant_payments",
           "landlord_codes", "echeance_plan_apurement", "find_tenant", "tenancy_history",
           "first_tenant", "suivi_signalement", "create_loyers_stage", "stage_loyers",
           "stage_loyers_columns", "apply_staged_loyers", "tenancies_mark", "any_tenancy_known",
           "staged_dwelling_gone", "LOADED_COLUMNS", "LOADED_LOYERS", "load_loyers_columns",
           "apply_loaded_loyers"]
