"""Processing of one received EDI file (run by the `edi.process_file` job on the `edi` queue).

    signature → XML safety → streaming XSD validation, envelope rules and business rules per
    record (records staged in bulk) → duplicate claim → apply in batches (CDAP service
    functions, per-record idempotency keys) → signed ACCUSE stored immutably → final status.

Nothing is applied before the whole file validated (lxml's streaming validation raises at the
end of the document), staged rows are the per-record results. The database row is the source
of truth and every step is restartable: a redelivered job (worker killed) re-stages from
scratch if staging was not complete, otherwise resumes applying the rows not yet applied
(`applique` flips in the same transaction as the CDAP effect, and CDAP is idempotent per key)
and builds the ACCUSE only if none is recorded. Memory stays flat: records stream in batches.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import tempfile
import traceback
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Iterator

from flask import current_app
from sqlalchemy import delete, func, insert, select, update
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
DEFAULT_BATCH = 2000


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
    # A previous delivery may have staged part of the file: start again from a clean slate.
    db.session.execute(delete(STAGING).where(STAGING.c.fichier_id == f.id))
    f.nb_lus = f.nb_acceptes = f.nb_rejetes = f.nb_avertissements = f.nb_appliques = 0
    _set_step(f, "signature", job)
    _verify_signature(f, org)
    crash_point("after_verify")
    _set_step(f, "validation", job)

    path = storage.path_for(f.sha256)
    today = f.recu_le.date()
    try:
        # Refuses unsafe XML (DOCTYPE, entities, depth), non-XML and oversize input at once.
        stream = adapters.open_inbound(path, max_bytes=max_file_bytes())
        envelope = stream.envelope
        _check_envelope(f, org, envelope)
        flux = f.flux
        size = batch_size()
        batch: list[dict] = []
        rang = 0
        for record in stream.records():
            rang += 1
            batch.append(record)
            if len(batch) >= size:
                _stage_batch(f, org, flux, batch, rang - len(batch) + 1, today)
                f.nb_lus = rang
                _heartbeat(f, job)
                db.session.commit()
                batch = []
        if batch:
            _stage_batch(f, org, flux, batch, rang - len(batch) + 1, today)
        f.nb_lus = rang
        db.session.flush()
    except adapters.InvalidInbound as exc:
        db.session.rollback()
        db.session.execute(delete(STAGING).where(STAGING.c.fichier_id == f.id))
        f.nb_lus = 0
        raise Rejet([rules.Anomalie(exc.code, detail, rules.ERREUR) for detail in exc.details],
                    accuse_statut=exc.accuse_statut) from None
    count_problems = rules.check_record_count(f.nb_annonce, f.nb_lus)
    if count_problems:
        db.session.execute(delete(STAGING).where(STAGING.c.fichier_id == f.id))
        raise Rejet(count_problems)
    _mark_duplicate_record_ids(f)
    _count(f)
    f.staging_complet = True
    _set_step(f, "application", job)


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


def _jsonable(record: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, (date, datetime)) else v) for k, v in record.items()}


def _stage_batch(f: EdiFichier, org: Organisation, flux: str, batch: list[dict], first_rang: int,
                 today: date) -> None:
    pairs = {(r.get("code_locataire"), r.get("numero_allocataire")) for r in batch}
    tenancies = adapters.lookup_tenancies(org.code_bailleur, pairs)
    rows = []
    for offset, record in enumerate(batch):
        tenancy = tenancies.get((record.get("code_locataire"), record.get("numero_allocataire")))
        anomalies = rules.check_record(flux, record, tenancy, today)
        accepted, code, libelle, severite = rules.summarise(anomalies)
        rows.append({
            "fichier_id": f.id, "rang": first_rang + offset,
            "identifiant": record.get("identifiant") or str(first_rang + offset),
            "code_locataire": record.get("code_locataire"),
            "numero_allocataire": record.get("numero_allocataire"),
            "donnees": _jsonable(record), "accepte": accepted, "severite": severite,
            "code": code, "libelle": libelle, "anomalies": [a.as_dict() for a in anomalies],
            "nb_anomalies": len(anomalies), "applique": False,
        })
    bulk_insert_staging(rows)


COPY_COLUMNS = ("fichier_id", "rang", "identifiant", "code_locataire", "numero_allocataire",
                "donnees", "accepte", "severite", "code", "libelle", "anomalies", "nb_anomalies",
                "applique")


def bulk_insert_staging(rows: list[dict]) -> None:
    """COPY on PostgreSQL (performance-notes: ~4x executemany), executemany elsewhere."""
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        with raw.cursor() as cur:
            with cur.copy(f"COPY edi_enregistrements ({', '.join(COPY_COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(tuple(
                        json.dumps(row[c], ensure_ascii=False) if c in ("donnees", "anomalies") else row[c]
                        for c in COPY_COLUMNS))
    else:
        conn.execute(insert(STAGING), rows)


def _mark_duplicate_record_ids(f: EdiFichier) -> None:
    """Second and later occurrences of a record identifier are rejected (set-based: one hash
    aggregate to find out whether there is any, a window function only if there is)."""
    any_dup = db.session.execute(
        select(STAGING.c.identifiant).where(STAGING.c.fichier_id == f.id)
        .group_by(STAGING.c.identifiant).having(func.count() > 1).limit(1)).first()
    if any_dup is None:
        return
    ranked = (select(STAGING.c.id, func.row_number().over(
        partition_by=STAGING.c.identifiant, order_by=STAGING.c.rang).label("n"))
        .where(STAGING.c.fichier_id == f.id).subquery())
    later = select(ranked.c.id).where(ranked.c.n > 1)
    a = rules.anomalie("IDENTIFIANT_ENREGISTREMENT_EN_DOUBLE")
    db.session.execute(update(STAGING).where(STAGING.c.id.in_(later))
                       .values(accepte=False, code=a.code, libelle=a.libelle, severite=a.severite,
                               anomalies=[a.as_dict()], nb_anomalies=1))


def _count(f: EdiFichier) -> None:
    row = db.session.execute(select(
        func.count(), func.sum(func.cast(STAGING.c.accepte, db.Integer)),
        func.sum(func.cast(STAGING.c.severite == rules.AVERTISSEMENT, db.Integer)),
        func.sum(func.cast(STAGING.c.applique, db.Integer)),
    ).where(STAGING.c.fichier_id == f.id)).one()
    total, accepted, warnings, applied = (int(x or 0) for x in row)
    f.nb_lus = total
    f.nb_acceptes = accepted
    f.nb_rejetes = total - accepted
    f.nb_avertissements = warnings
    f.nb_appliques = applied


def idempotency_key(org: Organisation, f: EdiFichier, identifiant: str) -> str:
    return f"EDI:{org.code_bailleur}:{f.identifiant_fichier}:{identifiant}"


def _apply(f: EdiFichier, org: Organisation, job: jobs.Job | None) -> None:
    """Apply the accepted, not yet applied rows in batches, one transaction per batch."""
    f.etape = "application"
    db.session.commit()
    size = batch_size()
    source = f"EDI fichier {f.id} ({f.flux} {f.identifiant_fichier})"
    last = 0
    done_batches = 0
    while True:
        batch = db.session.execute(
            select(STAGING.c.rang, STAGING.c.identifiant, STAGING.c.donnees)
            .where(STAGING.c.fichier_id == f.id, STAGING.c.accepte.is_(True),
                   STAGING.c.applique.is_(False), STAGING.c.rang > last)
            .order_by(STAGING.c.rang).limit(size)).all()
        if not batch:
            break
        rows = [adapters.apply_row(f.flux, _parse_dates(donnees),
                                   idempotency_key(org, f, identifiant), f.recu_le.date())
                for _rang, identifiant, donnees in batch]
        adapters.apply(f.flux, org.code_bailleur, rows, source)
        first, last = batch[0][0], batch[-1][0]
        db.session.execute(update(STAGING).where(
            STAGING.c.fichier_id == f.id, STAGING.c.rang.between(first, last),
            STAGING.c.accepte.is_(True)).values(applique=True))
        f.nb_appliques = (f.nb_appliques or 0) + len(batch)
        _heartbeat(f, job)
        db.session.commit()
        done_batches += 1
        if done_batches == 1:
            crash_point("mid_apply")


DATE_FIELDS = {"date_effet", "date_mouvement", "date_constitution", "periode_debut", "periode_fin"}


def _parse_dates(donnees: dict | str) -> dict:
    if isinstance(donnees, str):
        donnees = json.loads(donnees)
    return {k: (date.fromisoformat(v) if k in DATE_FIELDS and v else v) for k, v in donnees.items()}


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
