"""Outside a signed convention in force the équipement's declarations are read-only (#21): role
by role on the pages, and 409 problems on the API."""
from datetime import date, timedelta

import pytest

from afas import services
from afas.models import Declaration
from portal.extensions import db

from .conftest import csrf
from .helpers import eaje


@pytest.fixture
def expired(afas_world):
    """The crèche has a draft; then its only convention ended on 31/12/2025 (today is later)."""
    w = afas_world
    w.draft = services.create_declaration(w.creche, 2026, "previsionnel", w.manager)
    services.save_draft(w.draft, eaje(places_agreees=40), {}, w.manager)
    w.creche.conventions[0].fin = date(2025, 12, 31)
    db.session.flush()
    return w


def text(response):
    return response.get_data(as_text=True).replace("&#39;", "'").replace("&#34;", '"')


def test_the_manager_sees_read_only_pages_with_the_reason(client, login, expired):
    w = expired
    login(w.manager)
    page = text(client.get(f"/afas/equipements/{w.creche.id}"))
    assert 'data-testid="afas-service-inactif"' in page
    assert "sa convention COF-EAJE-T" in page and "a pris fin le 31/12/2025" in page
    assert "Contactez votre Caf" in page and 'data-testid="afas-new-declaration"' not in page
    page = text(client.get(f"/afas/declarations/{w.draft.id}"))
    assert 'data-testid="afas-service-inactif"' in page and 'data-testid="afas-save"' not in page
    home = text(client.get("/afas/"))
    assert "Sans convention en vigueur" in home and 'data-testid="afas-service-inactif"' in home
    # The other équipement (ALSH) keeps its service.
    assert 'data-testid="afas-new-declaration"' in text(client.get(f"/afas/equipements/{w.alsh.id}"))


def test_the_manager_cannot_write(client, login, expired):
    w = expired
    login(w.manager)
    token = csrf(client, f"/afas/declarations/{w.draft.id}")
    r = client.post(f"/afas/declarations/{w.draft.id}", data={"csrf_token": token, "action": "save",
                                                             **eaje(places_agreees=12)})
    assert r.status_code == 302
    assert w.draft.data["places_agreees"] != "12" and str(w.draft.data["places_agreees"]) == "40"
    assert "Service AFAS inactif" in text(client.get(r.headers["Location"]))
    r = client.post(f"/afas/declarations/{w.draft.id}/brouillon", data={"csrf_token": token, **eaje()})
    assert r.status_code == 409 and "Service AFAS inactif" in r.get_json()["message"]
    r = client.post(f"/afas/declarations/{w.draft.id}", data={"csrf_token": token, "action": "transmit", **eaje()})
    assert r.status_code == 302 and w.draft.status == "brouillon" and not w.draft.versions
    before = db.session.query(Declaration).count()
    r = client.post(f"/afas/equipements/{w.creche.id}/declarations",
                    data={"csrf_token": token, "annee": "2026", "type": "actualise_septembre"})
    assert r.status_code == 302 and db.session.query(Declaration).count() == before


def test_the_partner_admin_reads_the_reason_and_another_partner_sees_nothing(client, login, expired):
    w = expired
    login(w.partner_admin)
    assert "Service AFAS inactif" in text(client.get(f"/afas/equipements/{w.creche.id}"))
    login(w.other_manager)
    assert client.get(f"/afas/equipements/{w.creche.id}").status_code == 404


def test_the_caf_agent_sees_the_status_in_the_lists(client, login, expired):
    w = expired
    w.alsh.conventions[0].fin = services.today() + timedelta(days=30)   # ends within 90 days
    db.session.flush()
    login(w.agent)
    page = text(client.get("/afas/conventions"))
    rows = {n: page[page.index(f'data-numero="{n}"'):].split("</tr>")[0] for n in (w.creche.numero, w.alsh.numero)}
    assert 'data-statut="sans_convention">Sans convention en vigueur' in rows[w.creche.numero]
    assert 'data-statut="a_renouveler">Convention à renouveler' in rows[w.alsh.numero]
    assert page.index(f'data-numero="{w.creche.numero}"') < page.index(f'data-numero="{w.alsh.numero}"')   # without a convention first
    assert "Sans convention en vigueur" in text(client.get(f"/afas/caf/equipements/{w.creche.id}"))


def test_partner_cannot_see_the_caf_list(client, login, expired):
    login(expired.manager)
    assert client.get("/afas/conventions").status_code == 403


@pytest.fixture
def api(factory, api_client, expired):
    _, raw = factory.api_token(expired.org, expired.manager, scopes=("AFAS",))
    return api_client(raw)


def test_the_api_answers_409_with_a_french_detail_to_writes(api, expired):
    w = expired
    listing = {e["numero"]: e for e in api.get("/api/v1/afas/equipements").get_json()}
    assert listing[w.creche.numero]["service_actif"] is False
    assert listing[w.creche.numero]["statut_convention_libelle"] == "Sans convention en vigueur"
    assert listing[w.alsh.numero]["service_actif"] is True
    for response in (api.put(f"/api/v1/afas/declarations/{w.draft.id}", json={"donnees": {"places_agreees": 12}}),
                     api.post(f"/api/v1/afas/declarations/{w.draft.id}/transmission"),
                     api.post("/api/v1/afas/declarations", json={"equipement_id": w.creche.id, "annee": 2026,
                                                                 "type": "actualise_septembre"})):
        assert response.status_code == 409 and response.mimetype == "application/problem+json"
        assert response.get_json()["detail"].startswith("Service AFAS inactif pour « Crèche Les Lutins »")
    assert api.get(f"/api/v1/afas/declarations/{w.draft.id}").status_code == 200   # reading stays open
