"""Processing of one received EDI file (run by the `edi.process_file` job on the `edi` queue).

    signature → XML safety → streaming XSD validation, envelope rules and business rules per
    record (records staged in bulk) → duplicate claim → apply in batches (CDAP service
    functions, per-record idempotency keys) → signed ACCUSE stored immutably → final status.

Nothing is applied before the whole file validated (lxml's streaming validation raises at the
end of the document), staged rows are the per-record results. The database row is the source
of truth and every step is restartable: a redelivered job (worker killed) re-stages from
scratch if staging was not complete, otherwise resumes applying the rows not yet applied
(`rang_applique` moves in the same transaction as the CDAP effect, and CDAP is idempotent per key)
and builds the ACCUSE only if none is recorded. Memory stays flat: records stream in batches.
"""
from __future__ import annotations

import json
import logging
import os
import queue
import signal
import threading
import tempfile
import traceback
from datetime import date, timedelta
from itertools import islice
from pathlib import Path
from typing import Iterator

from flask import current_app
from sqlalchemy import and_, bindparam, case, delete, func, insert, literal, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from portal import jobs
from portal.audit import record_event
from portal.extensions import db
from portal.models import Organisation, utcnow

from . import rules, storage
from .services import max_file_bytes
from .models import (DOUBLON, EN_COURS, FINAL_STATUSES, QUARANTAINE, REJETE, TRAITE,
                     TRAITE_PARTIEL, EdiEnregistrement, EdiFichier)
from . import adapters

log = logging.getLogger(__name__)

STAGING = EdiEnregistrement.__table__
DEFAULT_BATCH = 10_000


class Rejet(Exception):
    """Technical rejection of the whole file (signature, XML, schema, envelope)."""

    def __init__(self, anomalies: list[rules.Anomalie], accuse_statut: str = "REJETE"):
        super().__init__("; ".join(a.libelle for a in anomalies))
        self.anomalies = anomalies
        self.accuse_statut = accuse_statut


class Doublon(Exception):
    def __init__(self, first_id: int, detail: str):
        super().__init__(detail)
        self.first_id, self.detail = first_id, detail


def batch_size() -> int:
    return int(current_app.config.get("EDI_BATCH_SIZE") or DEFAULT_BATCH)


# ---------------------------------------------------------------- test-only fault injection

def crash_point(name: str) -> None:
    """Testing only: EDI_TEST_CRASH_AT=<name> makes the worker SIGKILL itself, once (a marker
    file records that it happened). Inert unless PORTAL_ENV=testing."""
    if os.environ.get("EDI_TEST_CRASH_AT") != name or not current_app.config.get("TESTING"):
        return
    marker = Path(os.environ.get("EDI_TEST_CRASH_MARKER")
                  or Path(current_app.config["VAR_DIR"]) / f"edi-crash-{name}.done")
    if marker.exists():
        return
    marker.write_text(str(os.getpid()))
    log.warning("EDI_TEST_CRASH_AT=%s : arrêt brutal du worker", name)
    os.kill(os.getpid(), signal.SIGKILL)


# ---------------------------------------------------------------- entry point

def process_file(fichier_id: int, job: jobs.Job | None = None) -> dict:
    f = db.session.get(EdiFichier, fichier_id, populate_existing=True)
    if f is None:
        return {"absent": fichier_id}
    if f.statut in FINAL_STATUSES or f.statut == QUARANTAINE:
        return {"statut": f.statut, "deja_traite": True}
    max_deliveries = current_app.config["JOB_MAX_DELIVERIES"]
    f.statut = EN_COURS
    if job is not None:
        f.livraisons = job.deliveries
        f.bail_expire_le = job.lease_expires_at
    f.debut_traitement = f.debut_traitement or utcnow()
    db.session.commit()
    try:
        return _process(f, job)
    except Exception as exc:
        db.session.rollback()
        if type(exc).__name__ == "LeaseLost":  # another delivery owns the file now
            raise
        error = traceback.format_exc()[-4000:]
        f = db.session.get(EdiFichier, fichier_id, populate_existing=True)
        f.derniere_erreur = error
        if job is None or job.deliveries >= max_deliveries:
            quarantine(f, "erreur interne répétée" if job else "erreur interne")
            if job is not None:
                j = db.session.get(jobs.Job, job.id)
                j.last_error = error
            db.session.commit()
            return {"statut": QUARANTAINE}
        db.session.commit()
        raise


