"""Atypical use: after each journal row, count the actor's recent attempts and act.

- volume: attempts by the user since 00:00 UTC above CDAP_DAILY_ALERT / CDAP_DAILY_SUSPEND;
- nuit: attempts during the current night (Europe/Paris, CDAP_NIGHT_START_HOUR to
  CDAP_NIGHT_END_HOUR) above CDAP_NIGHT_ALERT / CDAP_NIGHT_SUSPEND;
- introuvables: not-found (or out of scope) attempts in a row above CDAP_NOTFOUND_ALERT /
  CDAP_NOTFOUND_SUSPEND.
An alert (one per actor, kind, level and day) is written for the Caf admins (alerts page and
an email in the outbox). Beyond the second threshold the actor is suspended for
CDAP_SUSPENSION_HOURS: a user's CDAP habilitation (and their sessions are revoked); an API
token, which has no habilitation of its own, is suspended itself (`TokenSuspension`): the API
answers 403 "habilitation suspendue" until the end of the suspension. Same policy, same journal.
With CDAP_ATYPICAL_EXEMPT_TOKENS (tests only, refused outside PORTAL_ENV=testing), an API token
past a second threshold gets the alert but no suspension.

`check` runs *before* the attempt's journal row is written (`pending`: the attempt's outcome,
counted with the rows already there), so that the row records what the actor really got: when
this attempt triggers the suspension, a refusal with no data shown (outcome "suspended").

The counts are running counters (`UsageCounter`, one row per actor), updated with each journal
row in the statement that appends it, so a consultation reads one row whatever the thresholds
(#22); an actor without a counter is counted once from the journal, and its counter created.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from functools import lru_cache

from typing import NamedTuple

from sqlalchemy import (JSON, Boolean, Date, DateTime, String, bindparam, case, exists, func, literal, null,
                        or_, select, type_coerce, update)
from sqlalchemy.dialects.postgresql import aggregate_order_by

from portal.accounts.sessions import revoke_all_sessions
from portal.audit import record_event
from portal.database import insert_ignore, one_row
from portal.extensions import db
from portal.formatting import date_heure
from portal.models import Habilitation, User, utcnow

from .models import AtypicalAlert, ConsultationJournal, TokenSuspension, UsageCounter

PARIS = ZoneInfo("Europe/Paris")
KINDS = {"volume": "Volume journalier", "nuit": "Consultations de nuit",
         "introuvables": "Dossiers introuvables à la suite"}
MISS = ("not_found", "out_of_scope")


def night_start(now_utc: datetime, start_hour: int, end_hour: int) -> datetime | None:
    """UTC (naive) start of the night `now_utc` is in, or None if it is daytime."""
    local = now_utc.replace(tzinfo=timezone.utc).astimezone(PARIS)
    h = local.hour
    in_night = (h >= start_hour or h < end_hour) if start_hour > end_hour else (start_hour <= h < end_hour)
    if not in_night:
        return None
    day = local.date()
    if start_hour > end_hour and h < end_hour:
        day -= timedelta(days=1)
    start_local = datetime.combine(day, time(start_hour), tzinfo=PARIS)
    return start_local.astimezone(timezone.utc).replace(tzinfo=None)


_COUNTER_FIELDS = ("day", "day_count", "night_start", "night_count", "miss_streak")


def actor_key(user_id, api_token_id) -> str:
    """The actor's key in `UsageCounter`: a user, or an API token (which has no user)."""
    return f"user:{user_id}" if user_id is not None else f"token:{api_token_id}"


@lru_cache(maxsize=None)
def counter_columns() -> tuple:
    """The actor's `UsageCounter` row as labelled columns, for a select that outer-joins it on
    `counter_join` (bound parameter `counter_actor`): the consultation reads them with its scope
    lookup (`cdap.services.find_in_scope`, one round trip for both, #22). All NULL when the
    actor has no counter yet."""
    C = UsageCounter.__table__.c
    return tuple(C[name].label(f"counter_{name}") for name in _COUNTER_FIELDS)


def counter_join():
    """(table, ON clause) of the outer join that carries `counter_columns`."""
    table = UsageCounter.__table__
    return table, table.c.actor == bindparam("counter_actor")


class Counts(NamedTuple):
    """An actor's attempts before the one being made: today (UTC day), this night (None by
    day) and misses in a row. `stored`: read from its counter; else counted in its journal, and
    the counter is to be created (`counter_params`)."""
    volume: int
    night: int | None
    streak: int
    stored: bool = True


