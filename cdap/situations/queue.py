"""What the impayé queue shows of the cases: the « not contacted within the delay » flag and
which items open a case page for this actor."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from portal.dates import today as paris_today
from portal.extensions import db

from . import access, rules
from .models import Situation


@dataclass
class QueueFlags:
    uncontacted: set[int] = field(default_factory=set)
    visible: set[int] = field(default_factory=set)


def queue_flags(actor, items) -> QueueFlags:
    if not items:
        return QueueFlags()
    delay = current_app.config["CDAP_SETTINGS"]["CDAP_CONTACT_DELAY_WORKING_DAYS"]
    situations = {s.queue_item_id: s for s in db.session.scalars(
        select(Situation).where(Situation.queue_item_id.in_([i.id for i in items])))}
    today = paris_today()
    flags = QueueFlags()
    for item in items:
        situation = situations.get(item.id)
        if item.statut != "clos" and rules.contact_overdue(
                item.impaye.date_signalement, situation.first_contact_on if situation else None, today, delay):
            flags.uncontacted.add(item.id)
        if access.viewer_for(actor, item, situation) is not None:
            flags.visible.add(item.id)
    return flags
