"""Identifiers already met in a file are kept by the database, not in the worker's memory."""
from __future__ import annotations

from edi.intake.record_ids import SeenIdentifiers


def test_later_occurrences_are_reported_in_the_batch_and_across_batches(app):
    seen = SeenIdentifiers()
    assert seen.repeated([(1, "A"), (2, "B"), (3, "A")]) == {3}
    assert seen.repeated([(4, "C"), (5, "B"), (6, "C"), (7, "D")]) == {5, 6}
    assert seen.repeated([(8, "E")]) == set()


def test_a_new_file_starts_with_nothing_seen(app):
    first = SeenIdentifiers()
    assert first.repeated([(1, "A"), (2, "B")]) == set()
    second = SeenIdentifiers()  # same transaction, next file
    assert second.repeated([(1, "A"), (2, "A")]) == {2}


def test_a_batch_of_new_identifiers_is_remembered_for_the_next_ones(app):
    # All new: on PostgreSQL copied straight into the table (savepoint kept); a later batch
    # repeating one of them falls back to the general way, which must still see them.
    seen = SeenIdentifiers()
    assert seen.repeated([(1, "A"), (2, "B")]) == set()
    assert seen.repeated([(3, "C"), (4, "A")]) == {4}
    assert seen.repeated([(5, "C"), (6, "D")]) == {5}
    assert seen.repeated([(7, "E")]) == set()
