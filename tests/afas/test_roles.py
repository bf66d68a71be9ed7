"""Access to every AFAS route, role by role: no habilitation -> 403, other organisation -> 404."""
import pytest

from afas import services

from .conftest import csrf
from .helpers import alsh


@pytest.fixture
def decls(afas_world):
    w = afas_world
    draft = services.create_declaration(w.alsh, 2026, "previsionnel", w.manager)
    sent = services.create_declaration(w.alsh, 2025, "reel", w.manager)
    services.save_draft(sent, alsh(), {"EXCEDENT": "x"}, w.manager)
    services.transmit(sent, w.manager)
    return draft, sent


def test_anonymous_is_sent_to_login(client, afas_world):
    response = client.get("/afas/")
    assert response.status_code == 302 and "/connexion" in response.headers["Location"]
    assert client.post(f"/afas/declarations/{afas_world.prev.id}/apercu").status_code in (400, 401)


def test_manager_without_afas_habilitation_is_refused(client, login, factory, afas_world, decls):
    user = factory.user(afas_world.org, "partner_manager", habilitations={"CDAP": "quotient_familial"})
    login(user)
    for path in ("/afas/", f"/afas/equipements/{afas_world.alsh.id}", f"/afas/declarations/{decls[0].id}"):
        assert client.get(path).status_code == 403, path
    assert client.get("/afas/instruction").status_code == 403
    assert "Déclarations AFAS" not in client.get("/accueil").get_data(as_text=True)   # no menu entry


def test_partner_admin_may_view_but_not_edit(client, login, afas_world, decls):
    draft, sent = decls
    login(afas_world.partner_admin)
    assert client.get("/afas/").status_code == 403               # the managers' page (and menu entry)
    assert client.get("/afas/consultation").status_code == 200
    assert "/afas/consultation" in client.get("/accueil").get_data(as_text=True)   # home panel link
    page = client.get(f"/afas/declarations/{draft.id}").get_data(as_text=True)
    assert 'data-testid="afas-transmit"' not in page
    assert client.get(f"/afas/declarations/{sent.id}/accuse-1.pdf").status_code == 200
    token = csrf(client, "/afas/consultation")
    assert client.post(f"/afas/declarations/{draft.id}", data={"csrf_token": token}).status_code == 403
    assert client.post(f"/afas/declarations/{draft.id}/apercu", data={"csrf_token": token}).status_code == 403
    assert client.post(f"/afas/equipements/{afas_world.alsh.id}/declarations",
                       data={"csrf_token": token, "annee": 2026, "type": "reel"}).status_code == 403


def test_other_organisation_gets_404(client, login, afas_world, decls):
    draft, sent = decls
    login(afas_world.other_manager)
    assert client.get(f"/afas/declarations/{sent.id}").status_code == 404
    assert client.get(f"/afas/equipements/{afas_world.alsh.id}").status_code == 404
    assert client.get(f"/afas/declarations/{sent.id}/accuse-1.pdf").status_code == 404
    token = csrf(client, "/afas/")
    for path in (f"/afas/declarations/{draft.id}", f"/afas/declarations/{draft.id}/apercu",
                 f"/afas/declarations/{sent.id}/messages", f"/afas/equipements/{afas_world.alsh.id}/declarations"):
        assert client.post(path, data={"csrf_token": token, "body": "x", "annee": 2026, "type": "reel"}).status_code == 404, path
    assert "Centre de loisirs" not in client.get("/afas/").get_data(as_text=True)


def test_partner_cannot_use_caf_pages(client, login, afas_world, decls):
    login(afas_world.manager)
    sent = decls[1]
    assert client.get("/afas/instruction").status_code == 403
    assert client.get(f"/afas/instruction/{sent.id}").status_code == 403
    assert client.get("/afas/instruction/export.csv").status_code == 403
    assert client.get("/afas/baremes").status_code == 403
    token = csrf(client, "/afas/")
    assert client.post(f"/afas/instruction/{sent.id}/validation", data={"csrf_token": token}).status_code == 403


def test_caf_agent_pages(client, login, afas_world, decls):
    draft, sent = decls
    login(afas_world.agent)
    assert client.get("/afas/").status_code == 403                    # partner pages
    assert client.get("/afas/consultation").status_code == 403
    assert client.get(f"/afas/declarations/{sent.id}").status_code == 403
    assert client.get("/afas/instruction").status_code == 200
    assert client.get(f"/afas/instruction/{sent.id}").status_code == 200
    assert client.get(f"/afas/instruction/{draft.id}").status_code == 404   # drafts are the partner's
    assert client.get(f"/afas/declarations/{sent.id}/accuse-1.pdf").status_code == 200
    assert client.get("/afas/baremes").status_code == 403


def test_caf_agent_without_habilitation(client, login, factory, afas_world, decls):
    login(factory.user(afas_world.caf, "caf_agent", habilitations={"CDAP": "agent_caf"}))
    assert client.get("/afas/instruction").status_code == 403
    assert client.get(f"/afas/instruction/{decls[1].id}").status_code == 403
    assert client.get(f"/afas/declarations/{decls[1].id}/accuse-1.pdf").status_code == 403


def test_caf_admin_manages_baremes(client, login, afas_world):
    login(afas_world.admin_caf)
    assert client.get("/afas/baremes").status_code == 200
    assert client.get("/afas/instruction").status_code == 403     # no AFAS habilitation


def test_state_changes_are_post_only(app):
    rules = {r.endpoint: r.methods for r in app.url_map.iter_rules() if r.endpoint.startswith("afas.")}
    for endpoint in ("afas.save", "afas.preview", "afas.create", "afas.message", "afas.take",
                     "afas.request_correction", "afas.validate", "afas.mark_paid", "afas.bareme_import"):
        assert "GET" not in rules[endpoint], endpoint


def test_nav_entries(client, login, afas_world):
    login(afas_world.manager)
    html = client.get("/accueil").get_data(as_text=True)
    assert "Déclarations AFAS" in html and "Instruction AFAS" not in html


def test_partner_admin_of_an_organisation_without_afas(client, login, factory):
    org = factory.organisation("bailleur", services={"EDI": []})
    login(factory.user(org, "partner_admin"))
    assert client.get("/afas/consultation").status_code == 403
    assert "afas-home-panel" not in client.get("/accueil").get_data(as_text=True)
