"""Names chosen by a landlord never shape a download's headers (issue #18).

A part named `x.xml"; filename*=UTF-8''facture.html` made Caf agents save the landlord's file as
facture.html; a CR/LF in the name (sent as `filename*=UTF-8''a%0D%0Ab.xml`, which the multipart
parser decodes) made every download of the file a 500. The name is cleaned once at reception
(what the pages and the API show) and the header is built with RFC 6266 / RFC 5987 encoding.
The uploads below are raw multipart bodies, as a hostile client writes them.
"""
from __future__ import annotations

import hashlib
import re
from urllib.parse import unquote

import pytest
from werkzeug.http import parse_options_header

from edi.intake import storage
from edi.models import EdiAvisPaiement, EdiFichier
from portal.extensions import db


# (Content-Disposition parameters of the uploaded part, the name the portal keeps)
NAMES = [
    ('filename="x.xml\\"; filename*=UTF-8\'\'facture.html"', "x.xml_; filename_=UTF-8''facture.html"),
    ("filename=\"a;b.xml\"", "a;b.xml"),
    ("filename*=UTF-8''a%0D%0Ab.xml", "ab.xml"),
    ("filename*=UTF-8''loyers%0D%0AX-Injecte%3A%201.xml", "loyersX-Injecte_ 1.xml"),
    ("filename*=UTF-8''rapport%20%C3%A9t%C3%A9%20%E2%9C%93.xml", "rapport été ✓.xml"),
    ("filename*=UTF-8''e%CC%81te%CC%81.xml", "été.xml"),  # decomposed: kept composed (NFC)
    ('filename="../../etc/loyers.xml"', "loyers.xml"),
    ('filename="..\\\\..\\\\windows\\\\loyers.xml"', "loyers.xml"),
    ("filename*=UTF-8''fichier%E2%80%AElmx.exe", "fichierlmx.exe"),  # right-to-left override
    ('filename="\\"\\""', "__"),
    ("filename*=UTF-8''%0D%0A", "fichier.xml"),
    ('filename="..xml"', "xml"),
    ("filename*=UTF-8''" + "a" * 300 + ".xml", "a" * 251 + ".xml"),
    ("filename*=UTF-8''%E6%8A%A5%E5%91%8A.xml", "报告.xml"),
]
IDS = ["guillemet", "point-virgule", "crlf", "crlf-en-tete", "unicode", "nfd", "chemin",
       "chemin-windows", "rlo", "guillemets-seuls", "crlf-seul", "point-initial", "long", "cjk"]