def counts_of(row, user_id, api_token_id, now: datetime, settings: dict) -> Counts:
    """The actor's `Counts` at `now`, from a row carrying `counter_columns`; counted from the
    journal when the actor has no counter yet (its first attempt since cdap_0008)."""
    if row.counter_day is None:
        return counted_in_journal(user_id, api_token_id, now, settings)
    start = night_start(now, settings["CDAP_NIGHT_START_HOUR"], settings["CDAP_NIGHT_END_HOUR"])
    volume = row.counter_day_count if row.counter_day == now.date() else 0
    night = None if start is None else (row.counter_night_count if row.counter_night_start == start else 0)
    return Counts(volume, night, row.counter_miss_streak)


@lru_cache(maxsize=None)
def _counter_statement():
    table, on = counter_join()
    return select(*counter_columns()).select_from(one_row().outerjoin(table, on))


def counts(user_id, api_token_id, now: datetime, settings: dict) -> Counts:
    """`counts_of` the actor at `now`, its counter read on its own."""
    row = db.session.connection().execute(
        _counter_statement(), {"counter_actor": actor_key(user_id, api_token_id)}).one()
    return counts_of(row, user_id, api_token_id, now, settings)


def counter_params(user_id, api_token_id, now: datetime, settings: dict, before: Counts,
                   outcome: str) -> dict:
    """Bound parameters of `counter_update` for the actor's attempt at `now`, of `outcome`;
    with `counter_seed`, the row to create first when `before` was counted in the journal."""
    start = night_start(now, settings["CDAP_NIGHT_START_HOUR"], settings["CDAP_NIGHT_END_HOUR"])
    key = actor_key(user_id, api_token_id)
    params = {"counter_actor": key, "counter_day": now.date(), "counter_night_start": start,
              "counter_miss": outcome in MISS}
    if not before.stored:
        params["counter_seed"] = {"actor": key, "day": now.date(), "day_count": before.volume,
                                  "night_start": start, "night_count": before.night or 0,
                                  "miss_streak": before.streak}
    return params


def create_counter(seed: dict) -> None:
    """The actor's counter, with its counts before its first attempt since cdap_0008 (an
    INSERT that ignores an existing row: two first attempts of an actor may race)."""
    db.session.connection().execute(insert_ignore(UsageCounter).values(**seed))


def counter_update(source, dialect: str):
    """The write of the actor's counter that goes with its journal row (`portal.chain.append_values`
    `also`, only if `source` has a row): +1 to the day's count (1 on a new UTC day), to the
    night's (1 in a new night; by day the night's are kept), to the misses in a row (0 after any
    other outcome). An attempt whose day or night is older than the counter's (its time was
    taken before a concurrent attempt's, which committed first) counts for neither, as the
    journal's count by time would not count it today.
    An UPDATE of a plain Core statement, compiled once: the dialects' ``ON CONFLICT`` constructs
    are not cached by SQLAlchemy 2.0, and the row is created beforehand (`create_counter`)."""
    C = UsageCounter.__table__
    day = bindparam("counter_day", type_=Date)
    start = bindparam("counter_night_start", type_=DateTime)
    miss = bindparam("counter_miss", type_=Boolean)
    return (update(C)
            .where(C.c.actor == bindparam("counter_actor", type_=String),
                   exists(select(literal(1)).select_from(source)))
            .values(day=case((C.c.day > day, C.c.day), else_=day),
                    day_count=case((C.c.day == day, C.c.day_count + 1), (C.c.day > day, C.c.day_count), else_=1),
                    night_start=case((or_(start.is_(None), C.c.night_start > start), C.c.night_start), else_=start),
                    night_count=case((start.is_(None), C.c.night_count),
                                     (C.c.night_start == start, C.c.night_count + 1),
                                     (C.c.night_start > start, C.c.night_count), else_=1),
                    miss_streak=case((miss, C.c.miss_streak + 1), else_=0)))


