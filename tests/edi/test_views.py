"""EDI pages: access role by role, plain-form upload, progress fragment, per-record errors,
downloads, other organisation's file 404, Caf supervision and re-run of a quarantined file."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from edi.models import EdiFichier, QUARANTAINE
from portal import jobs
from portal.extensions import db


XML = b'<?xml version="1.0" encoding="UTF-8"?><Loyers/>'


def post_upload(client, data=XML, signature=b"sig"):
    from tests.support.factories import csrf_token
    form = {"csrf_token": csrf_token(client, "/edi/depot")}
    if data is not None:
        form["fichier"] = (io.BytesIO(data), "loyers.xml")
    if signature is not None:
        form["signature"] = (io.BytesIO(signature), "loyers.xml.p7s")
    return client.post("/edi/depot", data=form, content_type="multipart/form-data")


def receive(org, data=XML):
    from edi import services
    return services.receive_file(org, io.BytesIO(data), "loyers.xml", io.BytesIO(b"sig"), canal="api")


@pytest.mark.parametrize("role, habilitations, expected", [
    ("bailleur_operator", {"EDI": None}, 200),
    ("bailleur_operator", {"CDAP": "bailleur"}, 403),     # no EDI habilitation
    ("partner_admin", {}, 403),
    ("travailleur_social", {"CDAP": "travailleur_social"}, 403),
])
def test_upload_page_access_by_role(factory, login, client, landlord, role, habilitations, expected):
    user = factory.user(landlord, role=role, habilitations=habilitations)
    login(user)
    assert client.get("/edi/depot").status_code == expected


def test_caf_agent_sees_all_files_and_supervision_but_cannot_upload(login, client, caf_agent, landlord):
    receive(landlord)
    login(caf_agent)
    assert client.get("/edi/depot").status_code == 403
    page = client.get("/edi/fichiers").get_data(as_text=True)
    assert "Bailleur Test" in page and 'data-testid="edi-file-row"' in page
    assert client.get("/edi/supervision").status_code == 200


def test_anonymous_is_sent_to_login(client):
    response = client.get("/edi/fichiers")
    assert response.status_code == 302 and "/connexion" in response.headers["Location"]


def test_plain_form_upload_without_javascript_redirects_to_the_file_page(
        login, client, operator, landlord):
    login(operator)
    response = post_upload(client)
    assert response.status_code == 303
    f = db.session.scalar(select(EdiFichier))
    assert response.headers["Location"].endswith(f"/edi/fichiers/{f.id}")
    assert (f.organisation_id, f.canal, f.depose_par_id) == (landlord.id, "portail", operator.id)
    page = client.get(f"/edi/fichiers/{f.id}").get_data(as_text=True)
    assert 'data-testid="edi-status"' in page and 'data-statut="RECU"' in page
    assert 'hx-trigger="every 1s"' in page  # polling while processing
    assert 'data-testid="edi-download-fichier"' in page
    assert 'data-testid="edi-download-accuse"' not in page
    fragment = client.get(f"/edi/fichiers/{f.id}/statut", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "HX-Refresh" not in fragment.headers
    download = client.get(f"/edi/fichiers/{f.id}/telecharger/fichier")
    assert download.data == XML and "attachment" in download.headers["Content-Disposition"]


def test_upload_without_signature_shows_a_french_error(login, client, operator):
    login(operator)
    response = post_upload(client, signature=None)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "signature détachée (.p7s)" in html and 'id="edi-signature-error"' in html
    assert db.session.scalar(select(EdiFichier.id)) is None


def test_upload_form_is_csrf_protected(login, client, operator):
    login(operator)
    response = client.post("/edi/depot", data={"fichier": (io.BytesIO(XML), "a.xml"),
                                               "signature": (io.BytesIO(b"s"), "a.p7s")},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert db.session.scalar(select(EdiFichier.id)) is None


def test_other_organisation_file_answers_404(factory, login, client, operator, other_landlord):
    f = receive(other_landlord)
    login(operator)
    for path in (f"/edi/fichiers/{f.id}", f"/edi/fichiers/{f.id}/statut",
                 f"/edi/fichiers/{f.id}/telecharger/fichier",
                 f"/edi/fichiers/{f.id}/telecharger/accuse"):
        assert client.get(path).status_code == 404, path
    assert "Autre Bailleur" not in client.get("/edi/fichiers").get_data(as_text=True)


def test_quarantined_file_can_be_rerun_by_a_caf_agent_only(login, client, factory, caf_agent,
                                                         operator, landlord):
    from tests.support.factories import csrf_token
    f = receive(landlord)
    f.statut = QUARANTAINE
    db.session.commit()
    login(operator)
    token = csrf_token(client, f"/edi/fichiers/{f.id}")
    assert client.post(f"/edi/fichiers/{f.id}/relancer", data={"csrf_token": token}).status_code == 403

    agent_client = client.application.test_client()
    login(caf_agent, on=agent_client)
    page = agent_client.get("/edi/supervision").get_data(as_text=True)
    assert f'data-fichier-id="{f.id}"' in page and 'data-testid="edi-rerun"' in page
    token = csrf_token(agent_client, f"/edi/fichiers/{f.id}")
    response = agent_client.post(f"/edi/fichiers/{f.id}/relancer", data={"csrf_token": token})
    assert response.status_code == 303
    db.session.refresh(f)
    assert f.statut == "RECU"
    job = db.session.get(jobs.Job, f.job_id)
    assert job.status == jobs.PENDING and job.payload["relance"] is True


def test_nav_entries_follow_the_access_rules(login, client, operator, caf_agent):
    login(operator)
    html = client.get("/accueil").get_data(as_text=True)
    assert "Fichiers EDI" in html and "Avis de paiement" in html and "Supervision EDI" not in html


def test_static_script_is_served(client):
    response = client.get("/edi/static/edi-upload.js")
    try:
        assert response.status_code == 200 and b"DataTransfer" in response.data
    finally:
        response.close()


def test_anomalies_read_as_sentences_with_the_code_as_a_reference(login, client, operator, landlord):
    """The sentence first, the code after it as a small reference (« (réf. CODE) »): no code
    alone in front of people (tests/portal/test_visible_words.py reads the page the same way)."""
    from datetime import datetime

    from edi.models import EdiEnregistrement
    from tests.portal.test_visible_words import _check
    f = EdiFichier(organisation_id=landlord.id, canal="portail", nom_fichier="loyers.xml", sha256="a" * 64,
                   taille=10, statut="TRAITE_PARTIEL", recu_le=datetime(2031, 3, 1, 9), etape="termine")
    db.session.add(f)
    db.session.flush()
    db.session.add(EdiEnregistrement(fichier_id=f.id, rang=1, identifiant="R1", accepte=False, severite="ERREUR",
                                     code="LOCATAIRE_INCONNU", libelle="Allocataire inconnu ou non locataire de ce bailleur",
                                     anomalies=[{"code": "LOCATAIRE_INCONNU", "libelle": "Allocataire inconnu ou non locataire de ce bailleur"}]))
    db.session.commit()
    login(operator)
    response = client.get(f"/edi/fichiers/{f.id}")
    page = response.get_data(as_text=True)
    assert re.search(r'>Allocataire inconnu ou non locataire de ce bailleur</a> <span class="fr-text--xs portal-ref">\(réf\. LOCATAIRE_INCONNU\)</span>', page)
    assert "<li>Allocataire inconnu ou non locataire de ce bailleur <span class=\"fr-text--xs portal-ref\">(réf. LOCATAIRE_INCONNU)</span></li>" in page
    assert "<strong>LOCATAIRE_INCONNU</strong>" not in page
    assert _check(response)[0] == []
