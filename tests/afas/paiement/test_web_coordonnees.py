"""The Caf agent's form for a partner's bank details (#21), role by role: the agent enters and
changes them (CSRF, checks, audit); the partner cannot; the IBAN is masked everywhere but the
agent's edit form; the agent's payment page lists what waits for them."""
from afas.paiement import coordonnees
from portal.extensions import db

from ..conftest import csrf
from .conftest import IBAN

NEW = "FR14 2004 1010 0505 0001 3M02 606"


def _html(response):
    return response.get_data(as_text=True).replace("&#39;", "'")


def test_the_agent_changes_the_details_through_the_form(client, login, paiement_world):
    w = paiement_world
    login(w.agent)
    listing = _html(client.get("/afas/paiements/coordonnees"))
    assert "FR76 •••• 0189" in listing and IBAN not in listing and "3000 6000" not in listing
    edit = f"/afas/paiements/coordonnees/{w.org.id}"
    form = _html(client.get(edit))
    assert 'value="FR76 3000 6000 0112 3456 7890 189"' in form    # the only place it is shown whole
    token = csrf(client, edit)
    r = client.post(edit, data={"csrf_token": token, "iban": "FR14 2004 1010 0505 0001 3M02 607", "bic": "PSSTFRPPLIL",
                                "titulaire": "Crèche Les Lutins"})
    assert r.status_code == 422
    page = _html(r)
    assert '<p id="iban-error" class="fr-error-text">La clé de contrôle ne correspond pas' in page and 'aria-invalid="true"' in page
    assert coordonnees.coordonnees_of(w.org.id).iban == IBAN
    r = client.post(edit, data={"csrf_token": token, "iban": NEW.lower(), "bic": "psstfrppLIL",
                                "titulaire": "Crèche Les Lutins"})
    assert r.status_code == 302
    row = coordonnees.coordonnees_of(w.org.id)
    assert row.iban == "FR1420041010050500013M02606" and row.bic == "PSSTFRPPLIL" and row.recorded_by_id == w.agent.id
    history = _html(client.get(edit))
    assert "FR76 •••• 0189 → FR14 •••• 2606" in history


def test_the_form_needs_its_csrf_token(client, login, paiement_world):
    w = paiement_world
    login(w.agent)
    r = client.post(f"/afas/paiements/coordonnees/{w.org.id}", data={"iban": NEW, "titulaire": "X"})
    assert r.status_code == 400 and coordonnees.coordonnees_of(w.org.id).iban == IBAN


def test_partners_cannot_see_or_change_the_form(client, login, paiement_world):
    w = paiement_world
    for user in (w.manager, w.partner_admin):
        login(user)
        assert client.get("/afas/paiements/coordonnees").status_code == 403
        assert client.get(f"/afas/paiements/coordonnees/{w.org.id}").status_code == 403
        token = csrf(client, "/afas/mes-paiements")
        r = client.post(f"/afas/paiements/coordonnees/{w.org.id}",
                        data={"csrf_token": token, "iban": NEW, "titulaire": "Pirate"})
        assert r.status_code == 403
    assert coordonnees.coordonnees_of(w.org.id).iban == IBAN


def test_the_partner_sees_its_masked_details(client, login, paiement_world):
    w = paiement_world
    login(w.manager)
    page = _html(client.get("/afas/mes-paiements"))
    assert "Compte de versement : <strong>FR76 •••• 0189</strong> au nom de Crèche Les Lutins" in page
    assert IBAN not in page and "3000 6000" not in page


def test_an_unknown_organisation_is_404(client, login, paiement_world):
    login(paiement_world.agent)
    assert client.get("/afas/paiements/coordonnees/999999").status_code == 404
    assert client.get(f"/afas/paiements/coordonnees/{paiement_world.caf.id}").status_code == 404   # no équipement


def test_the_agent_payment_page_lists_what_waits_for_bank_details(client, login, paiement_world, monkeypatch):
    w = paiement_world
    db.session.delete(coordonnees.coordonnees_of(w.org.id))
    db.session.flush()
    from afas.paiement import views
    monkeypatch.setattr(views, "paris_today", lambda: w.march)
    login(w.agent)
    page = _html(client.get("/afas/paiements"))
    section = page[page.index('data-testid="afas-paiement-attente"'):].split("</table>")[0]
    assert "En attente de coordonnées bancaires" in section and "Acompte n° 1" in section
    assert f"/afas/paiements/coordonnees/{w.org.id}" in section
    login(w.manager)
    assert "ne sont pas encore enregistrées par la Caf" in _html(client.get("/afas/mes-paiements"))