@lru_cache(maxsize=None)
def _journal_columns(by_user: bool, at_night: bool, dialect: str) -> tuple:
    """What the rules read of an actor's journal, counted (an actor without a counter yet):
    `volume` (rows today), `night` (rows this night, NULL by day) and `last` (the latest
    outcomes, newest first, a JSON array). The counts stop at their suspension threshold."""
    J = ConsultationJournal.__table__.c
    actor = (J.user_id if by_user else J.api_token_id) == bindparam("actor")

    def bounded(since, limit):
        inner = select(J.id).where(actor, J.at >= bindparam(since)).limit(bindparam(limit)).subquery()
        return select(func.count()).select_from(inner).scalar_subquery()

    latest = select(J.outcome, J.seq).where(actor).order_by(J.seq.desc()).limit(bindparam("last_limit")).subquery()
    if dialect == "postgresql":
        outcomes = func.json_agg(aggregate_order_by(latest.c.outcome, latest.c.seq.desc()))
    else:  # SQLite aggregates the rows in the subquery's order (as cdap.dossier_query relies on)
        outcomes = func.json_group_array(latest.c.outcome)
    return (bounded("day_start", "day_limit").label("volume"),
            (bounded("night_start", "night_limit") if at_night else null()).label("night"),
            type_coerce(select(outcomes).scalar_subquery(), JSON).label("last"))


def counted_in_journal(user_id, api_token_id, now: datetime, settings: dict) -> Counts:
    """`counts_of` read from the actor's journal rows (what its counter starts from)."""
    day_start = datetime.combine(now.date(), time())
    start = night_start(now, settings["CDAP_NIGHT_START_HOUR"], settings["CDAP_NIGHT_END_HOUR"])
    params = {"actor": user_id if user_id is not None else api_token_id, "day_start": day_start,
              "day_limit": settings["CDAP_DAILY_SUSPEND"], "last_limit": settings["CDAP_NOTFOUND_SUSPEND"] + 1,
              "night_start": start, "night_limit": settings["CDAP_NIGHT_SUSPEND"]}
    conn = db.session.connection()
    columns = _journal_columns(user_id is not None, start is not None, conn.dialect.name)
    row = conn.execute(select(*columns), params).one()
    return Counts(row.volume, row.night, miss_streak(row.last or ()), stored=False)


def miss_streak(outcomes) -> int:
    """Misses in a row at the start of `outcomes` (newest first)."""
    streak = 0
    for outcome in outcomes:
        if outcome not in MISS:
            break
        streak += 1
    return streak


def check(*, user_id, api_token_id, organisation_id, settings: dict, now: datetime | None = None,
          pending: str | None = None, before: Counts | None = None) -> list[AtypicalAlert]:
    """Evaluate the rules for this actor; return new alerts. `pending`: the outcome of the
    attempt being made, not journaled yet (counted as the latest row); None: the rules are
    evaluated on the counts as they are (after the actor's latest row). `before`: what
    `counts_of` gives at `now`, when the caller read it already (else it is read here)."""
    now = now or utcnow()
    extra = 1 if pending is not None else 0
    found: list[tuple[str, int, int, int]] = []  # kind, count, alert, suspend
    volume, night, streak, _stored = before if before is not None else counts(user_id, api_token_id, now, settings)
    found.append(("volume", volume + extra, settings["CDAP_DAILY_ALERT"], settings["CDAP_DAILY_SUSPEND"]))
    if night is not None:
        found.append(("nuit", night + extra, settings["CDAP_NIGHT_ALERT"], settings["CDAP_NIGHT_SUSPEND"]))
    if pending is not None:
        streak = streak + 1 if pending in MISS else 0
    found.append(("introuvables", streak, settings["CDAP_NOTFOUND_ALERT"], settings["CDAP_NOTFOUND_SUSPEND"]))

    exempt = user_id is None and settings.get("CDAP_ATYPICAL_EXEMPT_TOKENS", False)
    alerts = []
    for kind, count, alert_at, suspend_at in found:
        if count >= suspend_at and not exempt:
            level, threshold = "suspension", suspend_at
        elif count >= alert_at:
            level, threshold = "alerte", alert_at
        else:
            continue
        exists = db.session.scalar(select(AtypicalAlert.id).where(
            AtypicalAlert.user_id == user_id if user_id is not None else AtypicalAlert.api_token_id == api_token_id,
            AtypicalAlert.kind == kind, AtypicalAlert.level == level, AtypicalAlert.day == now.date()).limit(1))
        if exists:
            continue
        alert = AtypicalAlert(at=now, user_id=user_id, api_token_id=api_token_id,
                              organisation_id=organisation_id, kind=kind, level=level, day=now.date(),
                              count=count, threshold=threshold, details={})
        if level == "suspension":
            if user_id is not None:
                alert.suspended_until = suspend_user(user_id, kind, settings["CDAP_SUSPENSION_HOURS"], now)
            else:
                alert.suspended_until = suspend_token(api_token_id, organisation_id, kind,
                                                      settings["CDAP_SUSPENSION_HOURS"], now)
        db.session.add(alert)
        db.session.flush()
        notify_admins(alert)
        alerts.append(alert)
    return alerts


