"""Downloads of personal data are never kept by a cache (issue #18): like the pages, every
download answers `Cache-Control: no-store` — CDAP journal exports, EDI files, accusés and avis
(pages and API), AFAS exports and receipts. The shell's rule covers downloads added later: a
response the app builds is `no-store` unless it declares itself public (static files, the Caf's
public certificates)."""
from __future__ import annotations

import io

import pytest

from portal.extensions import db
from tests.afas.conftest import afas_world  # noqa: F401  (fixture)

DOWNLOADS = [
    # (id, who, method, path template, content type prefix)
    ("cdap-journal-csv", "caf_agent", "POST", "/cdap/journal/allocataire.csv", "text/csv"),
    ("cdap-journal-pdf", "caf_agent", "POST", "/cdap/journal/allocataire.pdf", "application/pdf"),
    ("edi-fichier", "operator", "GET", "/edi/fichiers/{file}/telecharger/fichier", "application/xml"),
    ("edi-signature", "operator", "GET", "/edi/fichiers/{file}/telecharger/signature", "application/pkcs7"),
    ("edi-accuse", "operator", "GET", "/edi/fichiers/{file}/telecharger/accuse", "application/xml"),
    ("edi-accuse-caf", "edi_agent", "GET", "/edi/fichiers/{file}/telecharger/accuse", "application/xml"),
    ("edi-accuse-signature", "operator", "GET", "/edi/fichiers/{file}/telecharger/accuse-signature",
     "application/pkcs7"),
    ("edi-avis", "operator", "GET", "/edi/avis-paiement/{avis}/fichier", "application/xml"),
    ("edi-avis-signature", "operator", "GET", "/edi/avis-paiement/{avis}/signature", "application/pkcs7"),
    ("api-accuse", "token", "GET", "/api/v1/edi/fichiers/{file}/accuse", "application/xml"),
    ("api-accuse-p7s", "token", "GET", "/api/v1/edi/fichiers/{file}/accuse.p7s", "application/pkcs7"),
    ("api-avis", "token", "GET", "/api/v1/edi/avis-paiement/{avis}", "application/xml"),
    ("api-avis-p7s", "token", "GET", "/api/v1/edi/avis-paiement/{avis}.p7s", "application/pkcs7"),
    ("afas-export-csv", "afas_agent", "GET", "/afas/instruction/export.csv", "text/csv"),
    ("afas-export-xlsx", "afas_agent", "GET", "/afas/instruction/export.xlsx", "application/vnd.openxml"),
    ("afas-recepisse-partenaire", "afas_manager", "GET", "/afas/declarations/{decl}/accuse-1.pdf",
     "application/pdf"),
    ("afas-recepisse-caf", "afas_agent", "GET", "/afas/declarations/{decl}/accuse-1.pdf", "application/pdf"),
    ("edi-certificat", "edi_agent", "GET", "/edi/certificats/{cert}/certificat.pem", "application/x-pem"),
]


@pytest.fixture
def world(app, factory, client, afas_world):  # noqa: F811
    from edi import services as edi_services
    from edi.intake import storage
    from edi.certificates.models import RegisteredCertificate
    from edi.models import EdiAvisPaiement
    landlord = factory.organisation("bailleur", services={"EDI": []})
    operator = factory.user(landlord, role="bailleur_operator", habilitations={"EDI": None})
    caf = factory.caf()
    caf_agent = factory.user(caf, role="caf_agent", habilitations={"EDI": None})
    f = edi_services.receive_file(landlord, io.BytesIO(b"<Loyers/>"), "loyers.xml",
                                  io.BytesIO(b"sig"), canal="api")
    accuse = storage.store_bytes(b"<Accuse/>")
    f.identifiant_fichier, f.accuse_sha256, f.accuse_signature_sha256 = "F-1", accuse.sha256, accuse.sha256
    avis = EdiAvisPaiement(organisation_id=landlord.id, annee=2026, mois=1, identifiant_fichier="AV-1",
                           nb_paiements=0, montant_total_cents=0, sha256=accuse.sha256,
                           signature_sha256=accuse.sha256, taille=9)
    db.session.add(avis)
    cert = db.session.scalars(db.select(RegisteredCertificate)).first()
    if cert is None:
        from tests.support.edi_files import Signer
        Signer(app, landlord)
        cert = db.session.scalars(db.select(RegisteredCertificate)).first()
    db.session.flush()
    _token, raw = factory.api_token(landlord, operator, scopes=("EDI",))

    def signed_in(user):
        c = app.test_client()
        factory.sign_in(c, user)
        return c

    agent = signed_in(caf_agent)  # once: a TOTP code is accepted once
    clients = {"operator": signed_in(operator), "caf_agent": agent, "edi_agent": agent,
               "afas_agent": signed_in(afas_world.agent),
               "afas_manager": signed_in(afas_world.manager), "token": app.test_client()}
    return {"clients": clients, "bearer": raw, "ids": {"file": f.id, "avis": avis.id,
                                                        "decl": afas_world.prev.id, "cert": cert.id}}


@pytest.mark.parametrize("who, method, path, mimetype", [d[1:] for d in DOWNLOADS],
                         ids=[d[0] for d in DOWNLOADS])
def test_every_download_is_no_store(factory, world, who, method, path, mimetype):
    client = world["clients"][who]
    url = path.format(**world["ids"])
    headers = {"Authorization": f"Bearer {world['bearer']}"} if who == "token" else {}
    if method == "POST":
        token = factory.csrf_token(client, "/accueil")
        response = client.post(url, data={"numero": "8000001", "csrf_token": token})
    else:
        response = client.get(url, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype.startswith(mimetype)
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers.get("Cache-Control") == "no-store"


def test_public_files_keep_their_own_caching(client):
    """What the app declares public is not overridden: static files, the Caf's certificate."""
    with client.get("/afas/static/afas.js") as response:
        assert "max-age=3600" in response.headers["Cache-Control"]
    with client.get("/static/portal.js") as response:
        assert response.status_code == 200 and response.headers.get("Cache-Control") != "no-store"
    with client.get("/edi/certificat-caf.pem") as response:
        assert response.headers["Cache-Control"] == "public, max-age=3600"


def test_any_response_without_a_caching_decision_is_no_store(app, client, monkeypatch):
    """The rule is the shell's, not each view's: a plain-text or binary response is no-store too."""
    from flask import Response
    from portal.access import public

    @public
    def _plain():
        return Response(b"\x00donnees", mimetype="application/octet-stream")
    monkeypatch.setitem(app.view_functions, "home.health", _plain)
    assert client.get("/sante").headers.get("Cache-Control") == "no-store"
