"""The checked batches of one file applied in a single transaction (CDAP effects, records with
anomalies), in a thread with its own connection on PostgreSQL: PostgreSQL applies batch n on
one core while the reading parses batch n+1 on the other."""
from __future__ import annotations

import pickle
import queue
import tempfile
import threading
import time
from contextlib import contextmanager

from flask import current_app
from sqlalchemy import text, update
from sqlalchemy.engine import Engine

from portal.database import main_database_read_only
from portal.extensions import db
from portal.models import Organisation

from .. import adapters, rules
from ..models import EdiFichier
from . import checkpoints
from .batches import expand, one_per_record
from .record_ids import SeenIdentifiers
from .sqlite_lot import SqliteLot
from .staging import StagingWriter

DUPLICATE_RECORD = "IDENTIFIANT_ENREGISTREMENT_EN_DOUBLE"


def idempotency_key(org: Organisation, f: EdiFichier, identifiant: str) -> str:
    return f"EDI:{org.code_bailleur}:{f.identifiant_fichier}:{identifiant}"


class StaleStaging(Exception):
    """SQLite: a tenancy the staged file found unknown became known (or a staged dwelling went)
    before the file was applied: the file is staged again (edi.intake.process)."""


def source_label(f: EdiFichier) -> str:
    return f"EDI fichier {f.id} ({f.flux} {f.identifiant_fichier})"