def quarantine(f: EdiFichier, motif: str) -> None:
    f.statut = QUARANTAINE
    f.fin_traitement = utcnow()
    f.bail_expire_le = None
    record_event("edi", "fichier_quarantaine", organisation_id=f.organisation_id,
                 target=f"edi_fichier:{f.id}", motif=motif)


def _process(f: EdiFichier, job: jobs.Job | None) -> dict:
    org = db.session.get(Organisation, f.organisation_id)
    try:
        if f.doublon_de_id is not None:  # same content already received (found at upload)
            _verify_signature(f, org)
            raise Doublon(f.doublon_de_id, f"contenu identique au fichier n° {f.doublon_de_id}")
        if not f.staging_complet:
            _stage(f, org, job)
        if f.mode == "PRODUCTION":
            _claim_identifier(f)
    except Rejet as rejet:
        return _finish_rejected(f, rejet)
    except Doublon as doublon:
        return _finish_doublon(f, doublon)

    if f.mode == "PRODUCTION":
        _apply(f, org, job)
    crash_point("before_accuse")
    return _finish(f)


# ---------------------------------------------------------------- steps

def _set_step(f: EdiFichier, etape: str, job: jobs.Job | None = None) -> None:
    f.etape = etape
    _heartbeat(f, job)
    db.session.commit()


def _heartbeat(f: EdiFichier, job: jobs.Job | None) -> None:
    """Extend the job's lease while a long file is being processed (fenced by the delivery
    counter when portal.jobs offers it: a taken-over attempt stops here with LeaseLost)."""
    if job is None:
        return
    seconds = current_app.config["JOB_LEASE_SECONDS"]
    now = utcnow()
    if f.bail_expire_le is not None and f.bail_expire_le - now > timedelta(seconds=seconds / 2):
        return
    f.bail_expire_le = now + timedelta(seconds=seconds)
    extend = getattr(jobs, "extend_lease", None)
    if extend is not None:
        extend(job, seconds)
    else:
        db.session.execute(update(jobs.Job).where(jobs.Job.id == job.id)
                           .values(lease_expires_at=f.bail_expire_le))


def _verify_signature(f: EdiFichier, org: Organisation) -> None:
    if not f.signature_sha256:
        raise Rejet([rules.anomalie("SIGNATURE_ABSENTE")])
    problem = adapters.verify_signature(storage.path_for(f.sha256),
                                        storage.read_bytes(f.signature_sha256), org, f.recu_le)
    if problem:
        code, message = problem
        raise Rejet([rules.Anomalie(code, message, rules.ERREUR)])


