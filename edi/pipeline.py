"""Processing of one received EDI file (run by the `edi.process_file` job on the `edi` queue).

    signature → one streaming pass: XSD validation, envelope rules, duplicate claim, records
    checked per batch and applied (CDAP service functions, per-record idempotency keys) while
    the next batch is read → signed ACCUSE stored immutably → final status.

lxml's streaming validation may only conclude at the end of the document, so the effects of a
file go into one transaction, committed only once the whole file has validated, together with
its records' anomalies and the file's "applied" mark (`staging_complet`). The database row is
the source of truth and every step is restartable: a redelivered job (worker killed) finds
nothing of an interrupted attempt and starts again, or, if the file was applied, builds the
ACCUSE only if none is recorded. Memory stays flat: records stream in batches, the identifiers
already met are kept by the database (`edi.record_ids`). Only the records with anomalies are
staged.
"""
from __future__ import annotations

import gc
import json
import logging
import os
import queue
import signal
import threading
import tempfile
import time
import traceback
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Iterator

from flask import current_app
from sqlalchemy import case, delete, func, insert, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from portal import jobs
from portal.audit import record_event
from portal.extensions import db
from portal.models import Organisation, utcnow

from . import rules, storage
from .record_ids import SeenIdentifiers
from .services import max_file_bytes
from .models import (DOUBLON, EN_COURS, FINAL_STATUSES, QUARANTAINE, REJETE, TRAITE,
                     TRAITE_PARTIEL, EdiEnregistrement, EdiFichier)
from . import adapters

log = logging.getLogger(__name__)

STAGING = EdiEnregistrement.__table__
DUPLICATE_RECORD = "IDENTIFIANT_ENREGISTREMENT_EN_DOUBLE"
DEFAULT_BATCH = 5_000
PROGRESS_SECONDS = 1.0  # progress shown and lease extended at most this often while reading


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

    crash_point("before_accuse")
    return _finish(f)


# ---------------------------------------------------------------- steps

def _set_step(f: EdiFichier, etape: str, job: jobs.Job | None = None) -> None:
    f.etape = etape
    _heartbeat(f, job)
    db.session.commit()


def _heartbeat(f: EdiFichier, job: jobs.Job | None) -> None:
    """Extend the job's lease while a long file is being processed (fenced by the delivery
    counter: a taken-over attempt stops here with LeaseLost)."""
    if job is None:
        return
    seconds = current_app.config["JOB_LEASE_SECONDS"]
    now = utcnow()
    if f.bail_expire_le is not None and f.bail_expire_le - now > timedelta(seconds=seconds / 2):
        return
    f.bail_expire_le = now + timedelta(seconds=seconds)
    jobs.extend_lease(job, seconds)


def _verify_signature(f: EdiFichier, org: Organisation) -> None:
    if not f.signature_sha256:
        raise Rejet([rules.anomalie("SIGNATURE_ABSENTE")])
    problem = adapters.verify_signature(storage.path_for(f.sha256),
                                        storage.read_bytes(f.signature_sha256), org, f.recu_le)
    if problem:
        code, message = problem
        raise Rejet([rules.Anomalie(code, message, rules.ERREUR)])


