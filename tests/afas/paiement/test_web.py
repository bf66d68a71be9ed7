"""Pages and API of the payment hand-off, role by role: the partner's indu notice and offset
choice, the agent's order, its downloads, the return upload, the rejects; « versé le » only after
the return file."""
import base64
import io
from datetime import date

from afas.paiement import services as paiement
from afas.paiement.models import Indu, LignePaiement
from afas.paiement.xml import ReturnResult, build_return
from portal.crypto.pki import sign_as_caf
from portal.extensions import db
from tests.support.factories import sign_in

from ..conftest import csrf


def _return_for(ordre, statuses):
    results = [ReturnResult(x.reference, s, date(2026, 3, 4), "Compte clôturé" if s == "REJETE" else None)
               for x, s in zip(ordre.lignes, statuses)]
    xml = build_return("RP-20260304-001", results)
    return xml, sign_as_caf(xml)


def test_partner_sees_the_indu_notice_and_chooses_the_offset(client, login, paiement_world):
    w = paiement_world
    login(w.manager)
    page = client.get("/afas/mes-paiements").get_data(as_text=True)
    assert "Avis d'indu" in page and "de trop (indu)" in page
    assert "Aucun paiement ordonné" in page
    token = csrf(client, "/afas/mes-paiements")
    r = client.post(f"/afas/indus/{w.indu.id}/choix", data={"csrf_token": token, "choix": "rien"})
    assert r.status_code == 302 and db.session.get(Indu, w.indu.id).status == "notifie"
    r = client.post(f"/afas/indus/{w.indu.id}/choix", data={"csrf_token": token, "choix": "compensation"})
    assert r.status_code == 302
    db.session.refresh(w.indu)
    assert w.indu.status == "compensation" and w.indu.choix_par_id == w.manager.id
    login(w.partner_admin)   # views, does not choose
    assert "Enregistrer mon choix" not in client.get("/afas/mes-paiements").get_data(as_text=True)
    assert client.post(f"/afas/indus/{w.indu.id}/choix",
                       data={"csrf_token": csrf(client, "/afas/mes-paiements"), "choix": "recouvrement"}).status_code == 403
    login(w.other_manager)
    assert client.post(f"/afas/indus/{w.indu.id}/choix",
                       data={"csrf_token": csrf(client, "/afas/mes-paiements"), "choix": "recouvrement"}).status_code == 404


def test_agent_order_downloads_return_upload_and_partner_sees_verse(client, login, paiement_world):
    w = paiement_world
    ordre = paiement.produce_order(on=w.march)
    db.session.flush()
    login(w.manager)
    assert "Ordonné, en attente du versement" in client.get("/afas/mes-paiements").get_data(as_text=True)
    assert "Versé le" not in client.get("/afas/mes-paiements").get_data(as_text=True)
    login(w.agent)
    page = client.get(f"/afas/paiements/ordres/{ordre.id}").get_data(as_text=True)
    assert ordre.reference in page and w.org.siret in page and "Prévisionnel 2026" in page
    assert client.get(f"/afas/paiements/ordres/{ordre.id}.xml").data == ordre.xml
    assert client.get(f"/afas/paiements/ordres/{ordre.id}.xml.p7s").data == ordre.signature
    csv = client.get(f"/afas/paiements/ordres/{ordre.id}.csv").get_data(as_text=True)
    assert ordre.lignes[0].reference in csv and "Acompte n° 1" in csv
    assert client.get(f"/afas/paiements/ordres/{ordre.id}.xlsx").data[:2] == b"PK"
    assert client.get(f"/afas/paiements/ordres/{ordre.id}.pdf").status_code == 404
    token = csrf(client, "/afas/paiements")
    r = client.post("/afas/paiements/retours", data={"csrf_token": token}, content_type="multipart/form-data")
    assert r.status_code == 422 and "Joignez le fichier retour" in r.get_data(as_text=True)
    xml, sig = _return_for(ordre, ["PAYE", "REJETE"])
    r = client.post("/afas/paiements/retours", content_type="multipart/form-data", data={
        "csrf_token": token, "fichier": (io.BytesIO(xml.replace(b"PAYE", b"REJETE")), "retour.xml"),
        "signature": (io.BytesIO(sig), "retour.xml.p7s")})
    assert r.status_code == 422 and "modifié après signature" in r.get_data(as_text=True)
    r = client.post("/afas/paiements/retours", content_type="multipart/form-data", data={
        "csrf_token": token, "fichier": (io.BytesIO(xml), "retour.xml"), "signature": (io.BytesIO(sig), "retour.xml.p7s")})
    assert r.status_code == 302
    page = client.get("/afas/paiements").get_data(as_text=True)
    assert "1 versée, 1 rejetée" in page and "Compte clôturé" in page and "Relancer" in page
    login(w.manager)
    page = client.get("/afas/mes-paiements").get_data(as_text=True)
    assert "Versé le 04/03/2026" in page and "En cours de reprise par la Caf" in page
    assert "04/03/2026" in client.get("/afas/mes-paiements.csv").get_data(as_text=True)
    assert client.get("/afas/mes-paiements.xlsx").data[:2] == b"PK"