def _stage(f: EdiFichier, org: Organisation, job: jobs.Job | None) -> None:
    """Signature, then two streaming passes over the stored (immutable) bytes:

    1. complete XSD validation, envelope rules and record count, building nothing (lxml's
       streaming validation only says "valid" once the document ended);
    2. the validated file again, without the schema: records extracted, checked, staged (COPY)
       batch by batch; in PRODUCTION each committed batch is applied at once (see `_Applier`),
       so PostgreSQL applies batch n while batch n+1 is parsed.

    A restarted job stages again from scratch (applying again is a no-op per idempotency key)."""
    # A previous delivery may have staged part of the file: start again from a clean slate.
    db.session.execute(delete(STAGING).where(STAGING.c.fichier_id == f.id))
    f.nb_lus = f.nb_acceptes = f.nb_rejetes = f.nb_avertissements = f.nb_appliques = 0
    f.rang_applique = 0
    _set_step(f, "signature", job)
    _verify_signature(f, org)
    crash_point("after_verify")
    _set_step(f, "validation", job)

    path = storage.path_for(f.sha256)
    today = f.recu_le.date()
    try:
        # Refuses unsafe XML (DOCTYPE, entities, depth), non-XML and oversize input at once.
        stream = adapters.open_inbound(path, max_bytes=max_file_bytes(), extract=False)
        _check_envelope(f, org, stream.envelope)
        count_problems = rules.check_record_count(f.nb_annonce, stream.validate_to_end())
        if count_problems:
            raise Rejet(count_problems)
        if f.mode == "PRODUCTION":
            _claim_identifier(f)  # before anything is applied
        _set_step(f, "application" if f.mode == "PRODUCTION" else "controles", job)
        records = adapters.open_inbound(path, max_bytes=max_file_bytes(), validate=False).records()
        applier = _Applier(f, org) if f.mode == "PRODUCTION" else None
        try:
            _stage_records(f, org, records, today, job, applier)
        except BaseException:
            if applier is not None:
                applier.close(cancel=True)
            raise
        if applier is not None:
            applier.close()
    except adapters.InvalidInbound as exc:
        db.session.rollback()
        db.session.execute(delete(STAGING).where(STAGING.c.fichier_id == f.id))
        f.nb_lus = 0
        raise Rejet([rules.Anomalie(exc.code, detail, rules.ERREUR) for detail in exc.details],
                    accuse_statut=exc.accuse_statut) from None
    _mark_duplicate_record_ids(f)
    _count(f)
    f.staging_complet = True
    _set_step(f, "application", job)


def _stage_records(f: EdiFichier, org: Organisation, records: Iterator[dict], today: date,
                   job: jobs.Job | None, applier: "_Applier | None") -> None:
    flux = f.flux
    size = batch_size()
    code_bailleur, fichier_id = org.code_bailleur, f.id  # no lazy load while a COPY is open
    rang = 0
    while True:
        _bulk_transaction()
        first = rang + 1
        if flux in rules.NEEDS_TENANCY_DETAILS:
            batch = list(islice(records, size))
            tenancies = adapters.lookup_tenancies(code_bailleur, {
                (r.get("code_locataire"), r.get("numero_allocataire")) for r in batch})
        with StagingWriter(fichier_id, flux) as writer:
            if flux in rules.NEEDS_TENANCY_DETAILS:
                for record in batch:
                    rang += 1
                    writer.add(rang, record, rules.check_record(flux, record, tenancies.get(
                        (record.get("code_locataire"), record.get("numero_allocataire"))), today))
            else:
                # Streamed: each row goes to the COPY as soon as it is parsed, so that
                # PostgreSQL ingests it on the other core while the parsing goes on.
                for record in islice(records, size):
                    rang += 1
                    writer.add(rang, record,
                               rules.check_record(flux, record, rules.TENANCY_UNCHECKED, today))
        if rang >= first and flux not in rules.NEEDS_TENANCY_DETAILS:
            _check_tenancies(f, code_bailleur, flux, first, rang, today)
        f.nb_lus = rang
        _heartbeat(f, job)
        db.session.commit()
        if applier is not None and rang >= first:
            applier.submit(rang)
        if rang - first + 1 < size:
            break


