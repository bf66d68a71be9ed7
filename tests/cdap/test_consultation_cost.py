"""What one consultation costs the database, counted (behaviour, not timing): the SQL
statements a page or API consultation issues, from the session cookie or the token to the
commit. The bench (bench/cdap_bench.py --profile) shows where they go, phase by phase."""
import re
from contextlib import contextmanager
from datetime import date

import pytest
from sqlalchemy import event, func, select

from cdap.models import ConsultationJournal
from portal.extensions import db
from tests.support.factories import csrf_token

# Savepoints and their releases are the test harness's (each test runs in a rolled-back
# transaction), not the consultation's.
HARNESS = re.compile(r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)", re.I)


@contextmanager
def counted():
    statements: list[str] = []

    def on_execute(_conn, _cursor, statement, _params, _context, _many):
        if not HARNESS.match(statement):
            statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)


def _page(client, numero, nom):
    token = csrf_token(client, "/cdap/consultation")
    with counted() as statements:
        r = client.post("/cdap/consultation", data={"numero": numero, "nom": nom,
                                                   "motif": "accompagnement_social", "csrf_token": token})
    return r, statements


# Statements of one consultation of the showcase file by a social worker (every section) and of
# a numéro that does not exist. Before issue #22, at night: page 17 and 8, API 18 and 9 (one
# less by day): the atypical-use counts took two or three statements, the current rent a
# second read of the rent history.
PAGE_FOUND, PAGE_MISS = 14, 6
API_FOUND, API_MISS = 15, 7


@pytest.mark.parametrize("numero, nom, status, budget", [
    ("8000001", "Lefèvre", 200, PAGE_FOUND), ("8999999", "Lefèvre", 404, PAGE_MISS)])
def test_page_consultation_statement_budget(numero, nom, status, budget, world, login, client):
    login(world.users["travailleur_social"])
    _page(client, "8000001", "Lefèvre")  # a first one: the chain head exists
    before = db.session.scalar(select(func.count()).select_from(ConsultationJournal))
    r, statements = _page(client, numero, nom)
    assert r.status_code == status
    assert len(statements) <= budget, "\n---\n".join(statements)
    # still journaled in the chain, in the same request
    assert db.session.scalar(select(func.count()).select_from(ConsultationJournal)) == before + 1
    assert sum(s.lstrip().upper().startswith("INSERT INTO CDAP_JOURNAL") for s in statements) == 1


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
    assert len(statements) <= budget, "\n---\n".join(statements)
    assert sum(s.lstrip().upper().startswith("INSERT INTO CDAP_JOURNAL") for s in statements) == 1


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
