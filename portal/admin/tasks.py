"""Administration background work (portal.jobs handlers on the default queue)."""
from __future__ import annotations

from .. import jobs
from ..extensions import db
from ..models import User
from . import services


@jobs.handler(services.VERIFY_CHAIN_JOB)
def verify_audit_chain_job(job: jobs.Job) -> dict:
    """Idempotent: a redelivered job simply verifies again and records that verification."""
    actor_id = job.payload.get("actor_user_id")
    actor = db.session.get(User, int(actor_id)) if actor_id is not None else None
    report = services.verify_audit_chain(actor=actor)
    return {"ok": report.ok, "checked": report.checked, "first_broken_seq": report.first_broken_seq}