def _stage(f: EdiFichier, org: Organisation, job: jobs.Job | None) -> None:
    """Signature, then ONE streaming pass over the stored (immutable) bytes: XSD validation,
    envelope rules, records extracted and checked batch by batch, and their CDAP effects
    applied by `_Applier` while the next batch is read.

    lxml's streaming validation may only conclude at the end of the document, so the effects
    go into one transaction that commits only once the whole file has validated: the effects,
    the records with anomalies and the file's "applied" mark (`staging_complet`) commit
    together or not at all. A restarted job (worker killed) finds nothing of an interrupted
    attempt and starts again; idempotency keys per record make a replay apply nothing twice."""
    db.session.execute(delete(STAGING).where(STAGING.c.fichier_id == f.id))
    f.nb_lus = f.nb_acceptes = f.nb_rejetes = f.nb_avertissements = f.nb_appliques = 0
    f.rang_applique = 0
    _set_step(f, "signature", job)
    _verify_signature(f, org)
    crash_point("after_verify")
    _set_step(f, "validation", job)

    path = storage.path_for(f.sha256)
    try:
        # Refuses unsafe XML (DOCTYPE, entities, depth), non-XML and oversize input at once.
        stream = adapters.open_inbound(path, max_bytes=max_file_bytes(), columns=True)
        _check_envelope(f, org, stream.envelope)
        if f.mode == "PRODUCTION":
            _claim_identifier(f)  # before anything is applied
        _set_step(f, "application" if f.mode == "PRODUCTION" else "controles", job)
        applier = _Applier(f, org)
        try:
            with _cyclic_gc_paused(), _loaded_across_commits():
                lus = _read_records(f, org, stream.records(), f.recu_le.date(), job, applier)
                count_problems = rules.check_record_count(f.nb_annonce, lus)
                if count_problems:
                    raise Rejet(count_problems)
                applier.finish(lus)
        except BaseException:
            applier.cancel()
            raise
    except adapters.InvalidInbound as exc:
        db.session.rollback()
        raise Rejet([rules.Anomalie(exc.code, detail, rules.ERREUR) for detail in exc.details],
                    accuse_statut=exc.accuse_statut) from None
    db.session.refresh(f)  # counts and staging_complet as the applier committed them
    _set_step(f, "application", job)


