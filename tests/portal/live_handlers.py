"""Job handlers used by the real-worker tests (imported by the worker via
PORTAL_EXTRA_MODULES). Their effect is a row in `live_effects`, a table the tests create."""
from __future__ import annotations

import os
import time
from pathlib import Path

from sqlalchemy import text

from portal import jobs
from portal.extensions import db

EFFECTS_DDL = ("CREATE TABLE IF NOT EXISTS live_effects ("
               "job_id INTEGER NOT NULL, delivery INTEGER NOT NULL, pid INTEGER NOT NULL)")


def effects(job_id: int) -> list[tuple[int, int]]:
    """(delivery, pid) of each effect row written for the job."""
    rows = db.session.execute(text("SELECT delivery, pid FROM live_effects WHERE job_id = :j "
                                   "ORDER BY delivery"), {"j": job_id}).all()
    db.session.rollback()
    return [tuple(r) for r in rows]


@jobs.handler("live.effect")
def write_effect(job):
    """Idempotent: writes its effect row once per job. Payload options:
    - hold_file: on the first delivery, create this file then wait (to be killed mid-job);
    - commit_before_hold: commit the effect before waiting (killed after the effect, before
      the job is marked done) rather than holding it uncommitted;
    - fail_times: raise on the first N deliveries."""
    payload = job.payload
    if job.deliveries <= payload.get("fail_times", 0):
        raise RuntimeError(f"échec voulu (livraison {job.deliveries})")
    already = db.session.execute(text("SELECT count(*) FROM live_effects WHERE job_id = :j"),
                                 {"j": job.id}).scalar()
    if not already:
        db.session.execute(text("INSERT INTO live_effects (job_id, delivery, pid) VALUES (:j, :d, :p)"),
                           {"j": job.id, "d": job.deliveries, "p": os.getpid()})
    if payload.get("hold_file") and job.deliveries == 1:
        if payload.get("commit_before_hold"):
            db.session.commit()
        Path(payload["hold_file"]).write_text(str(os.getpid()))
        time.sleep(120)  # the test SIGKILLs the worker here
    return {"effects_before": already}