class _Applier:
    """Applies each committed staging batch of a validated PRODUCTION file (ranks up to
    `upto`), one transaction per batch moving `rang_applique` with the CDAP effect.

    On PostgreSQL with a pooled engine it works in a thread with its own session (its own
    connection): the thread mostly waits on PostgreSQL, which then applies batch n on one core
    while this process parses batch n+1 on the other. Elsewhere (SQLite, or a session bound to
    one connection as in the tests) each batch is applied inline."""

    def __init__(self, f: EdiFichier, org: Organisation):
        self.args = (f.id, f.flux, org.code_bailleur, idempotency_key(org, f, ""), _source(f),
                     f.recu_le.date())
        self.done = 0
        self.error: BaseException | None = None
        bind = db.session.get_bind()
        self.threaded = bind.dialect.name == "postgresql" and isinstance(bind, Engine)
        if self.threaded:
            # Bounded: staging waits (and keeps heartbeating the lease between batches) when
            # applying lags more than two batches behind.
            self.queue: queue.Queue = queue.Queue(maxsize=2)
            self.thread = threading.Thread(target=self._run, name=f"edi-apply-{f.id}",
                                           args=(current_app._get_current_object(),), daemon=True)
            self.thread.start()

    def submit(self, upto: int) -> None:
        if not self.threaded:
            self._apply(upto)
            return
        self._put(upto)

    def _put(self, item: int | None) -> None:
        while self.thread.is_alive():
            if self.error is not None:
                break
            try:
                self.queue.put(item, timeout=1)
                return
            except queue.Full:
                continue
        if item is not None and item >= 0:  # the thread stopped: a batch would be lost
            raise RuntimeError("application des lots interrompue") from self.error

    def close(self, cancel: bool = False) -> None:
        if not self.threaded:
            return
        self._put(-1 if cancel else None)
        self.thread.join()
        if self.error is not None and not cancel:
            raise RuntimeError("application des lots interrompue") from self.error

    def _apply(self, upto: int) -> None:
        _apply_range(*self.args, after=self.done, upto=upto)
        db.session.commit()
        first = self.done == 0
        self.done = upto
        if first:
            crash_point("mid_apply")

    def _run(self, app) -> None:
        with app.app_context():
            try:
                while True:
                    upto = self.queue.get()
                    if upto is None or upto < 0:
                        return
                    if self.error is None:
                        self._apply(upto)
            except BaseException as exc:  # reported to the staging thread
                db.session.rollback()
                self.error = exc
            finally:
                db.session.remove()