def suspend_user(user_id: int, kind: str, hours: int, now: datetime) -> datetime | None:
    until = now + timedelta(hours=hours)
    habs = db.session.scalars(select(Habilitation).where(
        Habilitation.user_id == user_id, Habilitation.service == "CDAP", Habilitation.revoked_at.is_(None))).all()
    for hab in habs:
        hab.suspended_until = max(until, hab.suspended_until or until)
        hab.suspension_motif = f"Usage atypique du CDAP ({KINDS[kind]}) : suspension automatique"
    revoke_all_sessions(user_id)
    user = db.session.get(User, user_id)
    record_event("cdap", "habilitation_suspendue", actor=None, organisation_id=user.organisation_id,
                 target=f"user:{user_id}", motif=kind, jusqu_au=until.isoformat(timespec="minutes"))
    return until


def suspend_token(api_token_id: int, organisation_id: int | None, kind: str, hours: int,
                  now: datetime) -> datetime:
    until = now + timedelta(hours=hours)
    # Two consultations of one token may cross the threshold at once: the row is created by an
    # INSERT that ignores an existing one (it waits for a concurrent insert to commit), then
    # read back and extended, so the second never breaks the primary key (a 500 under load).
    db.session.execute(insert_ignore(TokenSuspension).values(
        api_token_id=api_token_id, organisation_id=organisation_id, suspended_until=until,
        motif="", updated_at=now))
    row = db.session.get(TokenSuspension, api_token_id, populate_existing=True)
    row.organisation_id = organisation_id
    row.suspended_until = max(until, row.suspended_until) if row.suspended_until else until
    row.motif = f"Usage atypique du CDAP ({KINDS[kind]}) : suspension automatique"
    row.updated_at = now
    record_event("cdap", "habilitation_suspendue", actor=None, organisation_id=organisation_id,
                 target=f"api_token:{api_token_id}", motif=kind, jusqu_au=until.isoformat(timespec="minutes"))
    return until


def token_suspended_until(api_token_id: int, now: datetime | None = None) -> datetime | None:
    """End of the token's CDAP suspension if one is in force, else None."""
    until = db.session.connection().execute(_TOKEN_SUSPENSION, {"token": api_token_id}).scalar()
    return suspended_until_in_force(until, now)


# Read by `token_suspended_until` (after a consultation that suspended the token): built once.
_TOKEN_SUSPENSION = (select(TokenSuspension.__table__.c.suspended_until)
                     .where(TokenSuspension.__table__.c.api_token_id == bindparam("token")))


def token_suspension_column(token_id):
    """The end of the token's recorded suspension (past or in force), or NULL, as a scalar SQL
    expression: read with the token by the API shell on every CDAP call, in its one statement
    (``portal.registry.Service.token_state``); `suspended_until_in_force` compares it to now."""
    t = TokenSuspension.__table__
    return select(t.c.suspended_until).where(t.c.api_token_id == token_id).scalar_subquery()


def suspended_until_in_force(until: datetime | None, now: datetime | None = None) -> datetime | None:
    """`until` if it is still to come, else None."""
    now = now or utcnow()
    return until if until is not None and until > now else None


def organisation_token_suspension(organisation_id: int, now: datetime | None = None) -> str | None:
    """Why the organisation may not create a new CDAP token, or None: one of its tokens is
    suspended (revoking it and creating another must not undo the Caf's suspension)."""
    now = now or utcnow()
    until = db.session.scalar(select(func.max(TokenSuspension.suspended_until)).where(
        TokenSuspension.organisation_id == organisation_id, TokenSuspension.suspended_until > now))
    if until is None:
        return None
    return (f"Un jeton CDAP de votre organisation est suspendu par la Caf jusqu'au {date_heure(until, fuseau=True)} "
            "(usage atypique) : aucun nouveau jeton CDAP avant la fin ou la levée de la suspension.")


def lift_token_suspension(api_token_id: int) -> bool:
    row = db.session.get(TokenSuspension, api_token_id)
    if row is None or row.suspended_until is None:
        return False
    row.suspended_until = None
    row.updated_at = utcnow()
    return True


def notify_admins(alert: AtypicalAlert) -> None:
    """Tell the Caf admins (``cdap.notifications``: an email at once unless they chose otherwise)."""
    from .notifications import atypical_use
    atypical_use(alert, KINDS[alert.kind])
