"""Running usage counters of the atypical-use rules (cdap.atypical, `UsageCounter`, #22): what a
consultation reads instead of counting the actor's journal. They must give what the journal
gives, whatever the sequence of attempts, days and nights."""
from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from cdap import atypical, journal
from cdap.models import ConsultationJournal, UsageCounter
from portal import chain
from portal.chain import ChainHead
from portal.extensions import db

OUTCOMES = ("found", "found", "not_found", "out_of_scope", "invalid_input", "suspended", "suivi_lu")


def _record(user, at: datetime, outcome: str, counter=None) -> int:
    return journal.record(user_id=user.id, api_token_id=None, organisation_id=user.organisation_id,
                          profile="agent_caf", reference="r" * 64, categories=[], motif=None,
                          commentaire=None, channel="web", outcome=outcome, request_id=None,
                          at=at, counter=counter)


def _unbounded(app) -> dict:
    """The app's settings with thresholds above any count here: the journal's counts stop at
    their suspension threshold, the counters do not."""
    return {**app.config["CDAP_SETTINGS"], "CDAP_DAILY_SUSPEND": 10_000, "CDAP_NIGHT_SUSPEND": 10_000,
            "CDAP_NOTFOUND_SUSPEND": 10_000}


def test_counters_give_what_the_journal_gives(world, app):
    """120 attempts over three days and two nights (Paris), in a random order of outcomes: after
    each one, the counter's counts equal those counted from the journal."""
    user = world.users["agent_caf"]
    settings = _unbounded(app)
    rng = random.Random(22)
    at = datetime(2026, 1, 10, 8, 0)
    for n in range(120):
        at += timedelta(minutes=rng.choice((7, 23, 41, 95)))
        _record(user, at, rng.choice(OUTCOMES))
        later = at + timedelta(minutes=1)
        counted = atypical.counts(user.id, None, later, settings)
        assert counted.stored
        assert counted[:3] == atypical.counted_in_journal(user.id, None, later, settings)[:3], (n, at)
    assert at.date() >= datetime(2026, 1, 12).date()  # the sequence crossed days and nights


def test_an_attempt_timed_before_a_concurrent_one_counts_as_the_journal_does(world, app):
    """Two attempts may append in the other order than their times (each takes its time before
    waiting for the chain's lock): the later-appended older one, by day or the day before, must
    not reset the night's or the new day's count (the journal counts by time)."""
    user = world.users["agent_caf"]
    settings = _unbounded(app)
    night = datetime(2026, 1, 10, 21, 0)  # 22:00 Paris: the night begins
    for at, outcome in [(night + timedelta(seconds=1), "found"),      # appended first…
                        (night - timedelta(seconds=1), "not_found"),  # …then this one, by day
                        (datetime(2026, 1, 11, 0, 0, 1), "found"),    # the next UTC day…
                        (datetime(2026, 1, 10, 23, 59, 59), "not_found")]:  # …then the day before
        _record(user, at, outcome)
    later = datetime(2026, 1, 11, 0, 5)
    journal_counts = atypical.counted_in_journal(user.id, None, later, settings)
    assert journal_counts[:3] == (1, 3, 1)
    assert atypical.counts(user.id, None, later, settings)[:3] == journal_counts[:3]


def test_counter_of_each_rule():
    """What each count means, on the counter alone (`counts_of` a row)."""
    settings = {"CDAP_NIGHT_START_HOUR": 22, "CDAP_NIGHT_END_HOUR": 6}
    night = datetime(2026, 1, 10, 21, 0)  # 22:00 Paris
    row = type("Row", (), dict(counter_day=datetime(2026, 1, 10).date(), counter_day_count=5,
                               counter_night_start=night, counter_night_count=2, counter_miss_streak=3))
    assert atypical.counts_of(row, 1, None, datetime(2026, 1, 10, 23, 30), settings) == (5, 2, 3, True)
    assert atypical.counts_of(row, 1, None, datetime(2026, 1, 10, 12, 0), settings) == (5, None, 3, True)
    # next UTC day, still the same night: the day starts again, the night goes on
    assert atypical.counts_of(row, 1, None, datetime(2026, 1, 11, 1, 0), settings) == (0, 2, 3, True)
    # the next night
    assert atypical.counts_of(row, 1, None, datetime(2026, 1, 11, 22, 0), settings) == (0, 0, 3, True)


def test_an_actor_without_counter_starts_from_its_journal(world, app):
    """Rows journaled before the counters existed (cdap_0008) are counted once, at the actor's
    next attempt, and its counter goes on from there."""
    user = world.users["agent_caf"]
    settings = _unbounded(app)
    now = datetime(2026, 1, 10, 10, 0)
    for minutes, outcome in [(50, "found"), (40, "not_found"), (30, "out_of_scope")]:
        # the ORM append, which knows nothing of the counters
        chain.append(ConsultationJournal(
            at=now - timedelta(minutes=minutes), user_id=user.id, organisation_id=user.organisation_id,
            profile="agent_caf", categories=[], channel="web", outcome=outcome))
    db.session.flush()
    assert db.session.get(UsageCounter, atypical.actor_key(user.id, None)) is None
    assert atypical.counts(user.id, None, now, settings) == (3, None, 2, False)
    _record(user, now, "not_found")
    counter = db.session.get(UsageCounter, atypical.actor_key(user.id, None))
    assert (counter.day_count, counter.miss_streak) == (4, 3)


def test_the_first_row_of_the_chain_is_counted_once(world, app):
    """The counter's write goes with the row: on PostgreSQL, when the chain has no head yet, the
    append's statement runs twice (the head is created between), and the counter counts once."""
    user = world.users["agent_caf"]
    db.session.execute(delete(ConsultationJournal))
    db.session.execute(delete(ChainHead).where(ChainHead.name == ConsultationJournal.CHAIN_NAME))
    db.session.flush()
    _record(user, datetime(2026, 1, 10, 10, 0), "not_found")
    counter = db.session.get(UsageCounter, atypical.actor_key(user.id, None))
    assert (counter.day_count, counter.miss_streak) == (1, 1)
    assert db.session.scalar(select(ConsultationJournal.seq)) == 1


def test_an_api_token_has_its_own_counter(world, app):
    """A user and an API token with the same id are two actors."""
    user = world.users["agent_caf"]
    at = datetime(2026, 1, 10, 10, 0)
    _record(user, at, "found")
    journal.record(user_id=None, api_token_id=user.id, organisation_id=user.organisation_id,
                   profile="agent_caf", reference="r" * 64, categories=[], motif=None, commentaire=None,
                   channel="api", outcome="not_found", request_id=None, at=at)
    settings = _unbounded(app)
    assert atypical.counts(user.id, None, at, settings) == (1, None, 0, True)
    assert atypical.counts(None, user.id, at, settings) == (1, None, 1, True)
