"""Import of the Caf's extract (JSON lines, one allocataire per line; layout in cdap/README.md).

Streaming: the file is read line by line, validated, and written by batches (one transaction
per batch). Idempotent upsert: the allocataire is keyed by its numéro; its foyer, quotients,
droits and paiements are replaced by the extract's; logements are upserted on (code bailleur,
code locataire) so their EDI history survives; impayés are keyed by their reference.
Bulk path: PostgreSQL COPY (staging table + one set-based upsert for allocataires, direct COPY
for the replaced children); SQLite executemany.

(Over 400 lines on purpose: validation and batch writing of one extract format, which change
together with the format described in cdap/README.md.)
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Iterable, Iterator


from portal.database import insert_ignore
from portal.extensions import db
from portal.models import utcnow

from .models import BENEFICIAIRES, DROIT_STATUTS, PRESTATIONS, SITUATIONS
from .normalize import is_valid_numero, normalize_name
from portal.dates import today as paris_today

MAX_LINE_BYTES = 1_000_000
DEP_RE = re.compile(r"^(0[1-9]|[1-8][0-9]|9[0-5]|2A|2B|97[1-6])$")
CP_RE = re.compile(r"^[0-9]{5}$")
MOIS_RE = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")
CODE_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,30}$")

ALLOC_COLS = ("numero", "nom", "nom_normalise", "prenom", "date_naissance", "adresse",
              "code_postal", "commune", "departement", "situation_familiale", "updated_at")
MEMBRE_COLS = ("allocataire_id", "role", "nom", "prenom", "date_naissance", "a_charge")
QF_COLS = ("allocataire_id", "mois", "qf")
DROIT_COLS = ("allocataire_id", "prestation", "montant_cents", "date_debut", "date_fin", "statut")
PAIEMENT_COLS = ("allocataire_id", "mois", "prestation", "montant_cents", "date_paiement",
                 "beneficiaire", "code_bailleur")
LOGEMENT_COLS = ("allocataire_id", "code_bailleur", "code_locataire", "loyer_cents", "charges_cents",
                 "nb_colocataires", "date_entree", "date_sortie", "tiers_payant", "updated_at")
IMPAYE_COLS = ("allocataire_id", "logement_id", "code_bailleur", "idempotency_key",
               "montant_dette_cents", "loyer_mensuel_cents", "date_constitution", "periode_debut",
               "periode_fin", "plan_apurement", "date_signalement", "date_limite_plan",
               "maintien_aide", "statut", "source", "created_at")


class Invalid(ValueError):
    pass


@dataclass
class ImportReport:
    lines: int = 0
    imported: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    duplicates: int = 0

    @property
    def ok(self) -> bool:
        return not self.rejected


# --- validation (pure) -------------------------------------------------------------------

def _str(obj: dict, key: str, maximum: int, where: str = "", required: bool = True) -> str | None:
    value = obj.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise Invalid(f"{where}{key} manquant")
        return None
    if not isinstance(value, str):
        raise Invalid(f"{where}{key} doit être une chaîne")
    value = value.strip()
    if len(value) > maximum:
        raise Invalid(f"{where}{key} dépasse {maximum} caractères")
    return value


def _date(obj: dict, key: str, where: str = "", required: bool = True) -> date | None:
    value = obj.get(key)
    if value in (None, ""):
        if required:
            raise Invalid(f"{where}{key} manquant")
        return None
    if not isinstance(value, str):
        raise Invalid(f"{where}{key} doit être une date AAAA-MM-JJ")
    cached = _DATE_CACHE.get(value)
    if cached is not None:
        return cached
    if len(value) != 10:
        raise Invalid(f"{where}{key} n'est pas une date AAAA-MM-JJ valide ({value[:20]!r})")
    try:
        d = date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{where}{key} n'est pas une date AAAA-MM-JJ valide ({value[:20]!r})") from None
    if d.year < 1900 or d.year > 2100:
        raise Invalid(f"{where}{key} hors limites ({value})")
    if len(_DATE_CACHE) < 100_000:
        _DATE_CACHE[value] = d
    return d


_MOIS_CACHE: dict[str, date] = {}
_DATE_CACHE: dict[str, date] = {}


def _mois(obj: dict, key: str, where: str = "") -> date:
    value = obj.get(key)
    cached = _MOIS_CACHE.get(value) if isinstance(value, str) else None
    if cached is not None:
        return cached
    m = MOIS_RE.match(value) if isinstance(value, str) else None
    if not m:
        raise Invalid(f"{where}{key} doit être un mois AAAA-MM")
    parsed = date(int(m.group(1)), int(m.group(2)), 1)
    if len(_MOIS_CACHE) < 10_000:
        _MOIS_CACHE[value] = parsed
    return parsed


def _int(obj: dict, key: str, where: str = "", minimum: int = 0, maximum: int = 10**9,
         required: bool = True, default: int | None = None) -> int | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise Invalid(f"{where}{key} manquant")
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"{where}{key} doit être un entier")
    if not minimum <= value <= maximum:
        raise Invalid(f"{where}{key} hors limites ({value})")
    return value


def _bool(obj: dict, key: str, where: str = "", default: bool = False) -> bool:
    value = obj.get(key, default)
    if not isinstance(value, bool):
        raise Invalid(f"{where}{key} doit valoir true ou false")
    return value


def _list(obj: dict, key: str, maximum: int) -> list:
    value = obj.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise Invalid(f"{key} doit être une liste")
    if len(value) > maximum:
        raise Invalid(f"{key} : plus de {maximum} éléments")
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise Invalid(f"{key}[{i}] doit être un objet")
    return value


def _code(obj: dict, key: str, where: str) -> str:
    value = _str(obj, key, 30, where)
    if not CODE_RE.match(value):
        raise Invalid(f"{where}{key} contient des caractères non autorisés")
    return value


def validate_record(obj) -> dict:
    """Check one extract record; return it cleaned (dates parsed) or raise Invalid."""
    if not isinstance(obj, dict):
        raise Invalid("la ligne doit être un objet JSON")
    numero = obj.get("numero")
    if not isinstance(numero, str) or not is_valid_numero(numero):
        raise Invalid("numero : 7 chiffres attendus")
    nom = _str(obj, "nom", 100)
    if not normalize_name(nom):
        raise Invalid("nom vide après normalisation")
    dep = _str(obj, "departement", 3)
    if not DEP_RE.match(dep):
        raise Invalid(f"departement inconnu ({dep!r})")
    cp = _str(obj, "code_postal", 5)
    if not CP_RE.match(cp):
        raise Invalid("code_postal : 5 chiffres attendus")
    situation = _str(obj, "situation_familiale", 20)
    if situation not in SITUATIONS:
        raise Invalid(f"situation_familiale inconnue ({situation!r})")
    naissance = _date(obj, "date_naissance")
    if naissance > paris_today():
        raise Invalid("date_naissance dans le futur")
    rec = {
        "numero": numero, "nom": nom, "nom_normalise": normalize_name(nom),
        "prenom": _str(obj, "prenom", 100), "date_naissance": naissance,
        "adresse": _str(obj, "adresse", 200), "code_postal": cp,
        "commune": _str(obj, "commune", 100), "departement": dep, "situation_familiale": situation,
    }
    membres, conjoints = [], 0
    for i, m in enumerate(_list(obj, "membres", 30)):
        w = f"membres[{i}]."
        role = m.get("role")
        if role not in ("conjoint", "enfant"):
            raise Invalid(f"{w}role doit valoir conjoint ou enfant")
        conjoints += role == "conjoint"
        membres.append((role, _str(m, "nom", 100, w), _str(m, "prenom", 100, w),
                        _date(m, "date_naissance", w), _bool(m, "a_charge", w, True)))
    if conjoints > 1:
        raise Invalid("membres : plus d'un conjoint")
    rec["membres"] = membres
    quotients, seen = [], set()
    for i, q in enumerate(_list(obj, "quotients", 120)):
        w = f"quotients[{i}]."
        mois = _mois(q, "mois", w)
        if mois in seen:
            raise Invalid(f"{w}mois en double ({q['mois']})")
        seen.add(mois)
        quotients.append((mois, _int(q, "qf", w, 0, 100_000)))
    rec["quotients"] = quotients
    droits = []
    for i, d in enumerate(_list(obj, "droits", 60)):
        w = f"droits[{i}]."
        prestation = d.get("prestation")
        if prestation not in PRESTATIONS:
            raise Invalid(f"{w}prestation inconnue ({str(prestation)[:10]!r})")
        statut = d.get("statut")
        if statut not in DROIT_STATUTS:
            raise Invalid(f"{w}statut inconnu")
        debut, fin = _date(d, "date_debut", w), _date(d, "date_fin", w, required=False)
        if fin is not None and fin < debut:
            raise Invalid(f"{w}date_fin antérieure à date_debut")
        droits.append((prestation, _int(d, "montant_cents", w, 0, 10_000_000), debut, fin, statut))
    rec["droits"] = droits
    paiements = []
    for i, p in enumerate(_list(obj, "paiements", 600)):
        prestation, beneficiaire, montant = p.get("prestation"), p.get("beneficiaire"), p.get("montant_cents")
        if prestation not in PRESTATIONS:
            raise Invalid(f"paiements[{i}].prestation inconnue")
        if beneficiaire not in BENEFICIAIRES:
            raise Invalid(f"paiements[{i}].beneficiaire doit valoir allocataire ou bailleur")
        if type(montant) is not int or not 0 <= montant <= 10_000_000:
            raise Invalid(f"paiements[{i}].montant_cents doit être un entier entre 0 et 10000000")
        w = f"paiements[{i}]."
        code = _code(p, "code_bailleur", w) if beneficiaire == "bailleur" else None
        paiements.append((_mois(p, "mois", w), prestation, montant, _date(p, "date_paiement", w),
                          beneficiaire, code))
    rec["paiements"] = paiements
    logements, keys = [], set()
    for i, lg in enumerate(_list(obj, "logements", 20)):
        w = f"logements[{i}]."
        key = (_code(lg, "code_bailleur", w), _code(lg, "code_locataire", w))
        if key in keys:
            raise Invalid(f"{w}logement en double")
        keys.add(key)
        entree, sortie = _date(lg, "date_entree", w), _date(lg, "date_sortie", w, required=False)
        if sortie is not None and sortie < entree:
            raise Invalid(f"{w}date_sortie antérieure à date_entree")
        logements.append((key[0], key[1], _int(lg, "loyer_cents", w, 0, 10_000_000),
                          _int(lg, "charges_cents", w, 0, 10_000_000),
                          _int(lg, "nb_colocataires", w, 0, 20, required=False, default=0),
                          entree, sortie, _bool(lg, "tiers_payant", w)))
    rec["logements"] = logements
    impayes = []
    for i, im in enumerate(_list(obj, "impayes", 50)):
        w = f"impayes[{i}]."
        key = (_code(im, "code_bailleur", w), _code(im, "code_locataire", w))
        if key not in keys:
            raise Invalid(f"{w}ne correspond à aucun logement de la ligne")
        impayes.append({
            "code_bailleur": key[0], "code_locataire": key[1],
            "reference": _code(im, "reference", w),
            "montant_dette_cents": _int(im, "montant_dette_cents", w, 0, 100_000_000),
            "loyer_mensuel_cents": _int(im, "loyer_mensuel_cents", w, 0, 10_000_000),
            "date_constitution": _date(im, "date_constitution", w),
            "periode_debut": _date(im, "periode_debut", w, required=False),
            "periode_fin": _date(im, "periode_fin", w, required=False),
            "plan_apurement": _bool(im, "plan_apurement", w),
            "date_signalement": _date(im, "date_signalement", w),
            "maintien_aide": _bool(im, "maintien_aide", w, True),
        })
    rec["impayes"] = impayes
    return rec


def parse_lines(stream: IO[bytes]) -> Iterator[tuple[int, dict | None, str | None]]:
    """Yield (line number, record or None, reason or None); blank lines are skipped."""
    for number, raw in enumerate(stream, start=1):
        if len(raw) > MAX_LINE_BYTES:
            yield number, None, f"ligne trop longue (plus de {MAX_LINE_BYTES} octets)"
            continue
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            yield number, None, f"JSON invalide ({str(exc)[:80]})"
            continue
        try:
            yield number, validate_record(obj), None
        except Invalid as exc:
            yield number, None, str(exc)


# --- writing -------------------------------------------------------------------------------

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value) -> str:
    """One value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