def _bulk_transaction() -> None:
    """PostgreSQL settings of a staging or apply batch's transaction:
    - it commits without waiting for its WAL flush: a crash of PostgreSQL may then lose the
      last such batches, never half of one, and the pipeline redoes them (staging restarts,
      apply resumes at `rang_applique`, idempotent per key); the final status commit is
      synchronous and flushes everything before it;
    - no JIT compilation: with large CDAP tables the per-batch joins cross PostgreSQL's JIT
      cost threshold, and compiling for every batch costs more than it saves."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL synchronous_commit TO OFF; SET LOCAL jit TO OFF"))


def _check_envelope(f: EdiFichier, org: Organisation, env: dict) -> None:
    f.flux = env.get("flux")
    f.identifiant_fichier = env.get("identifiant_fichier")
    f.emetteur = env.get("emetteur")
    f.numero_sequence = env.get("numero_sequence")
    f.date_creation = env.get("date_creation")
    f.nb_annonce = env.get("nombre_enregistrements")
    f.mode = env.get("mode")
    f.version_schema = env.get("version_schema")
    db.session.commit()  # keep the envelope for the ACCUSE even if the file is rejected
    if f.flux not in rules.CHECKS:
        raise Rejet([rules.anomalie("FLUX_INATTENDU", f"un fichier {f.flux} ne s'envoie pas à la Caf")])
    if f.mode == "PRODUCTION":
        _check_identifier_free(f)
    siren = (org.siret or "")[:9] or None
    problems = rules.check_envelope(env, code_bailleur=org.code_bailleur, siren=siren,
                                    received_at=f.recu_le,
                                    derniere_sequence=_last_sequence(f) if f.mode == "PRODUCTION" else None,
                                    receveur_attendu=adapters.caf_code())
    errors = [p for p in problems if p.severite == rules.ERREUR]
    f.motifs = [p.as_dict() for p in problems]
    if errors:
        raise Rejet(problems)
    db.session.commit()


def identifier_key(f: EdiFichier) -> str:
    return f"{f.organisation_id}:{f.identifiant_fichier}"


def _check_identifier_free(f: EdiFichier) -> None:
    holder = db.session.scalar(select(EdiFichier.id).where(
        EdiFichier.cle_identifiant == identifier_key(f), EdiFichier.id != f.id))
    if holder is not None:
        raise Doublon(holder, f"identifiant de fichier « {f.identifiant_fichier} » déjà reçu "
                              f"(fichier n° {holder})")


def _claim_identifier(f: EdiFichier) -> None:
    """Take the (sender, file identifier) key; the unique index arbitrates concurrent files."""
    if f.cle_identifiant == identifier_key(f):
        return
    try:
        with db.session.begin_nested():
            f.cle_identifiant = identifier_key(f)
            db.session.flush()
    except IntegrityError:
        f.cle_identifiant = None
        holder = db.session.scalar(select(EdiFichier.id).where(
            EdiFichier.cle_identifiant == identifier_key(f)))
        raise Doublon(holder, f"identifiant de fichier « {f.identifiant_fichier} » déjà reçu "
                              f"(fichier n° {holder})") from None
    db.session.commit()


def _last_sequence(f: EdiFichier) -> int | None:
    return db.session.scalar(select(func.max(EdiFichier.numero_sequence)).where(
        EdiFichier.organisation_id == f.organisation_id, EdiFichier.flux == f.flux,
        EdiFichier.mode == "PRODUCTION", EdiFichier.statut.in_((TRAITE, TRAITE_PARTIEL)),
        EdiFichier.id != f.id))


# Staged values of each flow: record key -> staging column (edi.formats.RECORD_FIELDS keys).
STAGED_VALUES = {
    "LOYERS": ("code_agence", "loyer_cents", "charges_cents", "date_effet", "nb_colocataires"),
    "MOUVEMENTS": ("code_agence", "type", "date_mouvement", "loyer_cents", "charges_cents"),
    "IMPAYES": ("code_agence", "montant_dette_cents", "loyer_mensuel_cents", "date_constitution",
                "periode_debut", "periode_fin", "plan_apurement"),
}
VALUE_COLUMNS = {"type": "type_mouvement"}
COMMON_COLUMNS = ("fichier_id", "rang", "identifiant", "code_locataire", "numero_allocataire",
                  "accepte", "severite", "code", "libelle", "anomalies", "nb_anomalies")


def staged_columns(flux: str) -> tuple[str, ...]:
    return COMMON_COLUMNS + tuple(VALUE_COLUMNS.get(k, k) for k in STAGED_VALUES[flux])


class StagingWriter:
    """Writes staged rows: one COPY per batch on PostgreSQL, rows sent as they are added
    (performance-notes: COPY ≈ 4x executemany); an executemany INSERT elsewhere.
    Anomalies are JSON-encoded only for the records that have some."""

    def __init__(self, fichier_id: int, flux: str):
        self.fichier_id, self.keys = fichier_id, STAGED_VALUES[flux]
        self.columns = staged_columns(flux)
        self.conn = db.session.connection()
        self.postgresql = self.conn.dialect.name == "postgresql"
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
            found = json.dumps(found, ensure_ascii=False) if self.postgresql else found
        else:
            found = "[]" if self.postgresql else []
        get = record.get
        row = (self.fichier_id, rang, get("identifiant") or str(rang), get("code_locataire"),
               get("numero_allocataire"), accepted, severite, code, libelle, found,
               len(anomalies), *[get(k) for k in self.keys])
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
        elif exc_type is None and self.rows:
            self.conn.execute(insert(STAGING), [dict(zip(self.columns, row)) for row in self.rows])


def _check_tenancies(f: EdiFichier, code_bailleur: str, flux: str, first: int, last: int,
                     today: date) -> None:
    """Staged records of ranks first..last were checked assuming a known tenancy: one set-based
    query (CDAP) finds those that are not a tenancy of this landlord, whose checks are then run
    again with tenancy=None (complete anomaly list, in the rules' order)."""
    pair = select(STAGING.c.rang.label("key"), STAGING.c.code_locataire,
                  STAGING.c.numero_allocataire).where(STAGING.c.fichier_id == f.id,
                                                      STAGING.c.rang.between(first, last))
    unknown = adapters.unknown_tenancies(code_bailleur, pair)
    if not unknown:
        return
    values = [STAGING.c[VALUE_COLUMNS.get(k, k)].label(k) for k in STAGED_VALUES[flux]]
    updates = []
    for chunk in (unknown[i:i + 1000] for i in range(0, len(unknown), 1000)):
        rows = db.session.execute(
            select(STAGING.c.rang, STAGING.c.code_locataire, STAGING.c.numero_allocataire, *values)
            .where(STAGING.c.fichier_id == f.id, STAGING.c.rang.in_(chunk))).mappings()
        for row in rows:
            anomalies = rules.check_record(flux, dict(row), None, today)
            accepted, code, libelle, severite = rules.summarise(anomalies)
            updates.append({"b_rang": row["rang"], "b_accepte": accepted, "b_code": code,
                            "b_libelle": libelle, "b_severite": severite,
                            "b_anomalies": [a.as_dict() for a in anomalies],
                            "b_nb": len(anomalies)})
    db.session.execute(
        update(STAGING).where(STAGING.c.fichier_id == f.id, STAGING.c.rang == bindparam("b_rang"))
        .values(accepte=bindparam("b_accepte"), code=bindparam("b_code"),
                libelle=bindparam("b_libelle"), severite=bindparam("b_severite"),
                anomalies=bindparam("b_anomalies", type_=STAGING.c.anomalies.type),
                nb_anomalies=bindparam("b_nb")),
        updates)


def bulk_insert_staging(rows: list[dict]) -> None:
    """Insert staged rows given as dicts (tests, small batches)."""
    db.session.execute(insert(STAGING), rows)


def _mark_duplicate_record_ids(f: EdiFichier) -> None:
    """Second and later occurrences of a record identifier are rejected (set-based: one hash
    aggregate to find out whether there is any, a window function only if there is)."""
    any_dup = db.session.execute(
        select(STAGING.c.identifiant).where(STAGING.c.fichier_id == f.id)
        .group_by(STAGING.c.identifiant).having(func.count() > 1).limit(1)).first()
    if any_dup is None:
        return
    ranked = (select(STAGING.c.rang, func.row_number().over(
        partition_by=STAGING.c.identifiant, order_by=STAGING.c.rang).label("n"))
        .where(STAGING.c.fichier_id == f.id).subquery())
    later = select(ranked.c.rang).where(ranked.c.n > 1)
    a = rules.anomalie("IDENTIFIANT_ENREGISTREMENT_EN_DOUBLE")
    db.session.execute(update(STAGING).where(STAGING.c.fichier_id == f.id, STAGING.c.rang.in_(later))
                       .values(accepte=False, code=a.code, libelle=a.libelle, severite=a.severite,
                               anomalies=[a.as_dict()], nb_anomalies=1))


def _count(f: EdiFichier) -> None:
    row = db.session.execute(select(
        func.count(), func.sum(func.cast(STAGING.c.accepte, db.Integer)),
        func.sum(func.cast(STAGING.c.severite == rules.AVERTISSEMENT, db.Integer)),
        func.sum(case((and_(STAGING.c.accepte, STAGING.c.rang <= (f.rang_applique or 0)), 1), else_=0)),
    ).where(STAGING.c.fichier_id == f.id)).one()
    total, accepted, warnings, applied = (int(x or 0) for x in row)
    f.nb_lus = total
    f.nb_acceptes = accepted
    f.nb_rejetes = total - accepted
    f.nb_avertissements = warnings
    f.nb_appliques = applied


def idempotency_key(org: Organisation, f: EdiFichier, identifiant: str) -> str:
    return f"EDI:{org.code_bailleur}:{f.identifiant_fichier}:{identifiant}"


def _source(f: EdiFichier) -> str:
    return f"EDI fichier {f.id} ({f.flux} {f.identifiant_fichier})"


def staged_rows(fichier_id: int, flux: str, key_prefix: str, after: int, upto: int):
    """SELECT of the accepted staged records of ranks after+1..upto, labelled as the CDAP
    service functions take them (with their idempotency key: key_prefix + identifiant)."""
    key = literal(key_prefix) + STAGING.c.identifiant
    values = [STAGING.c[VALUE_COLUMNS.get(k, k)].label(k) for k in STAGED_VALUES[flux]]
    return (select(key.label("idempotency_key"), STAGING.c.code_locataire,
                   STAGING.c.numero_allocataire, *values)
            .where(STAGING.c.fichier_id == fichier_id, STAGING.c.rang > after,
                   STAGING.c.rang <= upto, STAGING.c.accepte.is_(True))
            .order_by(STAGING.c.rang))


def _apply_range(fichier_id: int, flux: str, code_bailleur: str, key_prefix: str, source: str,
                 date_signalement: date, *, after: int, upto: int) -> None:
    """Apply the accepted staged records of ranks after+1..upto and move the watermark, in the
    current transaction (the caller commits)."""
    _bulk_transaction()
    adapters.apply_staged(flux, code_bailleur, staged_rows(fichier_id, flux, key_prefix, after, upto),
                          source, date_signalement)
    applied = select(func.count()).where(
        STAGING.c.fichier_id == fichier_id, STAGING.c.rang > after, STAGING.c.rang <= upto,
        STAGING.c.accepte.is_(True)).scalar_subquery()
    db.session.execute(update(EdiFichier.__table__).where(EdiFichier.__table__.c.id == fichier_id)
                       .values(rang_applique=upto,
                               nb_appliques=EdiFichier.__table__.c.nb_appliques + applied))


def _apply(f: EdiFichier, org: Organisation, job: jobs.Job | None) -> None:
    """Apply what staging did not (a job restarted after staging): batches of ranks after
    `rang_applique`, one transaction per batch, the watermark moving with the CDAP effect."""
    f.etape = "application"
    db.session.commit()
    size = batch_size()
    args = (f.id, f.flux, org.code_bailleur, idempotency_key(org, f, ""), _source(f), f.recu_le.date())
    total = f.nb_lus or 0
    done_batches = 0
    while (f.rang_applique or 0) < total:
        after = f.rang_applique or 0
        _apply_range(*args, after=after, upto=min(after + size, total))
        _heartbeat(f, job)
        db.session.commit()
        done_batches += 1
        if done_batches == 1:
            crash_point("mid_apply")


# ---------------------------------------------------------------- endings

def iter_results(fichier_id: int, size: int = 5000) -> Iterator[dict]:
    """One result per anomaly of the staged records, in file order, read in keyset batches
    (memory stays flat whatever the file size)."""
    last = 0
    while True:
        batch = db.session.execute(
            select(STAGING.c.rang, STAGING.c.identifiant, STAGING.c.anomalies)
            .where(STAGING.c.fichier_id == fichier_id, STAGING.c.nb_anomalies > 0,
                   STAGING.c.rang > last)
            .order_by(STAGING.c.rang).limit(size)).all()
        if not batch:
            return
        for rang, identifiant, anomalies in batch:
            if isinstance(anomalies, str):
                anomalies = json.loads(anomalies)
            for a in anomalies:
                yield {"rang": rang, "identifiant": identifiant, "code": a["code"],
                       "libelle": a["libelle"], "severite": a["severite"]}
        last = batch[-1][0]


def result_count(fichier_id: int) -> int:
    return int(db.session.scalar(select(func.coalesce(func.sum(STAGING.c.nb_anomalies), 0))
                                 .where(STAGING.c.fichier_id == fichier_id)) or 0)


ACCUSE_STATUTS = {TRAITE: "ACCEPTE", TRAITE_PARTIEL: "ACCEPTE_PARTIELLEMENT", REJETE: "REJETE",
                  DOUBLON: "DOUBLON"}  # + NON_CONFORME for schema rejections


def _write_accuse(f: EdiFichier, accuse_statut: str, with_records: bool) -> None:
    """Build, sign and store the ACCUSE once; the row then points to it forever."""
    if f.accuse_sha256:
        return
    f.etape = "accuse"
    f.accuse_le = f.accuse_le or utcnow()
    db.session.commit()
    org = db.session.get(Organisation, f.organisation_id)
    records = iter_results(f.id) if with_records else iter(())
    count = result_count(f.id) if with_records else 0
    doublon = db.session.get(EdiFichier, f.doublon_de_id) if accuse_statut == "DOUBLON" else None
    tmp_dir = storage.root() / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="accuse-")
    try:
        with os.fdopen(fd, "wb") as out:
            adapters.write_accuse(out, f, org, accuse_statut, records, count, doublon)
        with open(tmp_name, "rb") as fh:
            stored = storage.store_stream(fh)
        signature = adapters.sign_outbound(stored.path)
        sig = storage.store_bytes(signature)
    finally:
        os.unlink(tmp_name)
    f.accuse_sha256 = stored.sha256
    f.accuse_signature_sha256 = sig.sha256


