"""EDI API query parameters (issue #18, found by schemathesis): what the OpenAPI document
refuses is refused (400 problem+json), never silently read as « no filter » or clamped."""
from __future__ import annotations

import pytest

from tests.support.edi_files import multipart


@pytest.fixture
def api(api_client, edi_token):
    api = api_client(edi_token)
    response = api.post("/api/v1/edi/fichiers", data=multipart(b"<Loyers/>", b"\x30\x80"),
                        content_type="multipart/form-data")
    assert response.status_code == 202
    api.file_id = response.get_json()["id"]
    return api


@pytest.mark.parametrize("query", [
    "statut=",            # was: every file
    "statut=INCONNU",     # was: an empty list, as if there were no file
    "par_page=500",       # was: 200 silently (the document says 200 at most)
    "par_page=",          # was: 50
    "page=",              # was: 1
    "page=0", "par_page=0", "page=abc",
])
def test_file_list_refuses_what_its_document_refuses(api, query):
    response = api.get(f"/api/v1/edi/fichiers?{query}")
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert "paramètre" in response.get_json()["detail"]


@pytest.mark.parametrize("query", ["gravite=", "gravite=erreur", "gravite=INFORMATION", "page="])
def test_anomalies_refuse_what_their_document_refuses(api, query):
    response = api.get(f"/api/v1/edi/fichiers/{api.file_id}/anomalies?{query}")
    assert response.status_code == 400 and response.mimetype == "application/problem+json"


def test_documented_values_still_filter(api):
    body = api.get("/api/v1/edi/fichiers?statut=RECU&par_page=200&page=1&flux=LOYERS").get_json()
    assert (body["total"], body["par_page"]) == (0, 200)  # not analysed yet: no flux
    assert api.get("/api/v1/edi/fichiers?statut=RECU").get_json()["total"] == 1
    assert api.get("/api/v1/edi/fichiers?statut=TRAITE").get_json()["total"] == 0
    anomalies = api.get(f"/api/v1/edi/fichiers/{api.file_id}/anomalies?gravite=ERREUR&page=1")
    assert anomalies.status_code == 200 and anomalies.get_json()["total"] == 0
