"""The shared French formatting and calendar helpers (portal.formatting, portal.dates)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.dates import add_months, previous_month
from portal.formatting import accord, decimal_centimes, entier, euros, euros_centimes, nombre


def test_amounts_and_numbers_in_french():
    assert euros(1234.5) == "1\u202f234,50 €"
    assert euros(Decimal("-0.5")) == "-0,50 €"
    assert euros(None) == "—" and euros(None, absent="-") == "-"
    assert euros_centimes(123405) == "1\u202f234,05 €"
    assert euros_centimes(-5) == "-0,05 €"
    assert nombre(1234.5) == "1\u202f234,5" and nombre(2.0) == "2" and nombre(1.23456, 4) == "1,2346"
    assert entier(12345.4) == "12\u202f345"


def test_counts_agree_with_their_noun():
    assert accord(0, "ligne") == "0 ligne" and accord(1, "ligne") == "1 ligne"
    assert accord(2, "ligne") == "2 lignes"
    assert accord(1500, "entrée vérifiée", "entrées vérifiées") == "1\u202f500 entrées vérifiées"
    assert accord(2, "nouveau signalement", "nouveaux signalements") == "2 nouveaux signalements"


def test_cents_as_a_plain_number_for_spreadsheets_and_form_fields():
    """« 1234,05 »: what a French spreadsheet (CSV exports) or a form field (demo data) reads,
    written once (issue #17) for edi.documents and edi.declarations.demo."""
    assert decimal_centimes(123405) == "1234,05"
    assert decimal_centimes(-5) == "-0,05" and decimal_centimes(-1234) == "-12,34"
    assert decimal_centimes(0) == "0,00"


@given(st.integers(min_value=-10**12, max_value=10**12))
def test_cents_never_go_through_a_float(cents):
    text = euros_centimes(cents)
    digits = text.replace("\u202f", "").replace(" €", "").replace(",", "")
    assert int(digits) == cents


@pytest.mark.parametrize("day, months, expected", [
    (date(2026, 1, 31), 1, date(2026, 2, 28)),
    (date(2024, 1, 31), 1, date(2024, 2, 29)),
    (date(2026, 8, 31), 6, date(2027, 2, 28)),
    (date(2026, 3, 15), -3, date(2025, 12, 15)),
    (date(2026, 12, 1), 1, date(2027, 1, 1)),
])
def test_add_months_clamps_to_the_end_of_the_month(day, months, expected):
    assert add_months(day, months) == expected


@given(st.dates(min_value=date(1900, 3, 1), max_value=date(2999, 1, 1)), st.integers(-120, 120))
def test_add_months_moves_by_whole_months(day, months):
    moved = add_months(day, months)
    assert (moved.year * 12 + moved.month) - (day.year * 12 + day.month) == months
    assert moved.day <= day.day


def test_previous_month():
    assert previous_month(date(2026, 1, 10)) == (2025, 12)
    assert previous_month(date(2026, 7, 31)) == (2026, 6)


def test_today_is_the_paris_calendar_day(monkeypatch):
    from datetime import datetime as real_datetime, timezone

    import portal.dates as dates

    class Frozen(real_datetime):
        @classmethod
        def now(cls, tz=None):  # 23:30 UTC on 31 December is already 1 January in Paris
            return real_datetime(2026, 12, 31, 23, 30, tzinfo=timezone.utc).astimezone(tz)

    monkeypatch.setattr(dates, "datetime", Frozen)
    assert dates.today() == date(2027, 1, 1)


def test_naive_utc_refuses_a_naive_datetime():
    from datetime import datetime, timezone

    from portal.dates import PARIS, naive_utc
    assert naive_utc(datetime(2026, 7, 1, 12, tzinfo=PARIS)) == datetime(2026, 7, 1, 10)
    assert naive_utc(datetime(2026, 1, 1, tzinfo=timezone.utc)) == datetime(2026, 1, 1)
    with pytest.raises(ValueError):
        naive_utc(datetime(2026, 1, 1))  # noqa: DTZ001
