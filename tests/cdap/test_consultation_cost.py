"""What one consultation costs the database, counted (behaviour, not timing): the SQL
statements a page or API consultation issues, from the session cookie or the token to the
commit. The bench (bench/cdap_bench.py --profile) shows where they go, phase by phase."""
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from cdap.models import ConsultationJournal
from portal.extensions import db
from tests.support.factories import csrf_token
from tests.support.statements import compiled_anew, counted

def _page(client, numero, nom):
    token = csrf_token(client, "/cdap/consultation")
    with counted() as statements:
        r = client.post("/cdap/consultation", data={"numero": numero, "nom": nom,
                                                   "motif": "accompagnement_social", "csrf_token": token})
    return r, statements


# Statements of one consultation of the showcase file by a social worker (every section) and of
# a numéro that does not exist. Before issue #22 (main at 5261d43), at night: page 18 and 9,
# API 18 and 9 (one less by day): the atypical-use counts took two or three statements, the current rent a
# second read of the rent history. Then (main at cd6c023) 15 and 7: one select per section.
# Now the sections are one statement (cdap.dossier_query): page 7 = session (with the layout's
# notifications badge, read in the same statement since #22's shell work), scope lookup,
# atypical counts, sections, journal (lock head, insert, move head); API 7 = token (with its
# organisation, contract and CDAP suspension in one statement: portal.api.authenticate_bearer),
# then the same. (Page 8 and API 8 before that shell work.)
# Then (main at 408b1c7) the scope lookup also reads the atypical-use counts
# (cdap.services.find_in_scope): page 6 = session, lookup with counts, sections, journal (3);
# API 6 likewise. On PostgreSQL the journal's lock, insert and head move are one statement
# (portal.chain.append_values, #22): two less there, 4 (3 for a file not found).
# Then (cdap_0008) the counts are running counters: the lookup reads the actor's counter row
# and the journal's statement also writes it; on SQLite that write is one more statement (7
# and 6), on PostgreSQL it is a CTE of the journal's statement (still 4 and 3).
PAGE_FOUND, PAGE_MISS = 7, 6
API_FOUND, API_MISS = 7, 6


def _budget(budget: int) -> int:
    return budget - 3 if db.engine.dialect.name == "postgresql" else budget


def _journal_inserts(statements) -> int:
    return sum("INSERT INTO CDAP_JOURNAL" in s.upper() for s in statements)


@pytest.mark.parametrize("numero, nom, status, budget", [
    ("8000001", "Lefèvre", 200, PAGE_FOUND), ("8999999", "Lefèvre", 404, PAGE_MISS)])
def test_page_consultation_statement_budget(numero, nom, status, budget, world, login, client):
    login(world.users["travailleur_social"])
    _page(client, "8000001", "Lefèvre")  # a first one: the chain head exists
    before = db.session.scalar(select(func.count()).select_from(ConsultationJournal))
    r, statements = _page(client, numero, nom)
    assert r.status_code == status
    assert len(statements) <= _budget(budget), "\n---\n".join(statements)
    # still journaled in the chain, in the same request
    assert db.session.scalar(select(func.count()).select_from(ConsultationJournal)) == before + 1
    assert _journal_inserts(statements) == 1


@pytest.mark.parametrize("numero, status, budget", [("8000001", 200, API_FOUND), ("8999999", 404, API_MISS)])
def test_api_consultation_statement_budget(numero, status, budget, world, api_client, factory):
    user = world.users["travailleur_social"]
    _t, raw = factory.api_token(world.cd80, user, scopes=("CDAP",), profil="travailleur_social")
    api = api_client(raw)
    body = {"numero_allocataire": "8000001", "nom": "Lefèvre", "motif": "accompagnement_social"}
    assert api.post("/api/v1/cdap/consultations", json=body).status_code == 200
    with counted() as statements:
        r = api.post("/api/v1/cdap/consultations", json={**body, "numero_allocataire": numero})
    assert r.status_code == status
    assert len(statements) <= _budget(budget), "\n---\n".join(statements)
    assert _journal_inserts(statements) == 1


