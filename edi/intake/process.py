"""Processing of one received EDI file: the entry point `process_file` and its steps — signature,
envelope and identifier claim, then the one reading pass whose batches the applier applies —
each restartable (see the package's docstring)."""
from __future__ import annotations

import gc
import time
import traceback
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Iterator

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from portal import jobs
from portal.audit import record_event
from portal.extensions import db
from portal.models import Organisation, utcnow

from .. import adapters, rules
from ..models import EN_COURS, FINAL_STATUSES, QUARANTAINE, TRAITE, TRAITE_PARTIEL, EdiFichier
from ..services import max_file_bytes
from . import checkpoints, storage
from .applier import Applier, StaleStaging
from .batches import Takes, batch_size, tail_batch_size
from .endings import finish, finish_doublon, finish_rejected
from .staging import STAGING

PROGRESS_SECONDS = 1.0  # progress shown and lease extended at most this often while reading
STAGING_ATTEMPTS = 3  # SQLite: passes over a file whose tenancies keep changing meanwhile


class Rejet(Exception):
    """Technical rejection of the whole file (signature, XML, schema, envelope)."""

    def __init__(self, anomalies: list[rules.Anomalie], accuse_statut: str = "REJETE",
                 verified_by: int | None = None):
        super().__init__("; ".join(a.libelle for a in anomalies))
        self.anomalies = anomalies
        self.accuse_statut = accuse_statut
        # The registered certificate that verified the file's signature, when it was verified
        # before the refusal: the file counts for it when it is closed.
        self.verified_by = verified_by


class Doublon(Exception):
    def __init__(self, first_id: int, detail: str, verified_by: int | None = None):
        super().__init__(detail)
        self.first_id, self.detail = first_id, detail
        self.verified_by = verified_by  # as Rejet's


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
        f.job_deliveries = job.deliveries
        f.job_lease_expires_at = job.lease_expires_at
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
    f.job_lease_expires_at = None
    record_event("edi", "fichier_quarantaine", organisation_id=f.organisation_id,
                 target=f"edi_fichier:{f.id}", motif=motif)


def _process(f: EdiFichier, job: jobs.Job | None) -> dict:
    org = db.session.get(Organisation, f.organisation_id)
    try:
        if f.doublon_de_id is not None:  # same content already received (found at upload)
            verified_by = _verify_signature(f, org)
            raise Doublon(f.doublon_de_id, f"contenu identique au fichier n° {f.doublon_de_id}",
                          verified_by)
        if not f.staging_complet:
            _stage(f, org, job)
        if f.mode == "PRODUCTION":
            _claim_identifier(f)
    except Rejet as rejet:
        return finish_rejected(f, rejet)
    except Doublon as doublon:
        return finish_doublon(f, doublon)

    checkpoints.reached("before_accuse")
    return finish(f)


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
    if f.job_lease_expires_at is not None and f.job_lease_expires_at - now > timedelta(seconds=seconds / 2):
        return
    f.job_lease_expires_at = now + timedelta(seconds=seconds)
    jobs.extend_lease(job, seconds)


def _verify_signature(f: EdiFichier, org: Organisation) -> int:
    """The id of the registered certificate that verified the file's signature; Rejet if none."""
    if not f.signature_sha256:
        raise Rejet([rules.anomalie("SIGNATURE_ABSENTE")])
    certificate_id, problem = adapters.verify_signature(
        storage.local_path(f.sha256), storage.read_bytes(f.signature_sha256), org, f.recu_le)
    if problem:
        code, message, signed_sha256 = problem
        other = _signed_file(f, signed_sha256)
        if other is not None:  # the signature of another file, not this file modified
            code = "SIGNATURE_AUTRE_FICHIER"
            message = (f"La signature ne correspond pas à ce fichier : c'est celle du fichier n° {other.id} "
                       f"(« {other.nom_fichier} »). Déposez chaque fichier avec sa propre signature (.p7s).")
        raise Rejet([rules.Anomalie(code, message, rules.ERREUR)])
    return certificate_id