@contextmanager
def _cyclic_gc_paused():
    """No automatic cyclic garbage collection during the pass. A record and what is built for
    it (dict, strings, anomalies) hold no cycle and are freed by reference counting; but the
    allocations trigger a collection every few hundred records, each traversing the whole
    worker heap (Flask, SQLAlchemy): about 5 % of the pass. The few cycles made meanwhile are
    collected after it; memory stays flat (bench: peak of a 1M-record file)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def _loaded_across_commits():
    """The pass's progress commits leave the file and the job loaded: expired by each commit,
    they were reloaded by the next heartbeat (two SELECTs, each round trip also waiting for the
    applier thread to hand the GIL back). Only this attempt writes them meanwhile; the lease is
    fenced by the delivery counter in the UPDATE itself, and the file is refreshed after the
    pass."""
    session = db.session()
    expire = session.expire_on_commit
    session.expire_on_commit = False
    try:
        yield
    finally:
        session.expire_on_commit = expire


def _read_records(f: EdiFichier, org: Organisation, records: Iterator, today: date,
                  job: jobs.Job | None, applier: "_Applier") -> int:
    """Check the records batch by batch and hand each batch to the applier; returns the number
    of records read. Memory stays flat: one batch at a time (plus the applier's queue).

    A batch is a list of (rang, record, anomalies). A block of LOYERS records with the same
    elements read at once (`formats.RecordColumns`) whose values are all plausible stays one
    item, (rang of its first record, the block, None): no dict and no check call per record on
    the bulk path of a large file. Any other record is a dict with its anomalies (None for a
    flow checked when applied)."""
    flux = f.flux
    size = batch_size()
    # Flows whose checks need the tenancy's details are checked where they are applied.
    check = None if flux in rules.NEEDS_TENANCY_DETAILS else rules.CHECKS[flux]
    bulk = flux == "LOYERS"
    takes = _Takes(records)
    rang = 0
    progress_at = time.monotonic()
    while True:
        wanted = tail_batch_size(size, rang, f.nb_annonce) if applier.threaded else size
        pieces, count = takes.take(wanted)
        if not count:
            break
        items = []
        append = items.append
        for piece in pieces:
            if type(piece) is not dict:
                if bulk and rules.loyers_plausible(piece, today):
                    append((rang + 1, piece, None))
                    rang += len(piece)
                    continue
                records_of_piece = piece.records()
            else:
                records_of_piece = (piece,)
            for record in records_of_piece:
                rang += 1
                append((rang, record, check(record, rules.TENANCY_UNCHECKED, today) if check else None))
        applier.submit(items)
        # Progress and lease, at most every PROGRESS_SECONDS: each commit's round trips wait for
        # the applier thread to hand the GIL back (up to 5 ms each), which cost a fifth of the
        # reading when it was done for every batch (py-spy, 100k bench). Inline, the effects
        # share this transaction: nothing is committed before the end.
        if applier.threaded and time.monotonic() - progress_at >= PROGRESS_SECONDS:
            f.nb_lus = rang
            _heartbeat(f, job)
            db.session.commit()
            progress_at = time.monotonic()
        if count < wanted:
            break
    return rang


class _Takes:
    """Exactly `n` records at a time from the stream of record dicts and blocks of records
    (`formats.RecordColumns`): a block that straddles two batches is split."""

    def __init__(self, records: Iterator):
        self.records, self.rest = records, None

    def take(self, n: int) -> tuple[list, int]:
        pieces, count = [], 0
        while count < n:
            piece = self.rest if self.rest is not None else next(self.records, None)
            self.rest = None
            if piece is None:
                break
            if type(piece) is not dict:
                if count + len(piece) > n:
                    piece, self.rest = piece.split(n - count)
                count += len(piece)
            else:
                count += 1
            pieces.append(piece)
        return pieces, count


def _expand(rang: int, block) -> list[tuple[int, dict, list]]:
    """The items of a block of plausible records, one per record (no anomaly)."""
    return [(r, record, []) for r, record in enumerate(block.records(), rang)]


def _one_per_record(items: list[tuple], expanded: dict | None = None) -> list[tuple]:
    """`items` with each block replaced by its records' items (`expanded`: those already made,
    by the block's first rank)."""
    expanded = expanded or {}
    return [e for item in items for e in ((item,) if type(item[1]) is dict
                                          else expanded.get(item[0]) or _expand(item[0], item[1]))]


def tail_batch_size(size: int, read: int, announced: int | None) -> int:
    """Records to read for the next batch: `size`, except for the last `size` records that the
    envelope announces, read by quarters. The applier thread then ends the file a quarter of a
    batch after the reading does, instead of a whole batch (≈ 0.2 s of PostgreSQL per 5,000
    LOYERS). A wrong count only changes the batching: the file is refused for it anyway."""
    if announced is None or announced - read > size:
        return size
    return max(size // 4, 1)


class _Applier:
    """Applies the checked batches of one file in a single transaction: the accepted records'
    CDAP effects (PRODUCTION only; a TEST file applies each batch in a savepoint rolled back at
    once, so that it meets exactly the checks a real one would), and the records with anomalies
    (staging table), including the unknown tenancies that applying reveals. `finish` marks the
    file applied and commits it all; `cancel` rolls it all back.

    For LOYERS on PostgreSQL with a pooled engine it works in a thread with its own session (its
    own connection): the thread mostly waits on PostgreSQL, which then applies batch n on one
    core while this process parses batch n+1 on the other. Elsewhere (MOUVEMENTS and IMPAYES,
    SQLite, or a session bound to one connection as in the tests) it works inline, in the
    caller's transaction."""

    def __init__(self, f: EdiFichier, org: Organisation):
        self.fichier_id, self.flux, self.code_bailleur = f.id, f.flux, org.code_bailleur
        self.key_prefix = idempotency_key(org, f, "")
        self.source, self.today = _source(f), f.recu_le.date()
        self.production = f.mode == "PRODUCTION"
        self.applied = 0
        self.seen: SeenIdentifiers | None = None
        self.batches = 0
        self.error: BaseException | None = None
        bind = db.session.get_bind()
        # MOUVEMENTS and IMPAYES are checked against the tenancies as the file's earlier batches
        # left them: applied inline, in the transaction whose lookups see those batches' effects
        # (a thread's uncommitted work is invisible to the reading connection). Their files are
        # small; LOYERS, the large ones, are checked without the database.
        self.threaded = (bind.dialect.name == "postgresql" and isinstance(bind, Engine)
                         and f.flux not in rules.NEEDS_TENANCY_DETAILS)
        if self.threaded:
            # Bounded: reading waits (and keeps heartbeating the lease between batches) when
            # applying lags more than two batches behind.
            self.queue: queue.Queue = queue.Queue(maxsize=2)
            self.thread = threading.Thread(target=self._run, name=f"edi-apply-{f.id}",
                                           args=(current_app._get_current_object(),), daemon=True)
            self.thread.start()

    # ------------------------------------------------------------ caller side

    def submit(self, items: list[tuple[int, dict, list]]) -> None:
        if not self.threaded:
            self._batch(items)
            return
        self._put(("batch", items))

    def finish(self, lus: int) -> None:
        """Mark the file applied (counts, staging complete) and commit everything."""
        if not self.threaded:
            self._finish(lus)
            return
        db.session.commit()  # nothing of ours may lock the file's row while the applier updates it
        self._put(("finish", lus))
        self.thread.join()
        if self.error is not None:
            raise RuntimeError("application des lots interrompue") from self.error

    def cancel(self) -> None:
        if not self.threaded:
            db.session.rollback()
            return
        if self.thread.is_alive():
            self._put(("cancel", None), required=False)
            self.thread.join()

    def _put(self, item: tuple, required: bool = True) -> None:
        while self.thread.is_alive():
            if self.error is not None:
                break
            try:
                self.queue.put(item, timeout=1)
                return
            except queue.Full:
                continue
        if required:  # the thread stopped: a batch would be lost
            raise RuntimeError("application des lots interrompue") from self.error

    # ------------------------------------------------------------ applier side

    def _run(self, app) -> None:
        with app.app_context():
            try:
                while True:
                    kind, value = self.queue.get()
                    if kind == "cancel":
                        db.session.rollback()
                        return
                    if kind == "finish":
                        self._finish(value)
                        return
                    self._batch(value)
            except BaseException as exc:  # reported to the reading thread
                db.session.rollback()
                self.error = exc
            finally:
                db.session.remove()

    def _batch(self, items: list[tuple[int, dict, list]]) -> None:
        if self.batches == 0:
            _bulk_transaction()
            self.seen = SeenIdentifiers()  # outside any savepoint: a TEST file keeps it too
        flux = self.flux
        # A record identifier met again in the file is rejected, for that reason alone.
        pairs, has_blocks = [], False
        for rang, record, _a in items:
            if type(record) is dict:
                pairs.append((rang, record["identifiant"]))
            else:
                has_blocks = True
                pairs.extend(zip(range(rang, rang + len(record)), record.column("identifiant")))
        repeated = self.seen.repeated(pairs)
        if repeated and has_blocks:  # record by record again
            items = _one_per_record(items)
        if flux in rules.NEEDS_TENANCY_DETAILS:
            items = self._check_in_order(items, repeated)
        if repeated:
            duplicate = [rules.anomalie(DUPLICATE_RECORD)]
            items = [(rang, record, duplicate if rang in repeated else anomalies)
                     for rang, record, anomalies in items]
        accepted, rejected, blocks = [], [], []
        for rang, record, anomalies in items:
            if type(record) is not dict:
                blocks.append((rang, record))
            elif not anomalies or rules.summarise(anomalies)[0]:
                accepted.append((rang, record))
            elif anomalies[0].code != DUPLICATE_RECORD:  # a repeated identifier is its own reason
                rejected.append((rang, record))
        # Tenancies are checked by applying (LOYERS): a record rejected beforehand, or a batch
        # applying fewer rows than it had, has its tenancy looked up, for complete anomaly lists.
        suspects = [] if flux in rules.NEEDS_TENANCY_DETAILS else list(rejected)
        if accepted or blocks:
            savepoint = None if self.production else db.session.begin_nested()
            applied = 0
            if accepted:
                rows = [adapters.apply_row(flux, record, self.key_prefix + record["identifiant"], self.today)
                        for _rang, record in accepted]
                applied = adapters.apply(flux, self.code_bailleur, rows, self.source)
                if applied < len(rows) and flux not in rules.NEEDS_TENANCY_DETAILS:
                    suspects += accepted
            if blocks:
                in_blocks = adapters.apply_loyers_blocks(self.code_bailleur, [b for _r, b in blocks],
                                                         self.key_prefix, self.source)
                applied += in_blocks
                if in_blocks < sum(len(b) for _r, b in blocks):  # some tenancy unknown: find which
                    expanded = {rang: _expand(rang, block) for rang, block in blocks}
                    items = _one_per_record(items, expanded)
                    suspects += [(rang, record) for records in expanded.values() for rang, record, _a in records]
            if savepoint is not None:
                savepoint.rollback()
            else:
                self.applied += applied
        found = self._unknown_tenancies(suspects) if suspects else {}
        staged = [(rang, record, found.get(rang, anomalies)) for rang, record, anomalies in items
                  if type(record) is dict and (anomalies or rang in found)]
        if staged:
            with StagingWriter(self.fichier_id, flux) as writer:
                for rang, record, anomalies in staged:
                    writer.add(rang, record, anomalies)
        self.batches += 1
        if self.batches == 1 and self.production:
            crash_point("mid_apply")

    def _check_in_order(self, items: list[tuple[int, dict, None]], repeated: set[int]) -> list[tuple[int, dict, list]]:
        """The checks of a flow that needs the tenancy's details, in the records' order: each
        accepted movement updates the tenancy that the batch's following records are checked
        against (as applying will), so that a tenant who leaves and comes back in one file is
        no incoherence. A record whose identifier repeats changes nothing (rejected for that).
        A TEST file's batches are rolled back one by one: its movements see those of the same
        batch (5,000 records by default), not those of earlier batches."""
        flux, today = self.flux, self.today
        tenancies = adapters.lookup_tenancies(self.code_bailleur, {
            (r.get("code_locataire"), r.get("numero_allocataire")) for _rang, r, _a in items})
        check = rules.CHECKS[flux]
        checked = []
        for rang, record, _unchecked in items:
            key = (record.get("code_locataire"), record.get("numero_allocataire"))
            tenancy = tenancies.get(key)
            anomalies = check(record, tenancy, today)
            if (flux == "MOUVEMENTS" and tenancy is not None and rang not in repeated
                    and rules.summarise(anomalies)[0]):
                tenancies[key] = adapters.tenancy_after_mouvement(tenancy, record, today)
            checked.append((rang, record, anomalies))
        return checked

    def _unknown_tenancies(self, records: list[tuple[int, dict]]) -> dict[int, list]:
        """Of these records, those whose pair is not a tenancy of this landlord (one set-based
        lookup): their checks run again with no tenancy, for the complete list of anomalies in
        the rules' order, LOCATAIRE_INCONNU first."""
        known = adapters.lookup_tenancies(self.code_bailleur, {
            (r.get("code_locataire"), r.get("numero_allocataire")) for _rang, r in records})
        return {rang: rules.check_record(self.flux, record, None, self.today)
                for rang, record in records
                if (record.get("code_locataire"), record.get("numero_allocataire")) not in known}

    def _finish(self, lus: int) -> None:
        table = EdiFichier.__table__
        db.session.execute(update(table).where(table.c.id == self.fichier_id).values(
            nb_lus=lus, nb_appliques=self.applied, rang_applique=lus if self.production else 0,
            staging_complet=True))
        db.session.commit()


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
    # A TEST file meets every check a PRODUCTION one would (identifier already accepted,
    # sequence number), against the PRODUCTION files: it claims nothing and never counts as one.
    _check_identifier_free(f)
    siren = (org.siret or "")[:9] or None
    caf_code, caf_siren = adapters.caf_identity()
    problems = rules.check_envelope(env, code_bailleur=org.code_bailleur, siren=siren,
                                    received_at=f.recu_le, derniere_sequence=_last_sequence(f),
                                    receveur_attendu=caf_code, receveur_siren_attendu=caf_siren)
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
COMMON_COLUMNS = ("fichier_id", "rang", "ligne", "identifiant", "code_locataire", "numero_allocataire",
                  "accepte", "severite", "code", "libelle", "anomalies", "nb_anomalies")


def staged_columns(flux: str) -> tuple[str, ...]:
    return COMMON_COLUMNS + tuple(VALUE_COLUMNS.get(k, k) for k in STAGED_VALUES[flux])


class StagingWriter:
    """Writes staged rows: one COPY per batch on PostgreSQL, rows sent as they are added
    (docs/performance.md §2: COPY ≈ 4x executemany); an executemany INSERT elsewhere.
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
        row = (self.fichier_id, rang, get("ligne"), get("identifiant") or str(rang), get("code_locataire"),
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


def _count(f: EdiFichier) -> None:
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


def idempotency_key(org: Organisation, f: EdiFichier, identifiant: str) -> str:
    return f"EDI:{org.code_bailleur}:{f.identifiant_fichier}:{identifiant}"


def _source(f: EdiFichier) -> str:
    return f"EDI fichier {f.id} ({f.flux} {f.identifiant_fichier})"


# ---------------------------------------------------------------- endings

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
    if f.mode == "TEST" or statut == REJETE:
        # A vendor may send its test file again; a file none of whose records was accepted
        # applied nothing and was never "accepted": its identifier (and content) may come back.
        f.cle_contenu = None
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