def test_a_consultation_compiles_no_statement_again(world, login, client, factory, api_client):
    """Every statement of a page or API consultation comes from SQLAlchemy's compiled cache once
    the first one ran: a statement SQLAlchemy cannot cache (e.g. a dialect's ``ON CONFLICT``
    construct, not cached in 2.0) would be compiled at every consultation (≈ 2.5 ms of CPU, #22)."""
    login(world.users["travailleur_social"])
    _page(client, "8000001", "Lefèvre")
    _page(client, "8999999", "Lefèvre")
    with compiled_anew() as statements:
        _page(client, "8000001", "Lefèvre")
        _page(client, "8999999", "Lefèvre")
    assert statements == []
    _t, raw = factory.api_token(world.cd80, world.users["travailleur_social"], scopes=("CDAP",),
                                profil="travailleur_social")
    api = api_client(raw)
    body = {"numero_allocataire": "8000001", "nom": "Lefèvre", "motif": "accompagnement_social"}
    api.post("/api/v1/cdap/consultations", json=body)
    with compiled_anew() as statements:
        assert api.post("/api/v1/cdap/consultations", json=body).status_code == 200
    assert statements == []


def test_current_rent_from_history_rows_matches_the_query(world, cdap_data):
    """The file view takes the current rent from the history rows it reads anyway
    (cdap.loyers.latest_in); it must pick what cdap.loyers.latest_history picks: latest date
    d'effet reached, then latest id, future rents ignored."""
    from cdap.loyers import latest_history, latest_in
    from cdap.models import LoyerHistorique as H
    a = cdap_data.allocataire()
    lg1 = cdap_data.logement(a, "BL080001", "L1")
    lg2 = cdap_data.logement(a, "BL080001", "L2")
    lg3 = cdap_data.logement(a, "BL080001", "L3")
    today = date(2026, 12, 7)
    for n, (lg, effet, loyer) in enumerate([
            (lg1, date(2025, 1, 1), 40000), (lg1, date(2026, 6, 1), 41000), (lg1, date(2026, 6, 1), 41500),
            (lg1, date(2027, 1, 1), 99999), (lg2, date(2027, 3, 1), 88888), (lg3, date(2026, 12, 7), 50500)]):
        db.session.add(H(logement_id=lg.id, code_bailleur="BL080001", idempotency_key=f"k{n}", source="test",
                         loyer_cents=loyer, charges_cents=5000, nb_colocataires=n, date_effet=effet))
    db.session.flush()
    ids = [lg1.id, lg2.id, lg3.id]
    rows = db.session.execute(select(H.id, H.logement_id, H.date_effet, H.loyer_cents, H.charges_cents,
                                     H.nb_colocataires).where(H.logement_id.in_(ids))).all()
    expected = latest_history(ids, today)
    assert latest_in(rows, today) == expected
    assert expected[lg1.id]["loyer_cents"] == 41500 and lg2.id not in expected
    assert expected[lg3.id]["loyer_cents"] == 50500


def _journal_rows(user, rows):
    for n, (at, outcome) in enumerate(rows, start=1):
        db.session.add(ConsultationJournal(at=at, user_id=user.id, organisation_id=user.organisation_id,
                                           profile="agent_caf", categories=[], channel="web", outcome=outcome,
                                           seq=n, prev_hash="0" * 64, row_hash=f"{n:064d}"))
    db.session.flush()


@pytest.mark.parametrize("now, night_expected", [
    (datetime(2026, 1, 10, 10, 0), None),   # 11:00 Paris: no night count
    (datetime(2026, 1, 10, 23, 30), 3),     # 00:30 Paris: the night began at 22:00 Paris
])
def test_atypical_counts_read_in_one_statement_keep_their_meaning(now, night_expected, world, app):
    """Day volume, night volume and the streak of misses of an actor without a usage counter,
    read together from its journal (cdap.atypical.counted_in_journal): only today's rows count
    for the volume, only the night's for the night, and the streak stops at the latest row that
    is not a miss."""
    from cdap import atypical
    user = world.users["agent_caf"]
    day = now.replace(hour=0, minute=5)
    _journal_rows(user, [(day - timedelta(days=1), "found"),        # yesterday: not today
                         (now - timedelta(minutes=50), "found"),
                         (now - timedelta(minutes=40), "not_found"),
                         (now - timedelta(minutes=30), "out_of_scope")])
    settings = {**app.config["CDAP_SETTINGS"], "CDAP_DAILY_ALERT": 4, "CDAP_DAILY_SUSPEND": 50,
                "CDAP_NIGHT_ALERT": 50, "CDAP_NIGHT_SUSPEND": 60,
                "CDAP_NOTFOUND_ALERT": 3, "CDAP_NOTFOUND_SUSPEND": 50}
    assert atypical.counted_in_journal(user.id, None, now, settings) == (3, night_expected, 2, False)
    alerts = atypical.check(user_id=user.id, api_token_id=None, organisation_id=user.organisation_id,
                            settings=settings, now=now, pending="not_found")
    assert sorted((a.kind, a.count) for a in alerts) == [("introuvables", 3), ("volume", 4)]


