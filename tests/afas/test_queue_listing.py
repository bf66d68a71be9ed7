"""The agent's AFAS queue as a list: every declaration reachable (no cap), counted, searched by
organisation or équipement, sorted by column, paged with numbers."""
import re
from datetime import date, datetime

from afas.models import Declaration, Equipement
from portal.extensions import db


def ids(html):
    return [int(i) for i in re.findall(r'data-testid="afas-queue-row" data-id="(\d+)"', html)]


def test_queue_counts_searches_sorts_and_pages(afas_world, factory, login, client):
    w = afas_world
    far = factory.organisation("association", services={"AFAS": []}, nom="Association Zéphyr")
    made = []
    for n in range(30):
        eq = Equipement(organisation_id=(far if n == 7 else w.org).id, type="ALSH", nom=f"Accueil {n:02d}",
                        numero=f"ALSH-Q{w.org.id}-{n}", activite="extrascolaire")
        db.session.add(eq)
        db.session.flush()
        d = Declaration(equipement_id=eq.id, annee=2026, type="previsionnel", status="transmise",
                        echeance=date(2026, 1, 1 + n % 28), transmitted_at=datetime(2025, 12, 1, 9, n),
                        droit=1000 + n)
        db.session.add(d)
        made.append(d)
    db.session.flush()
    login(w.agent)
    html = client.get("/afas/instruction?annee=2026").get_data(as_text=True)
    assert 'data-total="30"' in html and "page 1 sur 2" in html
    first = ids(html)
    assert len(first) == 25
    second = ids(client.get("/afas/instruction?annee=2026&page=2").get_data(as_text=True))
    assert len(second) == 5 and not set(first) & set(second)
    assert set(first) | set(second) == {d.id for d in made}
    # By deadline first (the default), then by droit, largest first.
    assert [db.session.get(Declaration, i).echeance for i in first] == sorted(
        db.session.get(Declaration, i).echeance for i in first)
    by_droit = ids(client.get("/afas/instruction?annee=2026&tri=droit&sens=desc").get_data(as_text=True))
    assert by_droit[0] == made[29].id
    # Search: the organisation's name, case aside; an équipement number.
    found = client.get("/afas/instruction?annee=2026&q=zéphyr").get_data(as_text=True)
    assert ids(found) == [made[7].id] and 'data-total="1"' in found
    assert ids(client.get(f"/afas/instruction?q=ALSH-Q{w.org.id}-12").get_data(as_text=True)) == [made[12].id]
    # Filters and search survive the page links.
    assert re.search(r'href="/afas/instruction\?annee=2026&amp;page=2"', html)
