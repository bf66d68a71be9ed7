"""The conventions and territoire pages (#21), role by role, and the transmission refusal as the
partner sees it."""
import io
from datetime import date, timedelta

from afas import services
from afas.models import ConventionFinancement
from portal.extensions import db

from .conftest import csrf, eaje_draft_under_convention
from .helpers import eaje

PDF = b"%PDF-1.4 convention"


def test_caf_agent_records_a_convention_uploads_it_and_the_partner_downloads_it(client, login, afas_world, app):
    w = afas_world
    login(w.agent)
    page = client.get(f"/afas/caf/equipements/{w.creche.id}")
    assert page.status_code == 200 and "COF-EAJE-T" in page.get_data(as_text=True)
    token = csrf(client, f"/afas/caf/equipements/{w.creche.id}")
    r = client.post(f"/afas/caf/equipements/{w.creche.id}/conventions",
                    data={"csrf_token": token, "reference": "COF-2031", "debut": "2031-01-01", "fin": "2099-12-31"})
    assert r.status_code == 422 and "vérifiez l&#39;année saisie" in r.get_data(as_text=True)
    r = client.post(f"/afas/caf/equipements/{w.creche.id}/conventions",
                    data={"csrf_token": token, "reference": "COF-SUITE", "debut": "2026-01-01", "fin": "2029-12-31"})
    assert r.status_code == 302
    conv = db.session.query(ConventionFinancement).filter_by(reference="COF-SUITE").one()
    assert not conv.signee
    r = client.post(f"/afas/caf/conventions/{conv.id}/document", content_type="multipart/form-data",
                    data={"csrf_token": token, "signee_le": "2025-12-01",
                          "document": (io.BytesIO(b"not a pdf"), "cof.pdf")})
    assert r.status_code == 422 and "doit être un PDF" in r.get_data(as_text=True)
    r = client.post(f"/afas/caf/conventions/{conv.id}/document", content_type="multipart/form-data",
                    data={"csrf_token": token, "signee_le": "2025-12-01", "document": (io.BytesIO(PDF), "cof.pdf")})
    assert r.status_code == 302
    db.session.refresh(conv)
    assert conv.signee
    assert "COF-SUITE" in client.get("/afas/conventions").get_data(as_text=True)

    login(w.manager)
    page = client.get(f"/afas/equipements/{w.creche.id}").get_data(as_text=True)
    assert "COF-SUITE" in page and "signée le 01/12/2025" in page
    download = client.get(f"/afas/conventions/{conv.id}/document")
    assert download.status_code == 200 and download.data == PDF and "attachment" in download.headers["Content-Disposition"]
    login(w.other_manager)
    assert client.get(f"/afas/conventions/{conv.id}/document").status_code == 404


def test_partners_cannot_use_the_caf_pages(client, login, afas_world):
    w = afas_world
    login(w.manager)
    assert client.get(f"/afas/caf/equipements/{w.creche.id}").status_code == 403
    assert client.get("/afas/conventions").status_code == 403
    token = csrf(client, "/afas/")
    assert client.post(f"/afas/caf/equipements/{w.creche.id}/territoire",
                       data={"csrf_token": token, "zone_prioritaire": "QPV", "places_territoire": "10"}).status_code == 403
    login(w.admin_caf)
    assert client.get("/afas/baremes/2026/versions").status_code == 200
    login(w.agent)
    assert client.get("/afas/baremes/2026/versions").status_code == 403


def test_caf_validates_the_territoire_and_bad_input_is_a_422(client, login, afas_world):
    w = afas_world
    login(w.agent)
    token = csrf(client, f"/afas/caf/equipements/{w.creche.id}")
    r = client.post(f"/afas/caf/equipements/{w.creche.id}/territoire",
                    data={"csrf_token": token, "zone_prioritaire": "QPV", "places_territoire": "dix"})
    assert r.status_code == 422 and "nombre entier" in r.get_data(as_text=True)
    r = client.post(f"/afas/caf/equipements/{w.creche.id}/territoire",
                    data={"csrf_token": token, "zone_prioritaire": "QPV", "places_territoire": "10"})
    assert r.status_code == 302
    db.session.refresh(w.creche)
    assert w.creche.territoire["valide"] and w.creche.zone_prioritaire == "QPV"
    login(w.manager)
    assert "10 places créées en QPV" in client.get(f"/afas/equipements/{w.creche.id}").get_data(as_text=True)


def test_partner_sees_why_a_transmission_is_refused_without_convention(client, login, afas_world):
    """The service is active (a convention in force today) but no convention covers 2025."""
    w = afas_world
    _eq, decl = eaje_draft_under_convention(w, "Crèche nouvelle", f"EAJE-N{w.org.id}",
                                            date(2026, 1, 1), date(2030, 12, 31))
    login(w.manager)
    token = csrf(client, f"/afas/declarations/{decl.id}")
    r = client.post(f"/afas/declarations/{decl.id}", data={"csrf_token": token, "action": "transmit", **eaje()})
    assert r.status_code == 422
    text = r.get_data(as_text=True).replace("&#39;", "'")
    assert "n'a pas de convention d'objectifs et de financement signée couvrant l'exercice 2025" in text
    assert decl.status == "brouillon"


def test_partner_home_lists_conventions_to_renew(client, login, afas_world):
    w = afas_world
    conv = w.creche.conventions[0]
    conv.fin = services.today() + timedelta(days=30)
    db.session.flush()
    login(w.manager)
    page = client.get("/afas/").get_data(as_text=True)
    assert f"La convention {conv.reference} prend fin le" in page
    conv.fin = services.today() + timedelta(days=120)
    db.session.flush()
    assert f"La convention {conv.reference} prend fin le" not in client.get("/afas/").get_data(as_text=True)