class Applier:
    """Applies the checked batches of one file in a single transaction: the accepted records'
    CDAP effects (PRODUCTION only; a TEST file applies each batch in a savepoint rolled back at
    once, so that it meets exactly the checks a real one would), and the records with anomalies
    (staging table), including the unknown tenancies that applying reveals. `finish` marks the
    file applied and commits it all; `cancel` rolls it all back.

    For LOYERS on PostgreSQL with a pooled engine it works in a thread with its own session (its
    own connection): the thread mostly waits on PostgreSQL, which then applies batch n on one
    core while this process parses batch n+1 on the other. Elsewhere on PostgreSQL (MOUVEMENTS
    and IMPAYES, or a session bound to one connection as in the tests) it works inline, in the
    caller's transaction.

    On SQLite it is `deferred`: a write transaction locks the whole database there, and one held
    for the pass over a large file (a minute for 250,000 records) made every other writer fail
    with "database is locked" (issue #18). Nothing is applied while the file is read:
    - LOYERS (the large files) are *staged* (`lot`, edi.intake.sqlite_lot): each batch is
      checked, its identifiers compared, its dwellings found and its records with anomalies
      written into a staging database file, in transactions that only read the main database;
      `finish` then applies it all in one transaction of a fixed number of statements
      (`final_seconds`), after checking that no tenancy it found unknown became known
      meanwhile (else StaleStaging: the file is read again);
    - MOUVEMENTS and IMPAYES (small files, each record checked against the tenancy as the
      previous ones left it) are spooled to a temporary file; `finish` replays them, in order,
      in one transaction.
    `cancel` drops the staging file or the spool. Same effects, same all-or-nothing rule as
    inline."""

    def __init__(self, f: EdiFichier, org: Organisation, verified_by: int | None = None):
        self.fichier_id, self.flux, self.code_bailleur = f.id, f.flux, org.code_bailleur
        self.verified_by = verified_by  # the registered certificate that verified the signature
        self.key_prefix = idempotency_key(org, f, "")
        self.source, self.today = source_label(f), rules.jour_de_reception(f.recu_le)
        self.production = f.mode == "PRODUCTION"
        self.applied = 0
        self.seen: SeenIdentifiers | None = None
        self.batches = 0
        self.error: BaseException | None = None
        self.final_seconds: float | None = None
        bind = db.session.get_bind()
        self.deferred = bind.dialect.name == "sqlite"
        self.lot = SqliteLot(f.id) if self.deferred and f.flux == "LOYERS" else None
        self.mark: tuple | None = None  # the landlord's tenancies when staging began
        # Closed by finish()/cancel(), which end every attempt (no `with`: it spans the pass).
        self.spool = (tempfile.TemporaryFile(prefix=f"edi-{f.id}-")  # noqa: SIM115
                      if self.deferred and self.lot is None else None)
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

    @property
    def inline(self) -> bool:
        """Applied as submitted, in the caller's transaction (nothing committed before the end)."""
        return not (self.threaded or self.deferred)

    def submit(self, items: list[tuple[int, dict, list]]) -> None:
        if self.lot is not None:
            self._stage(items)
            return
        if self.deferred:
            pickle.dump(items, self.spool, protocol=pickle.HIGHEST_PROTOCOL)
            return
        if not self.threaded:
            self._batch(items)
            return
        self._put(("batch", items))

    def finish(self, lus: int) -> None:
        """Mark the file applied (counts, staging complete) and commit everything."""
        if self.lot is not None:
            self._apply_staged(lus)
            return
        if self.deferred:
            self._replay(lus)
            return
        if not self.threaded:
            self._finish(lus)
            return
        db.session.commit()  # nothing of ours may lock the file's row while the applier updates it
        self._put(("finish", lus))
        self.thread.join()
        if self.error is not None:
            raise RuntimeError("application des lots interrompue") from self.error

    def cancel(self) -> None:
        if self.lot is not None:
            self.lot.close()
        elif self.deferred:
            self.spool.close()
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

    def _stage(self, items: list[tuple[int, dict, list]]) -> None:
        """One batch into the staging file, in a transaction that only reads the main database."""
        db.session.commit()  # anything pending is written under the write lock, not here
        with main_database_read_only():
            self.lot.attach()
            if self.batches == 0:
                self.lot.create()
                self.mark = adapters.tenancies_mark(self.code_bailleur)  # before any lookup
            self._batch(items)
            db.session.commit()

    def _apply_staged(self, lus: int) -> None:
        """The staged file applied and marked applied in one transaction, a fixed number of
        statements whatever the number of records (SQLite: the only write lock it takes)."""
        db.session.commit()
        with self._final_transaction(lus):
            try:
                if self.batches == 0:  # a file without records
                    with main_database_read_only():
                        self.lot.attach()
                        self.lot.create()
                        db.session.commit()
                self.lot.attach()  # begins the transaction: BEGIN IMMEDIATE in the worker
                if self.mark is not None and adapters.tenancies_mark(self.code_bailleur) != self.mark and (
                        adapters.any_tenancy_known(self.code_bailleur, self.lot.inconnus)
                        or adapters.staged_dwelling_gone(self.lot.loyers)):
                    db.session.rollback()
                    raise StaleStaging(self.fichier_id)
                if self.production:
                    self.applied = adapters.apply_staged_loyers(self.code_bailleur, self.lot.loyers,
                                                                self.source)
                self.lot.copy_records()
                self._finish(lus)
            finally:
                self.lot.close()

    @contextmanager
    def _final_transaction(self, lus: int):
        """Times the file's one write transaction and logs it (only when it succeeds)."""
        started = time.monotonic()
        yield
        self.final_seconds = time.monotonic() - started
        current_app.logger.info("EDI fichier %s : %s enregistrements appliqués en une transaction "
                                "de %.2f s", self.fichier_id, lus, self.final_seconds)

    def _replay(self, lus: int) -> None:
        """The spooled batches applied in file order, and the file marked applied, in one
        transaction (SQLite: the only write lock the file's effects take)."""
        with self._final_transaction(lus):
            try:
                db.session.rollback()  # no snapshot older than the transaction that applies
                self.spool.seek(0)
                while True:
                    try:
                        items = pickle.load(self.spool)
                    except EOFError:
                        break
                    self._batch(items)
                self._finish(lus)
            finally:
                self.spool.close()

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
            # Outside any savepoint: a TEST file keeps it too.
            self.seen = SeenIdentifiers(self.lot.alias if self.lot is not None else None)
        flux = self.flux
        # A record identifier met again in the file is rejected, for that reason alone.
        loaded, has_blocks = self._load_blocks(items), False
        tried = loaded is not None
        if tried and self.seen.all_new_in(loaded):
            repeated = set()
        else:
            loaded = None  # the general way: the batch is loaded again to apply it
            pairs = []
            for rang, record, _a in items:
                if type(record) is dict:
                    pairs.append((rang, record["identifiant"]))
                else:
                    has_blocks = True
                    pairs.extend(zip(range(rang, rang + len(record)), record.column("identifiant")))
            repeated = self.seen.repeated(pairs, try_copy=not tried)
        if repeated and has_blocks:  # record by record again
            items = one_per_record(items)
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
                applied = (adapters.apply(flux, self.code_bailleur, rows, self.source) if self.lot is None
                           else adapters.stage_loyers(self.code_bailleur, rows, self.lot.loyers))
                if applied < len(rows) and flux not in rules.NEEDS_TENANCY_DETAILS:
                    suspects += accepted
            if blocks:
                in_blocks = (adapters.apply_loaded_loyers(self.code_bailleur, self.key_prefix, self.source)
                             if loaded is not None else
                             adapters.apply_loyers_blocks(self.code_bailleur, [b for _r, b in blocks],
                                                          self.key_prefix, self.source)
                             if self.lot is None else
                             adapters.stage_loyers_blocks(self.code_bailleur, [b for _r, b in blocks],
                                                          self.key_prefix, self.lot.loyers))
                applied += in_blocks
                if in_blocks < sum(len(b) for _r, b in blocks):  # some tenancy unknown: find which
                    expanded = {rang: expand(rang, block) for rang, block in blocks}
                    items = one_per_record(items, expanded)
                    suspects += [(rang, record) for records in expanded.values() for rang, record, _a in records]
            if savepoint is not None:
                savepoint.rollback()
            else:
                self.applied += applied
        found = self._unknown_tenancies(suspects) if suspects else {}
        if found and self.lot is not None:  # checked again before the file is applied
            self.lot.add_unknown([(r.get("code_locataire"), r.get("numero_allocataire"))
                                  for rang, r in suspects if rang in found])
        staged = [(rang, record, found.get(rang, anomalies)) for rang, record, anomalies in items
                  if type(record) is dict and (anomalies or rang in found)]
        if staged:
            with StagingWriter(self.fichier_id, flux,
                               self.lot.records if self.lot is not None else None) as writer:
                for rang, record, anomalies in staged:
                    writer.add(rang, record, anomalies)
        self.batches += 1
        if self.batches == 1 and self.production:
            checkpoints.reached("mid_apply")

    def _load_blocks(self, items: list[tuple]) -> dict[str, str] | None:
        """PostgreSQL, a LOYERS batch of blocks only (the common case of a large file): the
        batch loaded once into CDAP's batch table, from which the server finds the identifiers
        met before and then applies the rows (adapters.load_loyers_blocks); None otherwise."""
        if (self.flux != "LOYERS" or self.lot is not None or not self.seen.postgresql
                or any(type(record) is dict for _rang, record, _a in items)):
            return None
        return adapters.load_loyers_blocks([(rang, record) for rang, record, _a in items])

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
        if self.verified_by is not None:  # the file counts for it once, as it is applied
            adapters.record_certificate_use(self.verified_by)
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

