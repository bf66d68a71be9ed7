"""Intake of a received EDI file (run by the `edi.process_file` job on the `edi` queue).

    signature → one streaming pass: XSD validation, envelope rules, duplicate claim, records
    checked per batch and applied (CDAP service functions, per-record idempotency keys) while
    the next batch is read → signed ACCUSE stored immutably → final status.

lxml's streaming validation may only conclude at the end of the document, so the effects of a
file go into one transaction, committed only once the whole file has validated, together with
its records' anomalies and the file's "applied" mark (`staging_complet`). The database row is
the source of truth and every step is restartable: a redelivered job (worker killed) finds
nothing of an interrupted attempt and starts again, or, if the file was applied, builds the
ACCUSE only if none is recorded. Memory stays flat: records stream in batches, the identifiers
already met are kept by the database (`record_ids`). Only the records with anomalies are
staged.

Modules, by reason to change:

- `process`: the entry point `process_file` and its steps (signature, envelope, identifier
  claim, the reading pass), restartability and lease;
- `batches`: how the records are cut into batches (sizes, blocks split across batches);
- `applier`: the batches applied to CDAP in the file's transaction, in a thread of its own on
  PostgreSQL, after the whole pass on SQLite (one final transaction);
- `sqlite_lot`: SQLite, a LOYERS file staged while it is read in a database file of its own,
  so that the final transaction is a fixed number of set-based statements (issue #18);
- `record_ids`: the record identifiers already met in the file (a temporary table);
- `staging`: the records with anomalies (table `edi_enregistrements`), counts and results;
- `endings`: the ACCUSE and the final status;
- `storage`: the raw bytes, content-addressed by SHA-256;
- `checkpoints`: named points of the processing.
"""
