"""Hostile input and bad signatures: every case ends REJETE with its reason in the ACCUSE,
nothing staged or applied, no file content echoed, no network access."""
from __future__ import annotations

import io
import subprocess
from datetime import date, datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import func, select

from edi.models import EdiEnregistrement, EdiFichier
from portal.extensions import db

from tests.support.edi_files import Signer, build_xml


def upload(api, data: bytes, signature: bytes | None):
    form = {"fichier": (io.BytesIO(data), "f.xml"),
            "signature": (io.BytesIO(signature or b""), "f.xml.p7s")}
    response = api.post("/api/v1/edi/fichiers", data=form, content_type="multipart/form-data")
    assert response.status_code == 202, response.get_json()
    return response.get_json()["id"]


def records(tenants):
    return [{"identifiant": f"L{i}", "code_locataire": t["code_locataire"],
             "numero_allocataire": t["numero_allocataire"], "loyer_cents": 61000,
             "charges_cents": 9000, "date_effet": date.today().replace(day=1)}
            for i, t in enumerate(tenants)]


def rents(tenants):
    """The dwellings' current rents, as CDAP shows them (latest rent history row)."""
    from cdap.loyers import current_rent
    from cdap.models import Logement
    return [current_rent(db.session.scalar(select(Logement).where(
        Logement.allocataire_id == t["allocataire"].id)))["loyer_cents"] for t in tenants]


def assert_rejected(api, fid, code, tenants=None, secret: bytes | None = None):
    f = db.session.get(EdiFichier, fid)
    assert f.statut == "REJETE", (f.statut, f.motifs)
    assert f.rejet_technique
    assert code in [m["code"] for m in f.motifs], f.motifs
    assert db.session.scalar(select(func.count()).select_from(EdiEnregistrement)
                             .where(EdiEnregistrement.fichier_id == fid)) == 0
    if tenants:
        assert rents(tenants) == [50000] * len(tenants)  # nothing applied
    accuse = api.get(f"/api/v1/edi/fichiers/{fid}/accuse")
    assert accuse.status_code == 200
    assert f"<Code>{code}</Code>".encode() in accuse.data  # the reason travels in the ACCUSE
    if secret is not None:
        assert secret not in accuse.data
        assert secret.decode() not in str(f.motifs)
    return f


# ------------------------------------------------------------------ signatures

def test_tampered_byte_is_rejected(api_client, edi_token, landlord, signer, tenants, run_jobs):
    api = api_client(edi_token)
    data = build_xml("LOYERS", landlord, records(tenants))
    signature = signer.sign(data)
    tampered = data.replace(b"61000", b"61001", 1)
    fid = upload(api, tampered, signature)
    run_jobs()
    assert_rejected(api, fid, "EMPREINTE_DIFFERENTE", tenants)


def test_wrong_key_is_rejected(api_client, edi_token, landlord, signer, tenants, run_jobs):
    from portal.crypto import pki
    api = api_client(edi_token)
    data = build_xml("LOYERS", landlord, records(tenants))
    fid = upload(api, data, signer.sign(data, key=pki.new_key("ec")))
    run_jobs()
    assert_rejected(api, fid, "SIGNATURE_INVALIDE", tenants)


def test_certificate_of_another_landlord_is_rejected(app, api_client, edi_token, landlord,
                                                     other_landlord, signer, tenants, run_jobs):
    api = api_client(edi_token)
    other = Signer(app, other_landlord)  # registered and approved, but for the other landlord
    data = build_xml("LOYERS", landlord, records(tenants))
    fid = upload(api, data, other.sign(data))
    run_jobs()
    assert_rejected(api, fid, "CERTIFICAT_NON_ENREGISTRE", tenants)


def test_expired_certificate_is_rejected(app, api_client, edi_token, landlord, tenants, run_jobs):
    api = api_client(edi_token)
    expired = Signer(app, landlord, register=False,
                     not_before=datetime.now(timezone.utc) - timedelta(days=40), days=30)
    data = build_xml("LOYERS", landlord, records(tenants))
    fid = upload(api, data, expired.sign(data))
    run_jobs()
    assert_rejected(api, fid, "CERTIFICAT_EXPIRE", tenants)


def test_revoked_certificate_is_rejected(api_client, edi_token, landlord, signer, tenants, run_jobs):
    from edi.certificates import services
    api = api_client(edi_token)
    services.revoke_certificate(signer.registered, actor=None, motif="clé compromise",
                               at=datetime.now(timezone.utc) - timedelta(minutes=1))
    db.session.commit()
    data = build_xml("LOYERS", landlord, records(tenants))
    fid = upload(api, data, signer.sign(data))
    run_jobs()
    assert_rejected(api, fid, "CERTIFICAT_REVOQUE", tenants)


