"""EDI API intake: 202 + Location, content-addressed storage first, limits, duplicates, access."""
from __future__ import annotations

import hashlib

from sqlalchemy import select
from werkzeug.test import encode_multipart

from edi.intake import storage
from edi.models import EdiFichier, RECU
from portal import jobs
from portal.extensions import db

from tests.support.edi_files import multipart

XML = b'<?xml version="1.0" encoding="UTF-8"?><Loyers/>'


def test_upload_answers_202_with_location_and_stores_the_exact_bytes_first(
        app, api_client, edi_token, landlord):
    api = api_client(edi_token)
    response = api.post("/api/v1/edi/fichiers", data=multipart(XML, b"\x30\x80signature"),
                        content_type="multipart/form-data")
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert response.headers["Location"] == f"/api/v1/edi/fichiers/{body['id']}"
    assert body["statut"] == RECU and body["sha256"] == hashlib.sha256(XML).hexdigest()
    f = db.session.get(EdiFichier, body["id"])
    assert f.organisation_id == landlord.id and f.canal == "api" and f.taille == len(XML)
    path = storage.local_path(f.sha256)
    assert path.read_bytes() == XML
    assert path.stat().st_mode & 0o222 == 0  # read-only, write-once
    assert storage.read_bytes(f.signature_sha256) == b"\x30\x80signature"
    job = db.session.get(jobs.Job, f.job_id)
    assert (job.kind, job.queue, job.payload) == ("edi.process_file", "edi", {"fichier_id": f.id})

    status = api.get(body["liens"]["self"])
    assert status.status_code == 200
    assert status.get_json()["compteurs"]["lus"] == 0 and status.get_json()["termine"] is False
    pending = api.get(f"/api/v1/edi/fichiers/{f.id}/accuse")
    assert pending.status_code == 409
    assert pending.mimetype == "application/problem+json"


def test_missing_file_or_signature_is_a_400_naming_the_fields(api_client, edi_token):
    api = api_client(edi_token)
    response = api.post("/api/v1/edi/fichiers", data=multipart(XML, signature=None),
                        content_type="multipart/form-data")
    assert response.status_code == 400
    assert set(response.get_json()["errors"]) == {"signature"}
    assert db.session.scalar(select(EdiFichier.id)) is None


def test_oversize_body_is_refused_with_413_before_parsing(app, api_client, edi_token, monkeypatch):
    monkeypatch.setitem(app.config, "EDI_MAX_FILE_MB", "1")
    api = api_client(edi_token)
    big = b"<a>" + b"x" * (3 * 1024 * 1024) + b"</a>"
    import io
    from werkzeug.datastructures import FileStorage
    boundary, body = encode_multipart({  # in memory (no test-side temp file)
        "fichier": FileStorage(io.BytesIO(big), "big.xml"),
        "signature": FileStorage(io.BytesIO(b"sig"), "big.xml.p7s")})
    assert len(body) > 3 * 1024 * 1024
    response = api.post("/api/v1/edi/fichiers", data=body,
                        content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert b"xxxx" not in response.data
    assert db.session.scalar(select(EdiFichier.id)) is None


def test_same_content_twice_is_recorded_as_a_duplicate_of_the_first(api_client, edi_token):
    api = api_client(edi_token)
    first = api.post("/api/v1/edi/fichiers", data=multipart(XML), content_type="multipart/form-data")
    second = api.post("/api/v1/edi/fichiers", data=multipart(XML), content_type="multipart/form-data")
    assert first.status_code == second.status_code == 202
    a, b = (db.session.get(EdiFichier, r.get_json()["id"]) for r in (first, second))
    assert a.cle_contenu and b.cle_contenu is None and b.doublon_de_id == a.id


def test_token_without_edi_scope_is_refused(factory, api_client, landlord, operator):
    _t, raw = factory.api_token(landlord, operator, scopes=("CDAP",))
    response = api_client(raw).post("/api/v1/edi/fichiers", data=multipart(XML),
                                    content_type="multipart/form-data")
    assert response.status_code == 403


def test_no_token_is_401(client):
    assert client.get("/api/v1/edi/fichiers").status_code == 401


def test_other_organisation_file_answers_404(factory, api_client, edi_token, other_landlord):
    other_user = factory.user(other_landlord, role="bailleur_operator", habilitations={"EDI": None})
    _t, other_raw = factory.api_token(other_landlord, other_user)
    created = api_client(other_raw).post("/api/v1/edi/fichiers", data=multipart(XML),
                                         content_type="multipart/form-data").get_json()
    api = api_client(edi_token)
    for suffix in ("", "/accuse", "/accuse.p7s", "/anomalies"):
        assert api.get(f"/api/v1/edi/fichiers/{created['id']}{suffix}").status_code == 404
    assert api.get("/api/v1/edi/fichiers").get_json()["total"] == 0


def test_list_is_paginated_and_filtered(api_client, edi_token):
    api = api_client(edi_token)
    for i in range(3):
        api.post("/api/v1/edi/fichiers", data=multipart(XML + str(i).encode()),
                 content_type="multipart/form-data")
    page = api.get("/api/v1/edi/fichiers?par_page=2").get_json()
    assert page["total"] == 3 and len(page["fichiers"]) == 2
    assert api.get("/api/v1/edi/fichiers?statut=TRAITE").get_json()["total"] == 0


def test_operations_are_documented_in_openapi(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/edi/fichiers", "/edi/fichiers/{fichier_id}", "/edi/fichiers/{fichier_id}/accuse",
                 "/edi/fichiers/{fichier_id}/accuse.p7s", "/edi/avis-paiement",
                 "/edi/avis-paiement/{avis_id}"):
        assert path in paths, path
    assert "post" in paths["/edi/fichiers"] and "get" in paths["/edi/fichiers"]


def test_an_upload_by_api_is_audited_under_its_token(api_client, edi_token):
    from portal.api import hash_token
    from portal.audit import AuditEntry
    from portal.models import ApiToken
    response = api_client(edi_token).post("/api/v1/edi/fichiers", data=multipart(XML),
                                          content_type="multipart/form-data")
    assert response.status_code == 202
    token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.token_hash == hash_token(edi_token)))
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "fichier_recu")).one()
    assert entry.target == f"edi_fichier:{response.get_json()['id']}"
    assert entry.details["jeton_api"] == token_id and entry.details["canal"] == "api"
