"""Rules of the follow-up on the Paris calendar: public holidays, working days, due dates,
reste-à-vivre. Unit tests on known dates, property tests on any date."""
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cdap.situations import rules

DAYS = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))


def test_easter_and_moving_holidays_of_known_years():
    assert rules.easter(2026) == date(2026, 4, 5)
    assert rules.easter(2027) == date(2027, 3, 28)
    h = rules.public_holidays(2026)
    assert {date(2026, 4, 6), date(2026, 5, 14), date(2026, 5, 25)} <= h  # lundi de Pâques, Ascension, Pentecôte
    assert len(h) == 11
    assert date(2026, 12, 26) not in h  # Saint-Étienne: Alsace-Moselle only


def test_ten_working_days_skip_weekends_and_christmas():
    # Friday 18 December 2026 + 10 working days: 25 December and 1 January are holidays
    assert rules.add_working_days(date(2026, 12, 18), 10) == date(2027, 1, 5)
    # Thursday 30 April 2026: 1 May (Friday), 8 May (Friday), Ascension 14 May excluded
    assert rules.add_working_days(date(2026, 4, 30), 10) == date(2026, 5, 19)


def test_contact_overdue_only_after_the_delay_and_without_contact():
    signal = date(2026, 12, 18)
    due = rules.contact_due(signal, 10)
    assert not rules.contact_overdue(signal, None, due, 10)
    assert rules.contact_overdue(signal, None, due + timedelta(days=1), 10)
    assert not rules.contact_overdue(signal, date(2027, 1, 20), date(2027, 2, 1), 10)


def test_due_dates_and_their_basis():
    out = rules.echeances(signal=date(2026, 8, 31), delay_working_days=10, first_contact=None, plan_agreed=False,
                          maintien="renegociation", maintien_decided=date(2027, 3, 1), maintien_months=3)
    by = {e.code: e for e in out}
    assert by["plan"].due == date(2027, 2, 28)  # 31 August + 6 months, clamped to February's end
    assert by["maintien"].done and not by["plan"].done
    assert by["renegociation"].due == date(2027, 6, 1)
    assert all("R824" in e.basis or "jours ouvrés" in e.basis for e in out)
    assert [e.due for e in out] == sorted(e.due for e in out)
    with pytest.raises(ValueError):
        rules.renegociation_end(date(2027, 3, 1), 4)


def test_reste_a_vivre_and_its_formula():
    rav = rules.reste_a_vivre(145000, 98000, 3)
    assert rav.mensuel_cents == 47000
    assert rav.journalier_cents == 522  # 470 € / 3 / 30 = 5,222… rounded down
    assert rav.formula() == ("Reste à vivre = ressources (1\u202f450,00 €) − charges fixes (980,00 €) = 470,00 € "
                             "par mois, soit 470,00 € ÷ 3 personnes ÷ 30 jours = 5,22 € par jour et par personne")
    assert rules.reste_a_vivre(50000, 80000, 1).formula().count("−") >= 2  # negative shown with its sign
    with pytest.raises(ValueError):
        rules.reste_a_vivre(1, 1, 0)
    assert rules.taux_effort(30000, 120000) == 25 and rules.taux_effort(1, 0) is None


@given(DAYS, st.integers(min_value=1, max_value=40))
def test_adding_n_working_days_lands_on_a_working_day_n_working_days_later(start, n):
    end = rules.add_working_days(start, n)
    assert end > start
    assert rules.is_working_day(end)
    assert rules.working_days_between(start, end) == n
    assert rules.working_days_between(start, end - timedelta(days=1)) == n - 1


@given(DAYS, st.integers(min_value=0, max_value=30), st.integers(min_value=0, max_value=30))
def test_working_days_add_up(start, a, b):
    assert rules.add_working_days(rules.add_working_days(start, a), b) == rules.add_working_days(start, a + b)


@given(st.integers(min_value=1900, max_value=2200))
def test_holidays_fall_on_their_weekdays(year):
    e = rules.easter(year)
    assert e.weekday() == 6 and date(year, 3, 22) <= e <= date(year, 4, 25)
    assert (e + timedelta(days=1)).weekday() == 0 and (e + timedelta(days=39)).weekday() == 3
    # 11 holidays, fewer distinct days when Ascension falls on 1 or 8 May (2008: 1 May)
    fixed_may = {date(year, 5, 1), date(year, 5, 8)}
    assert len(rules.public_holidays(year)) == 11 - (e + timedelta(days=39) in fixed_may)


@given(st.integers(min_value=0, max_value=10**8), st.integers(min_value=0, max_value=10**8),
       st.integers(min_value=1, max_value=20))
def test_reste_a_vivre_is_never_overstated(ressources, charges, personnes):
    rav = rules.reste_a_vivre(ressources, charges, personnes)
    assert rav.mensuel_cents == ressources - charges
    assert rav.journalier_cents * personnes * 30 <= rav.mensuel_cents < (rav.journalier_cents + 1) * personnes * 30


@given(DAYS, st.integers(min_value=1, max_value=60))
def test_plan_due_six_months_after_the_signal(signal, delay):
    due = rules.plan_due(signal)
    assert (due.year * 12 + due.month) - (signal.year * 12 + signal.month) == 6
    assert rules.contact_due(signal, delay) < due or delay > 100