def test_sha1_signature_is_rejected(tmp_path, api_client, edi_token, landlord, signer, tenants, run_jobs):
    api = api_client(edi_token)
    data = build_xml("LOYERS", landlord, records(tenants))
    (tmp_path / "f.xml").write_bytes(data)
    (tmp_path / "key.pem").write_bytes(signer.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (tmp_path / "cert.pem").write_bytes(signer.cert.public_bytes(serialization.Encoding.PEM))
    subprocess.run(["openssl", "cms", "-sign", "-binary", "-md", "sha1", "-outform", "DER",
                    "-in", "f.xml", "-signer", "cert.pem", "-inkey", "key.pem", "-out", "f.p7s"],
                   cwd=tmp_path, check=True, capture_output=True)
    fid = upload(api, data, (tmp_path / "f.p7s").read_bytes())
    run_jobs()
    assert_rejected(api, fid, "ALGORITHME_REFUSE", tenants)


def test_missing_signature_is_rejected(api_client, edi_token, landlord, signer, tenants, run_jobs):
    api = api_client(edi_token)
    data = build_xml("LOYERS", landlord, records(tenants))
    fid = upload(api, data, None)  # empty .p7s part
    run_jobs()
    assert_rejected(api, fid, "SIGNATURE_ABSENTE", tenants)


def test_openssl_signed_file_is_accepted(tmp_path, api_client, edi_token, landlord, signer, tenants,
                                         run_jobs):
    """The command of the specification (openssl cms -sign) produces an accepted signature."""
    api = api_client(edi_token)
    data = build_xml("LOYERS", landlord, records(tenants))
    (tmp_path / "f.xml").write_bytes(data)
    (tmp_path / "key.pem").write_bytes(signer.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (tmp_path / "cert.pem").write_bytes(signer.cert.public_bytes(serialization.Encoding.PEM))
    subprocess.run(["openssl", "cms", "-sign", "-binary", "-md", "sha256", "-outform", "DER",
                    "-in", "f.xml", "-signer", "cert.pem", "-inkey", "key.pem", "-out", "f.p7s"],
                   cwd=tmp_path, check=True, capture_output=True)
    fid = upload(api, data, (tmp_path / "f.p7s").read_bytes())
    run_jobs()
    assert db.session.get(EdiFichier, fid).statut == "TRAITE"
    assert rents(tenants) == [61000] * 3


# ------------------------------------------------------------------ hostile XML

SECRET = b"SECRET-CONTENU-9f3a"


def hostile_cases(landlord, port, tmp_path):
    secret_file = tmp_path / "secret.txt"
    secret_file.write_bytes(SECRET)
    head = build_xml("LOYERS", landlord, []).split(b"\n", 1)
    return {
        "xxe_file": (head[0] + b'\n<!DOCTYPE Loyers [<!ENTITY x SYSTEM "file://'
                     + str(secret_file).encode() + b'">]>\n' + head[1].replace(b"<Flux>", b"&x;<Flux>"),
                     "DOCTYPE_INTERDIT"),
        "xxe_network": (head[0] + b'\n<!DOCTYPE Loyers [<!ENTITY x SYSTEM "http://127.0.0.1:'
                        + str(port).encode() + b'/xxe">]>\n' + head[1].replace(b"<Flux>", b"&x;<Flux>"),
                        "DOCTYPE_INTERDIT"),
        "billion_laughs": (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
                           + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                                      for i in range(1, 10))
                           + b']>\n<Loyers xmlns="urn:caf:extranet:edi:loyers:1">&lol9;</Loyers>',
                           "DOCTYPE_INTERDIT"),
        "doctype": (head[0] + b"\n<!DOCTYPE Loyers>\n" + head[1], "DOCTYPE_INTERDIT"),
        "deep_nesting": (b'<?xml version="1.0" encoding="UTF-8"?>\n<Loyers xmlns="urn:caf:extranet:edi:loyers:1">'
                         + b"<a>" * 5000 + SECRET + b"</a>" * 5000 + b"</Loyers>", None),
        "not_xml": (b"%PDF-1.4 " + SECRET + b" \x00\x01\x02 binary", None),
    }


@pytest.mark.parametrize("case", ["xxe_file", "xxe_network", "billion_laughs", "doctype",
                                  "deep_nesting", "not_xml"])
def test_hostile_xml_is_rejected_fast_without_echo_or_network(
        case, tmp_path, http_probe, api_client, edi_token, landlord, signer, run_jobs):
    url, hits = http_probe
    port = int(url.rsplit(":", 1)[1])
    data, code = hostile_cases(landlord, port, tmp_path)[case]
    api = api_client(edi_token)
    fid = upload(api, data, signer.sign(data))  # validly signed: the XML checks must catch it
    run_jobs()
    f = db.session.get(EdiFichier, fid)
    assert f.statut == "REJETE" and f.rejet_technique, (f.statut, f.motifs)
    if code:
        assert [m["code"] for m in f.motifs] == [code]
    assert f.nb_lus == 0
    accuse = api.get(f"/api/v1/edi/fichiers/{fid}/accuse").data
    for leak in (SECRET, b"pwned", b"lol"):
        assert leak not in accuse and leak.decode() not in str(f.motifs)
    assert hits == []  # no network access attempted


def test_oversize_upload_in_the_portal_is_413(app, login, client, operator, monkeypatch):
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart
    monkeypatch.setitem(app.config, "EDI_MAX_FILE_MB", "1")
    login(operator)
    boundary, body = encode_multipart({
        "fichier": FileStorage(io.BytesIO(b"<a>" + b"y" * (3 * 1024 * 1024) + b"</a>"), "big.xml"),
        "signature": FileStorage(io.BytesIO(b"sig"), "big.xml.p7s")})
    response = client.post("/edi/depot", data=body,
                           content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 413
    assert b"yyyy" not in response.data
    assert db.session.scalar(select(EdiFichier.id)) is None
