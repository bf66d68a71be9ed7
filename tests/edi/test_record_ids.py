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


def test_a_loaded_batch_is_added_in_one_statement_unless_it_repeats_one(app):
    # PostgreSQL, a large LOYERS file: the batch is already in a table of the transaction
    # (cdap's batch table); its identifiers are added from there, or nothing is added.
    from portal.extensions import db
    if db.session.get_bind().dialect.name != "postgresql":
        return
    from sqlalchemy import text
    conn = db.session.connection()
    conn.execute(text("CREATE TEMPORARY TABLE t_lot (k varchar, n integer) ON COMMIT DROP"))
    loaded = {"table": "t_lot", "identifiant": "k", "rang": "n"}
    seen = SeenIdentifiers()
    conn.execute(text("INSERT INTO t_lot VALUES ('A', 1), ('B', 2)"))
    assert seen.all_new_in(loaded) is True
    conn.execute(text("TRUNCATE t_lot; INSERT INTO t_lot VALUES ('C', 3), ('A', 4)"))
    assert seen.all_new_in(loaded) is False  # rolled back: C not added
    assert seen.repeated([(3, "C"), (4, "A")], try_copy=False) == {4}
    conn.execute(text("TRUNCATE t_lot; INSERT INTO t_lot VALUES ('D', 5), ('D', 6)"))
    assert seen.all_new_in(loaded) is False  # repeated within the batch
    assert seen.repeated([(5, "D"), (6, "D")], try_copy=False) == {6}
    assert seen.repeated([(7, "C"), (8, "E")]) == {7}