def test_atypical_counts_of_an_actor_without_rows(world, app):
    from cdap import atypical
    user = world.users["agent_caf"]
    settings = app.config["CDAP_SETTINGS"]
    night = datetime(2026, 1, 10, 23, 30)
    assert atypical.counted_in_journal(user.id, None, night, settings) == (0, 0, 0, False)
    assert atypical.counted_in_journal(user.id, None, datetime(2026, 1, 10, 10), settings) == (0, None, 0, False)
    assert atypical.counts(user.id, None, night, settings) == (0, 0, 0, False)


def test_core_journal_append_keeps_the_orm_chain(world, app):
    """The consultation appends its journal row with Core statements (portal.chain.append_values);
    rows appended that way and by the ORM path (chain.append) form one chain that verifies, with
    the same hash as the ORM would compute from the stored row."""
    from portal import chain
    from cdap import journal
    user = world.users["agent_caf"]
    fields = dict(user_id=user.id, api_token_id=None, organisation_id=user.organisation_id, profile="agent_caf",
                  reference="r" * 64, categories=["identite", "foyer"], motif="gestion_dossier",
                  commentaire="é" * 10, channel="web", outcome="found", request_id="req-1")
    first = journal.record(**fields)
    chain.append(ConsultationJournal(at=datetime(2026, 12, 7, 9, 0, 0, 1), **fields))
    third = journal.record(**{**fields, "categories": [], "outcome": "not_found"})
    rows = db.session.scalars(select(ConsultationJournal).order_by(ConsultationJournal.seq)).all()
    assert [r.id for r in rows][0] == first and rows[-1].id == third and len(rows) == 3
    assert [r.prev_hash for r in rows[1:]] == [r.row_hash for r in rows[:-1]]
    for r in rows:
        assert r.row_hash == chain.compute_hash(r.seq, r.prev_hash, r.chain_payload())
    assert rows[0].categories == ["identite", "foyer"] and rows[0].commentaire == "é" * 10
    assert journal.verify().ok and journal.verify().checked == 3


def test_core_journal_append_refuses_an_overlong_value(world, app):
    """The one-statement append of PostgreSQL passes its values as text to the row's columns:
    an overlong value is refused, as an INSERT … VALUES refuses it, never cut short."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite does not enforce the length of a column")
    from sqlalchemy.exc import DataError
    from portal import chain
    user = world.users["agent_caf"]
    with pytest.raises(DataError, match="too long"):
        chain.append_values(ConsultationJournal, dict(
            at=datetime(2026, 12, 7, 9), user_id=user.id, organisation_id=user.organisation_id,
            profile="p" * 41, categories=[], channel="web", outcome="found"))


@pytest.mark.parametrize("numero, nom, status", [("8000001", "Lefèvre", 200), ("8999999", "Lefèvre", 404)])
def test_the_page_is_rendered_before_the_chain_head_is_locked(numero, nom, status, world, login, client):
    """Appending the journal row locks the chain head until the commit, and every consultation
    waits for that lock: the page (here: its layout's notifications badge, one statement) is
    rendered before, so that the lock is held for the append (with the actor's usage counter)
    and the commit only."""
    login(world.users["travailleur_social"])
    _page(client, "8000001", "Lefèvre")
    r, statements = _page(client, numero, nom)
    assert r.status_code == status
    heads = [i for i, s in enumerate(statements) if "chain_heads" in s]
    badge = [i for i, s in enumerate(statements) if "FROM notifications" in s]
    assert heads and badge and max(badge) < min(heads)
    assert all("chain_heads" in s or "INSERT INTO cdap_journal" in s or "UPDATE cdap_compteurs_usage" in s
               for s in statements[min(heads):])