def _close(f: EdiFichier, statut: str) -> dict:
    f.statut = statut
    f.etape = "termine"
    f.fin_traitement = utcnow()
    f.bail_expire_le = None
    if f.mode == "TEST":
        f.cle_contenu = None  # a vendor may send its test file again
        f.cle_identifiant = None
    record_event("edi", "fichier_traite", organisation_id=f.organisation_id,
                 target=f"edi_fichier:{f.id}", statut=statut, flux=f.flux,
                 acceptes=f.nb_acceptes, rejetes=f.nb_rejetes, appliques=f.nb_appliques)
    db.session.commit()
    return {"fichier_id": f.id, "statut": statut, "acceptes": f.nb_acceptes,
            "rejetes": f.nb_rejetes, "appliques": f.nb_appliques}


def _finish(f: EdiFichier) -> dict:
    _count(f)
    statut = rules.file_outcome(f.nb_lus, f.nb_acceptes, f.nb_rejetes)
    motifs = [m for m in (f.motifs or []) if m["code"] not in ("AUCUN_ENREGISTREMENT_ACCEPTE", "MODE_TEST")]
    if statut == REJETE:
        motifs.append(rules.anomalie("AUCUN_ENREGISTREMENT_ACCEPTE").as_dict())
    if f.mode == "TEST":
        motifs.append(rules.anomalie("MODE_TEST").as_dict())
    f.motifs = motifs
    _write_accuse(f, ACCUSE_STATUTS[statut], with_records=True)
    return _close(f, statut)


