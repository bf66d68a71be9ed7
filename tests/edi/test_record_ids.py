"""Identifiers already met in a file are kept by the database, not in the worker's memory."""
from __future__ import annotations

from edi.record_ids import SeenIdentifiers


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