def _signed_file(f: EdiFichier, signed_sha256: str | None) -> EdiFichier | None:
    """The organisation's file (another one) whose content the signature covers, if any."""
    if not signed_sha256 or signed_sha256 == f.sha256:
        return None
    return db.session.scalar(select(EdiFichier).where(
        EdiFichier.organisation_id == f.organisation_id, EdiFichier.sha256 == signed_sha256,
        EdiFichier.id != f.id).order_by(EdiFichier.id).limit(1))


def _stage(f: EdiFichier, org: Organisation, job: jobs.Job | None) -> None:
    """Signature, then ONE streaming pass over the stored (immutable) bytes: XSD validation,
    envelope rules, records extracted and checked batch by batch, and their CDAP effects
    applied by `Applier` while the next batch is read.

    lxml's streaming validation may only conclude at the end of the document, so the effects
    go into one transaction that commits only once the whole file has validated: the effects,
    the records with anomalies and the file's "applied" mark (`staging_complet`) commit
    together or not at all. A restarted job (worker killed) finds nothing of an interrupted
    attempt and starts again; idempotency keys per record make a replay apply nothing twice.

    The certificate that verified the signature counts the file in the transaction that marks
    it applied, or, when the file is refused after the signature, in the one that closes it."""
    db.session.execute(delete(STAGING).where(STAGING.c.fichier_id == f.id))
    f.nb_lus = f.nb_acceptes = f.nb_rejetes = f.nb_avertissements = f.nb_appliques = 0
    f.rang_applique = 0
    _set_step(f, "signature", job)
    verified_by = _verify_signature(f, org)
    checkpoints.reached("after_verify")
    _set_step(f, "validation", job)

    path = storage.local_path(f.sha256)
    try:
        # Refuses unsafe XML (DOCTYPE, entities, depth), non-XML and oversize input at once.
        stream = adapters.open_inbound(path, max_bytes=max_file_bytes(), columns=True)
        _check_envelope(f, org, stream.envelope)
        if f.mode == "PRODUCTION":
            _claim_identifier(f)  # before anything is applied
        _set_step(f, "application" if f.mode == "PRODUCTION" else "controles", job)
        for attempt in range(1, STAGING_ATTEMPTS + 1):
            if attempt > 1:  # SQLite: staged against tenancies that changed since; read it again
                stream = adapters.open_inbound(path, max_bytes=max_file_bytes(), columns=True)
            applier = Applier(f, org, verified_by)
            try:
                with _cyclic_gc_paused(), _loaded_across_commits():
                    if applier.deferred:
                        db.session.commit()  # the pass holds no transaction (a lock on SQLite)
                    lus = _read_records(f, org, stream.records(), rules.jour_de_reception(f.recu_le), job, applier)
                    count_problems = rules.check_record_count(f.nb_annonce, lus)
                    if count_problems:
                        raise Rejet(count_problems)
                    applier.finish(lus)
                break
            except StaleStaging:
                applier.cancel()
                current_app.logger.info("EDI fichier %s : locataires modifiés pendant la lecture, "
                                        "nouvelle lecture (%s)", f.id, attempt)
                if attempt == STAGING_ATTEMPTS:
                    raise
            except BaseException:
                applier.cancel()
                raise
    except adapters.InvalidInbound as exc:
        db.session.rollback()
        raise Rejet([rules.Anomalie(exc.code, detail, rules.ERREUR) for detail in exc.details],
                    accuse_statut=exc.accuse_statut, verified_by=verified_by) from None
    except (Rejet, Doublon) as refused:  # envelope, identifier, record count
        refused.verified_by = verified_by
        raise
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
                  job: jobs.Job | None, applier: Applier) -> int:
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
    takes = Takes(records)
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
        # share this transaction: nothing is committed before the end. Deferred (SQLite), each
        # of these is a short transaction of its own, the only ones of the pass.
        if not applier.inline and time.monotonic() - progress_at >= PROGRESS_SECONDS:
            f.nb_lus = rang
            _heartbeat(f, job)
            db.session.commit()
            progress_at = time.monotonic()
        if count < wanted:
            break
    return rang


# ---------------------------------------------------------------- envelope and identifier

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

