"""EDI state changes (verb-named, each writes its audit entry): receive a file, re-run a
quarantined file, reconcile files whose job gave up."""
from __future__ import annotations

import time
from typing import BinaryIO

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from portal import jobs
from portal.audit import record_event
from portal.downloads import display_name
from portal.extensions import db
from portal.models import Organisation, User, utcnow

from .intake import storage
from .models import EN_COURS, QUARANTAINE, RECU, EdiFichier

JOB_KIND = "edi.process_file"
QUEUE = "edi"
MAX_SIGNATURE_BYTES = 256 * 1024  # as portal.crypto.signature


class EdiInputError(ValueError):
    """Bad upload (French message for the user)."""


def max_file_bytes() -> int:
    return int(current_app.config.get("EDI_MAX_FILE_MB") or 700) * 1024 * 1024


def content_key(organisation_id: int, sha256: str) -> str:
    return f"{organisation_id}:{sha256}"


def receive_file(organisation: Organisation, data: BinaryIO, filename: str,
                 signature: BinaryIO | None, *, canal: str, user: User | None = None,
                 api_token_id: int | None = None) -> EdiFichier:
    """Store the raw bytes (content-addressed, write-once) BEFORE anything else, then record the
    file (RECU) and its processing job in the caller's transaction; the job is sent after the
    caller's commit.

    The same content already held by another file of this organisation (being processed or
    accepted) is recorded as a duplicate of the first one; the job then answers DOUBLON."""
    stored = storage.store_stream(data, max_bytes=max_file_bytes())
    if stored.size == 0:
        raise EdiInputError("Le fichier est vide.")
    sig = None
    if signature is not None:
        raw = signature.read(MAX_SIGNATURE_BYTES + 1)
        if len(raw) > MAX_SIGNATURE_BYTES:
            raise EdiInputError("Le fichier de signature dépasse 256 Kio : joignez la signature "
                                "détachée (.p7s) du fichier.")
        if raw:
            sig = storage.store_bytes(raw)
    name = display_name(filename, "fichier.xml")  # shown and proposed at download as is
    fields = dict(organisation_id=organisation.id, canal=canal,
                  depose_par_id=user.id if user else None, api_token_id=api_token_id,
                  nom_fichier=name, sha256=stored.sha256, taille=stored.size,
                  signature_sha256=sig.sha256 if sig else None,
                  signature_taille=sig.size if sig else None, recu_le=utcnow(), statut=RECU)
    for attempt in range(1, 41):
        try:
            return _record_file(fields, user, sig is not None)
        except OperationalError as exc:
            # SQLite (development) answers "database is locked" to a concurrent writer whose
            # snapshot went stale: the bytes are stored, retry the few rows. PostgreSQL waits.
            db.session.rollback()
            if db.engine.dialect.name != "sqlite" or "locked" not in str(exc) or attempt == 40:
                raise
            time.sleep(0.02 * attempt)


def _record_file(fields: dict, user: User | None, signed: bool) -> EdiFichier:
    key = content_key(fields["organisation_id"], fields["sha256"])
    try:
        with db.session.begin_nested():
            f = EdiFichier(cle_contenu=key, **fields)
            db.session.add(f)
            db.session.flush()
    except IntegrityError:
        first = db.session.scalar(select(EdiFichier.id).where(EdiFichier.cle_contenu == key))
        f = EdiFichier(cle_contenu=None, doublon_de_id=first, **fields)
        db.session.add(f)
        db.session.flush()
    job = jobs.create_job(JOB_KIND, {"fichier_id": f.id}, queue=QUEUE)
    f.job_id = job.id
    record_event("edi", "fichier_recu", actor=user, organisation_id=fields["organisation_id"],
                 target=f"edi_fichier:{f.id}", sha256=fields["sha256"], taille=fields["taille"],
                 canal=fields["canal"], signature_jointe=signed)
    db.session.flush()
    return f


def rerun_file(f: EdiFichier, agent: User) -> EdiFichier:
    """A Caf agent re-runs a quarantined file after a fix: new job, same row."""
    if f.statut != QUARANTAINE:
        raise EdiInputError("Seul un fichier en quarantaine peut être relancé.")
    f.statut = RECU
    f.etape = "reception"
    f.fin_traitement = None
    f.derniere_erreur = None
    job = jobs.create_job(JOB_KIND, {"fichier_id": f.id, "relance": True}, queue=QUEUE)
    f.job_id = job.id
    record_event("edi", "fichier_relance", actor=agent, organisation_id=f.organisation_id,
                 target=f"edi_fichier:{f.id}")
    db.session.flush()
    return f


def quarantine_abandoned() -> list[int]:
    """Files still RECU/EN_COURS whose job was abandoned (killed on its last delivery) go to
    QUARANTAINE, so nothing stays 'in progress' forever (run by the beat)."""
    rows = db.session.scalars(
        select(EdiFichier).join(jobs.Job, jobs.Job.id == EdiFichier.job_id)
        .where(EdiFichier.statut.in_((RECU, EN_COURS)), jobs.Job.status == jobs.FAILED)
        .limit(500)).all()
    from .intake.process import quarantine
    for f in rows:
        f.derniere_erreur = f.derniere_erreur or db.session.get(jobs.Job, f.job_id).last_error
        quarantine(f, "travail abandonné après le nombre maximal de livraisons")
    db.session.flush()
    return [f.id for f in rows]
