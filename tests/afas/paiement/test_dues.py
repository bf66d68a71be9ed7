"""Pure rules of the hand-off, by hand."""
from datetime import date, datetime

from afas.paiement import dues


def test_cents_are_exact_and_rounded_half_away_from_zero():
    assert dues.cents_of(1234.56) == 123456
    assert dues.cents_of(0.1 + 0.2) == 30
    assert dues.cents_of(-15.005) == -1501
    assert dues.cents_of(0) == 0


def test_an_offset_takes_what_the_acompte_allows_oldest_indu_first():
    assert dues.offset(100_00, []) == (100_00, [])
    assert dues.offset(100_00, [30_00]) == (70_00, [30_00])
    assert dues.offset(100_00, [80_00, 50_00]) == (0, [80_00, 20_00])
    assert dues.offset(100_00, [150_00]) == (0, [100_00])


def test_recovery_is_due_when_chosen_or_after_thirty_days_without_answer():
    notified = datetime(2026, 1, 12, 9, 0)
    assert not dues.recovery_due("notifie", notified, date(2026, 2, 10))
    assert dues.recovery_due("notifie", notified, date(2026, 2, 11))
    assert dues.recovery_due("recouvrement", notified, date(2026, 1, 12))
    assert not dues.recovery_due("compensation", notified, date(2027, 1, 1))