def raw_multipart(disposition: str, data: bytes, csrf: str | None = None) -> tuple[bytes, str]:
    boundary = "----portail-hostile"
    parts = []
    if csrf:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{csrf}\r\n'.encode())
    parts.append(f"--{boundary}\r\nContent-Disposition: form-data; name=\"fichier\"; {disposition}\r\n"
                 "Content-Type: application/xml\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="signature"; '
                 f'filename="sig.p7s"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
                 + b"sig\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


# RFC 6266: disposition-type *( ";" disp-ext-parm ), a value being a token or a quoted-string;
# `filename*` (RFC 5987, UTF-8''percent-encoded) wins over `filename` when both are present.
_PARAM = re.compile(r"""\s*;\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)=("(?:[^"\\]|\\.)*"|[!#$%&'*+.^_`|~0-9A-Za-z-]+)""")


def _rfc6266_filename(value: str) -> str:
    disposition = value.split(";", 1)[0]
    assert disposition == "attachment", value
    params, position = {}, len(disposition)
    while position < len(value):
        match = _PARAM.match(value, position)
        assert match, f"en-tête mal formé à la position {position} : {value!r}"
        key = match.group(1).lower()
        assert key not in params, f"paramètre répété : {value!r}"
        params[key], position = match.group(2), match.end()
    assert set(params) in ({"filename"}, {"filename", "filename*"}), value
    if "filename*" in params:
        charset, _, encoded = params["filename*"].partition("''")
        assert charset == "UTF-8", value
        return unquote(encoded, errors="strict")
    quoted = params["filename"]
    assert quoted.isascii(), value
    return re.sub(r"\\(.)", r"\1", quoted[1:-1]) if quoted.startswith('"') else quoted


def downloaded_name(response) -> str:
    """The name a browser saves the file under, read by werkzeug's parser and by a strict
    RFC 6266 reading of the whole header, which must agree."""
    value = response.headers["Content-Disposition"]
    assert "\r" not in value and "\n" not in value
    disposition, params = parse_options_header(value)
    assert disposition == "attachment" and set(params) == {"filename"}, value
    assert _rfc6266_filename(value) == params["filename"], value
    return params["filename"]


def _xml(n: int) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?><Loyers n="{n}"/>'.encode()


@pytest.mark.parametrize("disposition, expected", NAMES, ids=IDS)
def test_a_name_uploaded_on_the_page_is_cleaned_and_downloaded_under_exactly_that_name(
        client, login, factory, operator, caf_agent, disposition, expected):
    login(operator)
    body, content_type = raw_multipart(disposition, _xml(1), csrf=factory.csrf_token(client, "/edi/depot"))
    response = client.post("/edi/depot", data=body, content_type=content_type)
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    f = db.session.scalars(db.select(EdiFichier).order_by(EdiFichier.id.desc())).first()
    assert f.nom_fichier == expected
    detail = client.get(f"/edi/fichiers/{f.id}")
    assert detail.status_code == 200
    for who in (operator, caf_agent):  # the landlord, and the Caf agent the attack aims at
        login(who)
        file = client.get(f"/edi/fichiers/{f.id}/telecharger/fichier")
        assert file.status_code == 200 and file.data == _xml(1)
        assert downloaded_name(file) == expected
        signature = client.get(f"/edi/fichiers/{f.id}/telecharger/signature")
        assert signature.status_code == 200
        signature_name = downloaded_name(signature)
        assert signature_name.endswith(".p7s") and len(signature_name) <= 255
        if len(expected) <= 251:
            assert signature_name == expected + ".p7s"


@pytest.mark.parametrize("disposition, expected", NAMES, ids=IDS)
def test_a_name_uploaded_through_the_api_is_cleaned_the_same_way(
        client, login, caf_agent, edi_token, disposition, expected):
    body, content_type = raw_multipart(disposition, _xml(2))
    response = client.post("/api/v1/edi/fichiers", data=body, content_type=content_type,
                           headers={"Authorization": f"Bearer {edi_token}"})
    assert response.status_code == 202, response.get_json()
    file_id = response.get_json()["id"]
    assert response.get_json()["nom_fichier"] == expected
    assert db.session.get(EdiFichier, file_id).nom_fichier == expected
    listing = client.get("/api/v1/edi/fichiers", headers={"Authorization": f"Bearer {edi_token}"})
    assert [f["nom_fichier"] for f in listing.get_json()["fichiers"] if f["id"] == file_id] == [expected]
    login(caf_agent)
    file = client.get(f"/edi/fichiers/{file_id}/telecharger/fichier")
    assert file.status_code == 200 and downloaded_name(file) == expected


HOSTILE_STORED = ['x.xml"; filename*=UTF-8\'\'facture.html', "a\r\nb.xml", "loyers\nSet-Cookie: x=1",
                  "été\u202e.xml", "\\..\\x.xml"]


@pytest.mark.parametrize("stored", HOSTILE_STORED)
def test_a_hostile_name_already_stored_still_downloads(client, login, landlord, operator, stored):
    """Rows received before the fix kept the raw name: their downloads are cleaned too."""
    from edi import services
    import io
    f = services.receive_file(landlord, io.BytesIO(_xml(3)), "x.xml", io.BytesIO(b"sig"), canal="api")
    f.nom_fichier = stored
    db.session.flush()
    login(operator)
    response = client.get(f"/edi/fichiers/{f.id}/telecharger/fichier")
    assert response.status_code == 200
    name = downloaded_name(response)
    assert name and not any(c in name for c in "\"\\\r\n\u202e/")


@pytest.mark.parametrize("ident", ['F"1; filename*=UTF-8\'\'a.html', "F\r\n1", "Fé1"])
def test_accuse_and_avis_names_from_file_contents_are_encoded_too(
        client, login, api_client, edi_token, landlord, operator, ident):
    """The accusé's name carries the file identifier read from the landlord's XML, the avis's the
    Caf's: both go through the same header, on the pages and in the API."""
    from edi import services
    import io
    f = services.receive_file(landlord, io.BytesIO(_xml(4)), "x.xml", io.BytesIO(b"sig"), canal="api")
    accuse = storage.store_bytes(b"<Accuse/>")
    f.identifiant_fichier, f.accuse_sha256, f.accuse_signature_sha256 = ident, accuse.sha256, accuse.sha256
    avis = EdiAvisPaiement(organisation_id=landlord.id, annee=2026, mois=1, identifiant_fichier=ident,
                           nb_paiements=0, montant_total_cents=0, sha256=accuse.sha256,
                           signature_sha256=accuse.sha256, taille=9)
    db.session.add(avis)
    db.session.flush()
    api = api_client(edi_token)
    login(operator)
    responses = [client.get(f"/edi/fichiers/{f.id}/telecharger/accuse"),
                 client.get(f"/edi/fichiers/{f.id}/telecharger/accuse-signature"),
                 client.get(f"/edi/avis-paiement/{avis.id}/fichier"),
                 client.get(f"/edi/avis-paiement/{avis.id}/signature"),
                 api.get(f"/api/v1/edi/fichiers/{f.id}/accuse"),
                 api.get(f"/api/v1/edi/fichiers/{f.id}/accuse.p7s"),
                 api.get(f"/api/v1/edi/avis-paiement/{avis.id}"),
                 api.get(f"/api/v1/edi/avis-paiement/{avis.id}.p7s")]
    for response in responses:
        assert response.status_code == 200 and response.data == b"<Accuse/>"
        name = downloaded_name(response)
        assert name.endswith((".xml", ".p7s")) and not any(c in name for c in '"\r\n')
    api_accuse = responses[4]
    assert api_accuse.headers["ETag"] == f'"{accuse.sha256}"'
    assert api_accuse.headers["Digest"].startswith("sha-256=")
    assert hashlib.sha256(api_accuse.data).hexdigest() == accuse.sha256