class _Writer:
    def __init__(self):
        self.conn = db.session.connection()
        self.pg = self.conn.dialect.name == "postgresql"

    def copy(self, table: str, cols: tuple[str, ...], rows: list[tuple]) -> None:
        if not rows:
            return
        if self.pg:
            raw = self.conn.connection.driver_connection
            data = "".join("\t".join(map(_copy_text, row)) + "\n" for row in rows).encode()
            with raw.cursor() as cur:
                with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as cp:
                    cp.write(data)
        else:
            placeholders = ", ".join("?" for _ in cols)
            self.conn.exec_driver_sql(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({placeholders})", rows)

    def upsert_allocataires(self, rows: list[tuple]) -> dict[str, int]:
        cols = ", ".join(ALLOC_COLS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in ALLOC_COLS if c != "numero")
        self.conn.exec_driver_sql("DELETE FROM cdap_stg_allocataires")
        self.copy("cdap_stg_allocataires", ALLOC_COLS, rows)
        self.conn.exec_driver_sql(
            f"INSERT INTO cdap_allocataires ({cols}) SELECT {cols} FROM cdap_stg_allocataires WHERE true "
            f"ON CONFLICT (numero) DO UPDATE SET {updates}")
        ids = dict(self.conn.exec_driver_sql(
            "SELECT a.numero, a.id FROM cdap_allocataires a JOIN cdap_stg_allocataires s ON s.numero = a.numero").all())
        return ids

    def create_staging(self) -> None:
        cols = ", ".join(f"{c} {t}" for c, t in zip(ALLOC_COLS, (
            "varchar(7) PRIMARY KEY", "varchar(100)", "varchar(100)", "varchar(100)", "date",
            "varchar(200)", "varchar(5)", "varchar(100)", "varchar(3)", "varchar(20)", "timestamp")))
        self.conn.exec_driver_sql(f"CREATE TEMPORARY TABLE IF NOT EXISTS cdap_stg_allocataires ({cols})")

    def delete_children(self, ids: list[int]) -> None:
        id_list = ",".join(str(int(i)) for i in ids)
        for table in ("cdap_membres", "cdap_quotients", "cdap_droits", "cdap_paiements"):
            self.conn.exec_driver_sql(f"DELETE FROM {table} WHERE allocataire_id IN ({id_list})")


def write_batch(records: list[dict]) -> None:
    """Upsert one batch of validated records (distinct numéros) in the current transaction."""
    if not records:
        return
    from sqlalchemy import select
    from .models import Logement, SignalementImpaye
    from .interface_edi import echeance_plan_apurement, open_queue_items
    w = _Writer()
    w.create_staging()
    now = utcnow()
    ids = w.upsert_allocataires([tuple(r[c] for c in ALLOC_COLS[:-1]) + (now,) for r in records])
    w.delete_children(list(ids.values()))
    membres, quotients, droits, paiements = [], [], [], []
    for r in records:
        aid = ids[r["numero"]]
        membres.extend((aid, *m) for m in r["membres"])
        quotients.extend((aid, *q) for q in r["quotients"])
        droits.extend((aid, *d) for d in r["droits"])
        paiements.extend((aid, *p) for p in r["paiements"])
    w.copy("cdap_membres", MEMBRE_COLS, membres)
    w.copy("cdap_quotients", QF_COLS, quotients)
    w.copy("cdap_droits", DROIT_COLS, droits)
    w.copy("cdap_paiements", PAIEMENT_COLS, paiements)
    logements = [dict(zip(LOGEMENT_COLS, (ids[r["numero"]], *lg, now)))
                 for r in records for lg in r["logements"]]
    if logements:
        table = Logement.__table__
        stmt = _upsert(table, ["code_bailleur", "code_locataire", "allocataire_id"],
                       ["loyer_cents", "charges_cents", "nb_colocataires", "date_entree",
                        "date_sortie", "tiers_payant", "updated_at"])
        db.session.execute(stmt, logements)
    impayes = [(ids[r["numero"]], im) for r in records for im in r["impayes"]]
    if impayes:
        lg_ids = {}
        aids = sorted({aid for aid, _ in impayes})
        for lid, aid, cb, cl in db.session.execute(
                select(Logement.id, Logement.allocataire_id, Logement.code_bailleur, Logement.code_locataire)
                .where(Logement.allocataire_id.in_(aids))):
            lg_ids[(aid, cb, cl)] = lid
        rows, by_bailleur = [], {}
        for aid, im in impayes:
            key = "CAF:" + im["reference"]
            rows.append({
                "allocataire_id": aid, "logement_id": lg_ids.get((aid, im["code_bailleur"], im["code_locataire"])),
                "code_bailleur": im["code_bailleur"], "idempotency_key": key,
                "montant_dette_cents": im["montant_dette_cents"],
                "loyer_mensuel_cents": im["loyer_mensuel_cents"],
                "date_constitution": im["date_constitution"], "periode_debut": im["periode_debut"],
                "periode_fin": im["periode_fin"], "plan_apurement": im["plan_apurement"],
                "date_signalement": im["date_signalement"],
                "date_limite_plan": echeance_plan_apurement(im["date_constitution"]),
                "maintien_aide": im["maintien_aide"], "statut": "plan" if im["plan_apurement"] else "signale",
                "source": "extrait Caf", "created_at": now,
            })
            by_bailleur.setdefault(im["code_bailleur"], []).append(key)
        db.session.execute(insert_ignore(SignalementImpaye), rows)
        for cb, keys in by_bailleur.items():
            open_queue_items(cb, keys)


def _upsert(table, keys: list[str], update_cols: list[str]):
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(table)
    return stmt.on_conflict_do_update(index_elements=keys,
                                      set_={c: getattr(stmt.excluded, c) for c in update_cols})


def import_stream(stream: IO[bytes], batch_size: int = 2000, on_batch=None) -> ImportReport:
    """Validate and upsert a whole extract, committing each batch."""
    report = ImportReport()
    batch: dict[str, dict] = {}

    def flush():
        if batch:
            write_batch(list(batch.values()))
            db.session.commit()
            report.imported += len(batch)
            batch.clear()
            if on_batch:
                on_batch(report)

    for number, record, reason in parse_lines(stream):
        report.lines = number
        if record is None:
            report.rejected.append((number, reason))
            continue
        if record["numero"] in batch:
            report.duplicates += 1
            flush()  # a later line for the same numéro wins, in file order
        batch[record["numero"]] = record
        if len(batch) >= batch_size:
            flush()
    flush()
    return report


def import_records(records: Iterable[dict]) -> ImportReport:
    """Import already-built records (generator, demo seeder) through the same validation."""
    import io
    data = io.BytesIO("\n".join(json.dumps(r, ensure_ascii=False) for r in records).encode())
    return import_stream(data)
