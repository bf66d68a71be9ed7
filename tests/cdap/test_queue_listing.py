"""The unpaid-rent queue as a list: landlords by name, search, sort, count (portal.listing)."""
import re

from sqlalchemy import select

from cdap.models import ImpayeQueueItem, SignalementImpaye
from portal.extensions import db


def rows(html):
    return re.findall(r'data-numero="(\d+)"', html)


def test_queue_names_landlords_and_searches(world, login, client):
    login(world.users["travailleur_social"])
    html = client.get("/cdap/impayes").get_data(as_text=True)
    items = db.session.scalars(select(ImpayeQueueItem).join(SignalementImpaye,
                               SignalementImpaye.id == ImpayeQueueItem.impaye_id)
                               .where(SignalementImpaye.code_bailleur == "BL080001")).all()
    assert items
    cell = re.search(rf'data-testid="impaye-bailleur-{items[0].id}">(.*?)</td>', html, re.S).group(1)
    assert cell.startswith(world.ph.nom) and "code BL080001" in cell
    total = int(re.search(r'data-total="(\d+)"', html).group(1))
    assert total == len(rows(html)) > 0
    # Search by the landlord's name, by file number, and nothing for an unknown word.
    assert rows(client.get(f"/cdap/impayes?q={world.ph.nom}").get_data(as_text=True))
    assert rows(client.get("/cdap/impayes?q=8000001").get_data(as_text=True)) == ["8000001"]
    empty = client.get("/cdap/impayes?q=introuvable").get_data(as_text=True)
    assert rows(empty) == [] and "Aucun signalement pour « introuvable »" in empty
    # Sort by debt, largest first.
    debts = [i.impaye.montant_dette_cents for i in sorted(
        db.session.scalars(select(ImpayeQueueItem).where(ImpayeQueueItem.statut != "clos")),
        key=lambda i: i.impaye.montant_dette_cents, reverse=True) if i.allocataire.departement == "80"]
    html = client.get("/cdap/impayes?tri=dette&sens=desc").get_data(as_text=True)
    assert 'aria-sort="descending"' in html and len(rows(html)) == len(debts)
    assert client.get("/cdap/impayes?page=x").status_code == 400