def test_partners_cannot_use_the_agent_pages_and_agents_have_no_partner_page(client, login, paiement_world):
    w = paiement_world
    ordre = paiement.produce_order(on=w.march)
    db.session.flush()
    for user in (w.manager, w.partner_admin):
        login(user)
        assert client.get("/afas/paiements").status_code == 403
        assert client.get(f"/afas/paiements/ordres/{ordre.id}.xml").status_code == 403
    login(w.agent)
    assert client.get("/afas/mes-paiements").status_code == 403


def test_the_payment_system_posts_its_return_by_api_with_a_caf_token(client, factory, paiement_world):
    w = paiement_world
    ordre = paiement.produce_order(on=w.march)
    db.session.flush()
    xml, sig = _return_for(ordre, ["PAYE", "PAYE"])
    body = {"fichier": base64.b64encode(xml).decode(), "signature": base64.b64encode(sig).decode()}
    _, partner_raw = factory.api_token(w.org, w.manager, scopes=("AFAS",))
    r = client.post("/api/v1/afas/paiements/retours", json=body, headers={"Authorization": f"Bearer {partner_raw}"})
    assert r.status_code == 403
    _, raw = factory.api_token(w.caf, w.agent, scopes=("AFAS",))
    headers = {"Authorization": f"Bearer {raw}"}
    r = client.post("/api/v1/afas/paiements/retours", json={**body, "fichier": "%%%"}, headers=headers)
    assert r.status_code == 422
    r = client.post("/api/v1/afas/paiements/retours", json=body, headers=headers)
    assert r.status_code == 201 and r.json["payees"] == 2
    assert db.session.query(LignePaiement).filter_by(status="payee").count() == 2
    r = client.post("/api/v1/afas/paiements/retours", json=body, headers=headers)
    assert r.status_code == 201 and r.json == {**r.json, "payees": 0, "deja_traitees": 2, "rejeu": True}


def test_the_payments_entry_is_shown_exactly_to_who_may_open_it(client, factory):
    """A manager of an organisation under an AFAS contract but habilitated only for CDAP (the
    demo's quotient-familial user) was shown « Paiements AFAS » and got 403 on clicking it."""
    org = factory.organisation(kind="commune", services={"AFAS": [], "CDAP": ["quotient_familial"]})
    cases = [(factory.user(org=org, habilitations={"CDAP": "quotient_familial"}), False),
             (factory.user(org=org, habilitations={"AFAS": None}), True),
             (factory.user(org=org, role="partner_admin"), True)]
    for user, may in cases:
        sign_in(client, user)
        home = client.get("/accueil").get_data(as_text=True)
        assert ('href="/afas/mes-paiements"' in home) is may, user.role
        assert client.get("/afas/mes-paiements").status_code == (200 if may else 403), user.role
        client.post("/deconnexion", data={"csrf_token": csrf(client, "/accueil")})