def _finish_rejected(f: EdiFichier, rejet: Rejet) -> dict:
    db.session.rollback()
    f = db.session.get(EdiFichier, f.id, populate_existing=True)
    db.session.execute(delete(STAGING).where(STAGING.c.fichier_id == f.id))
    f.motifs = [a.as_dict() for a in rejet.anomalies]
    f.rejet_technique = True
    f.staging_complet = False
    f.nb_lus = f.nb_acceptes = f.nb_rejetes = f.nb_avertissements = f.nb_appliques = 0
    f.cle_contenu = None      # a technical rejection frees the content and the identifier
    f.cle_identifiant = None
    db.session.commit()
    _write_accuse(f, rejet.accuse_statut, with_records=False)
    return _close(f, REJETE)


def _finish_doublon(f: EdiFichier, doublon: Doublon) -> dict:
    db.session.rollback()
    f = db.session.get(EdiFichier, f.id, populate_existing=True)
    db.session.execute(delete(STAGING).where(STAGING.c.fichier_id == f.id))
    f.doublon_de_id = doublon.first_id
    f.motifs = [rules.anomalie("DOUBLON", doublon.detail).as_dict()]
    f.staging_complet = False
    f.cle_identifiant = None
    f.nb_lus = f.nb_acceptes = f.nb_rejetes = f.nb_avertissements = f.nb_appliques = 0
    db.session.commit()
    _write_accuse(f, "DOUBLON", with_records=False)
    return _close(f, DOUBLON)
