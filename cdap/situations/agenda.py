"""The worker's agenda and the team lead's figures, computed from the cases of a territory
(plain Python over a few hundred rows: the working-day rules are Python, not SQL)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import contains_eager, selectinload

from portal.dates import PARIS
from portal.extensions import db

from ..models import Allocataire, ImpayeQueueItem, SignalementImpaye
from . import rules
from .models import Situation


@dataclass
class Entry:
    on: date
    kind: str              # echeance | rdv
    label: str
    basis: str
    item_id: int
    numero: str
    nom: str
    overdue: bool


def paris(moment: datetime) -> datetime:
    """A stored naive-UTC moment on the Paris clock."""
    return moment.replace(tzinfo=timezone.utc).astimezone(PARIS)


def cases(*, territoire: str | None = None, assigned_to: int | None = None, all_territories: bool = False):
    """(item, situation or None) of the territory (or assigned to a user), closed ones included."""
    query = (select(ImpayeQueueItem, Situation)
             .join(Allocataire, Allocataire.id == ImpayeQueueItem.allocataire_id)
             .join(SignalementImpaye, SignalementImpaye.id == ImpayeQueueItem.impaye_id)
             .outerjoin(Situation, Situation.queue_item_id == ImpayeQueueItem.id)
             # the joined signalement and allocataire fill item.impaye and item.allocataire:
             # no statement per item (dashboards, agenda, queue flags)
             .options(contains_eager(ImpayeQueueItem.impaye), contains_eager(ImpayeQueueItem.allocataire),
                      selectinload(Situation.actions), selectinload(Situation.rdvs))
             .order_by(ImpayeQueueItem.id))
    if assigned_to is not None:
        query = query.where(ImpayeQueueItem.assigned_to_id == assigned_to)
    elif not all_territories:
        query = query.where(Allocataire.departement == (territoire or "--"))
    return db.session.execute(query.limit(5000)).all()


def _plan(situation) -> str | None:
    from .services import plan_state
    return plan_state(situation)


def for_worker(user_id: int, today: date, delay: int) -> list[Entry]:
    out = []
    for item, situation in cases(assigned_to=user_id):
        if item.statut == "clos":
            continue
        a = item.allocataire
        for e in rules.echeances(
                signal=item.impaye.date_signalement, delay_working_days=delay,
                first_contact=situation.first_contact_on if situation else None,
                plan_agreed=_plan(situation) == "accorde", maintien=situation.maintien if situation else None,
                maintien_decided=situation.maintien_on if situation else None,
                maintien_months=situation.maintien_mois if situation else None):
            if not e.done:
                out.append(Entry(e.due, "echeance", e.label, e.basis, item.id, a.numero, a.nom, e.due < today))
        for rdv in (situation.rdvs if situation else []):
            local = paris(rdv.at)
            if rdv.statut == "prevu":
                out.append(Entry(local.date(), "rdv", f"Rendez-vous à {local:%H:%M}", "", item.id, a.numero,
                                 a.nom, local.date() < today))
    return sorted(out, key=lambda e: (e.on, e.item_id))


def overdue_ids(rows, today: date, delay: int) -> set[int]:
    """Open items not contacted within the delay (flag of the queue and the dashboard)."""
    return {item.id for item, situation in rows if item.statut != "clos" and rules.contact_overdue(
        item.impaye.date_signalement, situation.first_contact_on if situation else None, today, delay)}


@dataclass
class Figures:
    open: int
    uncontacted: int
    by_mode: dict[str, int]
    by_issue: dict[str, int]
    avg_days_to_contact: float | None
    plans_in_progress: int
    rows: list[dict]


def figures(rows, today: date, delay: int) -> Figures:
    """The team lead's figures over (item, situation) rows; `rows` of the CSV export too."""
    late = overdue_ids(rows, today, delay)
    modes, issues, waits, plans, table = Counter(), Counter(), [], 0, []
    for item, situation in rows:
        is_open = item.statut != "clos"
        signal = item.impaye.date_signalement
        if situation is not None:
            if is_open:
                modes[situation.mode or "non_defini"] += 1
            if situation.issue:
                issues[situation.issue] += 1
            if situation.first_contact_on:
                waits.append((situation.first_contact_on - signal).days)
        plan = _plan(situation)
        if is_open and plan == "accorde":
            plans += 1
        table.append({
            "id": item.id, "signal": signal, "statut": item.statut,
            "mode": situation.mode if situation else None,
            "premier_contact": situation.first_contact_on if situation else None,
            "non_contacte": item.id in late, "plan": plan,
            "maintien": situation.maintien if situation else None,
            "issue": situation.issue if situation else None,
            "minutes": situation.minutes if situation else None,
        })
    return Figures(open=sum(1 for item, _ in rows if item.statut != "clos"), uncontacted=len(late),
                   by_mode=dict(modes), by_issue=dict(issues),
                   avg_days_to_contact=round(sum(waits) / len(waits), 1) if waits else None,
                   plans_in_progress=plans, rows=table)
