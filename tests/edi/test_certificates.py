"""Registered signing certificates: upload, approval, windows, revocation, expiry, and the
signature checks the intake uses (verify_file_signature / check_signer)."""
from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.crypto import pki
from edi.certificates import services
from edi.certificates.models import RegisteredCertificate
from portal.crypto.signature import SignatureError, load_certificates, load_private_key, sign_detached
from portal.audit import AuditEntry
from portal.extensions import db
from portal.models import OutboxMessage
from schemas import EXAMPLES_DIR
from tests.support.factories import csrf_token


@pytest.fixture(scope="module")
def demo_ca(app):
    directory = pki.ensure_demo_pki(app.config["VAR_DIR"])
    key = load_private_key(directory.path("ca_key").read_bytes())
    cert = load_certificates(directory.path("ca_cert").read_bytes())[0]
    return key, cert


@pytest.fixture
def issue(demo_ca):
    def _issue(**kwargs):
        return pki.issue_signing_certificate(demo_ca[0], demo_ca[1], kwargs.pop("cn", "Bailleur test"), **kwargs)
    return _issue


@pytest.fixture
def landlord(factory):
    org = factory.organisation("bailleur", services={"EDI": []}, siret="38156839400042", code_bailleur="BLTEST01")
    admin = factory.user(org, "partner_admin")
    operator = factory.user(org, "bailleur_operator", habilitations={"EDI": None})
    return org, admin, operator


@pytest.fixture
def caf_admin(factory):
    return factory.user(factory.caf(), "caf_admin")


def registered(org, admin, caf_admin, issue, approve=True, **kwargs):
    key, cert = issue(**kwargs)
    reg = services.register_certificate(org, pki.cert_pem(cert), actor=admin, label="Clé 2026")
    if approve:
        services.approve_certificate(reg, actor=caf_admin)
    db.session.flush()
    return key, cert, reg


def signed_example(tmp_path, key, cert):
    path = tmp_path / "loyers.xml"
    path.write_bytes((EXAMPLES_DIR / "loyers-exemple.xml").read_bytes())
    return path, sign_detached(path, key, cert)


# ---------------------------------------------------------------------------------- parsing

def test_upload_checks(issue, demo_ca):
    anchors = [demo_ca[1]]
    key, good = issue()
    leaf, _ = services.parse_certificate_upload(pki.cert_pem(good), trust_anchors=anchors)
    assert leaf == good
    with pytest.raises(services.CertificateError, match="signature numérique"):
        services.parse_certificate_upload(pki.cert_pem(issue(digital_signature=False)[1]), trust_anchors=anchors)
    expired = issue(not_before=datetime.now(UTC) - timedelta(days=100), days=10)[1]
    with pytest.raises(services.CertificateError, match="expiré"):
        services.parse_certificate_upload(pki.cert_pem(expired), trust_anchors=anchors)
    other_ca_key, other_ca = pki.make_ca("AC inconnue")
    stranger = pki.issue_signing_certificate(other_ca_key, other_ca, "X")[1]
    with pytest.raises(services.CertificateError, match="autorité"):
        services.parse_certificate_upload(pki.cert_pem(stranger), trust_anchors=anchors)
    with pytest.raises(services.CertificateError, match="clé privée"):
        services.parse_certificate_upload(pki.key_pem(key) + pki.cert_pem(good), trust_anchors=anchors)
    with pytest.raises(services.CertificateError, match="PEM"):
        services.parse_certificate_upload(b"\x00\x01 not pem", trust_anchors=anchors)
    with pytest.raises(services.CertificateError, match="illisible"):
        services.parse_certificate_upload(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                                         trust_anchors=anchors)
    with pytest.raises(services.CertificateError, match="Kio"):
        services.parse_certificate_upload(b"x" * (services.MAX_PEM_BYTES + 1), trust_anchors=anchors)
    with pytest.raises(services.CertificateError, match="autorité"):
        services.parse_certificate_upload(pki.cert_pem(demo_ca[1]), trust_anchors=anchors)


def test_small_rsa_key_refused(demo_ca):
    from cryptography.hazmat.primitives.asymmetric import rsa
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    cert = pki.issue_signing_certificate(demo_ca[0], demo_ca[1], "Petit", key=small)[1]
    with pytest.raises(services.CertificateError, match="2048"):
        services.parse_certificate_upload(pki.cert_pem(cert), trust_anchors=[demo_ca[1]])


# ---------------------------------------------------------------------------------- lifecycle

def test_register_approve_verify_then_revoke(landlord, caf_admin, issue, tmp_path):
    org, admin, _ = landlord
    key, cert, reg = registered(org, admin, caf_admin, issue, approve=False)
    assert reg.status() == "en_attente"
    path, der = signed_example(tmp_path, key, cert)
    with pytest.raises(SignatureError) as exc:
        services.verify_file_signature(path, der, org)
    assert exc.value.code == "CERTIFICAT_NON_APPROUVE"
    services.approve_certificate(reg, actor=caf_admin)
    verified = services.verify_file_signature(path, der, org)
    assert verified.registered is reg and verified.signer == cert
    now = datetime.now(UTC)
    services.revoke_certificate(reg, actor=admin, motif="Clé compromise", at=now + timedelta(hours=1))
    with pytest.raises(SignatureError) as exc:
        services.verify_file_signature(path, der, org, at=now + timedelta(hours=2))
    assert exc.value.code == "CERTIFICAT_REVOQUE"
    # a file received before the revocation took effect still verifies at its receipt time
    assert services.verify_file_signature(path, der, org, at=now + timedelta(minutes=30)).registered is reg
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.target == f"certificat:{reg.id}")
                                 .order_by(AuditEntry.id)).all()
    assert actions == ["certificat_enregistre", "certificat_approuve", "certificat_revoque"]


def test_certificate_of_another_landlord_is_refused(landlord, caf_admin, issue, factory, tmp_path):
    org, admin, _ = landlord
    other = factory.organisation("bailleur", services={"EDI": []})
    key, cert, _reg = registered(other, factory.user(other, "partner_admin"), caf_admin, issue)
    path, der = signed_example(tmp_path, key, cert)
    with pytest.raises(SignatureError) as exc:
        services.verify_file_signature(path, der, org)
    assert exc.value.code == "CERTIFICAT_NON_ENREGISTRE"
    with pytest.raises(services.CertificateError, match="autre organisation"):
        services.register_certificate(org, pki.cert_pem(cert), actor=admin, label="volé")


def test_tampered_unsigned_and_expired_are_refused(landlord, caf_admin, issue, tmp_path):
    org, admin, _ = landlord
    key, cert, reg = registered(org, admin, caf_admin, issue)
    path, der = signed_example(tmp_path, key, cert)
    with pytest.raises(SignatureError) as exc:
        services.verify_file_signature(path, None, org)
    assert exc.value.code == "SIGNATURE_ABSENTE"
    path.write_bytes(path.read_bytes().replace(b"<LoyerCentimes>", b"<LoyerCentimes>1", 1))
    with pytest.raises(SignatureError) as exc:
        services.verify_file_signature(path, der, org)
    assert exc.value.code == "EMPREINTE_DIFFERENTE"
    path, der = signed_example(tmp_path, key, cert)
    with pytest.raises(SignatureError) as exc:
        services.verify_file_signature(path, der, org, at=reg.not_valid_after.replace(tzinfo=UTC)
                                      + timedelta(days=1))
    assert exc.value.code == "CERTIFICAT_EXPIRE"


def test_usage_windows_allow_rollover(landlord, caf_admin, issue, tmp_path):
    org, admin, _ = landlord
    now = datetime.now(UTC)
    old_key, old_cert = issue(cn="Ancienne clé")
    new_key, new_cert = issue(cn="Nouvelle clé")
    old = services.register_certificate(org, pki.cert_pem(old_cert), actor=admin, label="2025",
                                       usage_until=now + timedelta(days=10))
    new = services.register_certificate(org, pki.cert_pem(new_cert), actor=admin, label="2026",
                                       usage_from=now + timedelta(days=5))
    for reg in (old, new):
        services.approve_certificate(reg, actor=caf_admin)
    p_old, der_old = signed_example(tmp_path, old_key, old_cert)
    assert services.verify_file_signature(p_old, der_old, org, at=now + timedelta(days=7)).registered is old
    with pytest.raises(SignatureError) as exc:
        services.verify_file_signature(p_old, der_old, org, at=now + timedelta(days=11))
    assert exc.value.code == "CERTIFICAT_HORS_PERIODE"
    p_new, der_new = signed_example(tmp_path, new_key, new_cert)
    with pytest.raises(SignatureError) as exc:
        services.verify_file_signature(p_new, der_new, org, at=now + timedelta(days=1))
    assert exc.value.code == "CERTIFICAT_HORS_PERIODE"
    assert services.verify_file_signature(p_new, der_new, org, at=now + timedelta(days=7)).registered is new
    assert services.has_successor(old) and not services.has_successor(new)


def test_expiry_warnings_sent_once_unless_successor(landlord, caf_admin, issue):
    org, admin, _ = landlord
    _key, _cert, reg = registered(org, admin, caf_admin, issue, days=20)
    assert services.send_expiry_warnings() == 1
    mail = db.session.scalars(select(OutboxMessage).where(OutboxMessage.to == admin.email)).all()
    assert len(mail) == 1 and reg.label in mail[0].body
    assert services.send_expiry_warnings() == 0  # once
    _k2, _c2, reg2 = registered(org, admin, caf_admin, issue, days=20)
    services.revoke_certificate(reg2, actor=admin, motif="test")
    _k3, _c3, _reg3 = registered(org, admin, caf_admin, issue, days=400)
    reg.expiry_warned_at = None
    assert services.send_expiry_warnings() == 0  # successor registered


def test_a_successor_awaiting_approval_does_not_silence_the_expiry_warning(landlord, caf_admin, issue):
    org, admin, _ = landlord
    _key, _cert, reg = registered(org, admin, caf_admin, issue, days=10)
    _k2, _c2, pending = registered(org, admin, caf_admin, issue, approve=False, days=400)
    assert not services.has_successor(reg)
    assert services.send_expiry_warnings() == 1
    services.approve_certificate(pending, actor=caf_admin)
    assert services.has_successor(reg)


def test_demo_seeder_registers_picardie_habitat(app):
    from edi.certificates.demo import seed_demo_certificate
    from portal.demo import seed_demo
    seed_demo()
    pem = pki.ensure_demo_pki(app.config["VAR_DIR"]).path("bailleur_cert").read_bytes()
    from portal.crypto.signature import certificate_fingerprint
    reg = db.session.scalar(select(RegisteredCertificate).where(
        RegisteredCertificate.fingerprint == certificate_fingerprint(load_certificates(pem)[0])))
    assert reg is not None and reg.approved_at is not None and reg.organisation.code_bailleur == "BL080001"
    assert seed_demo_certificate() == 0  # idempotent


# ---------------------------------------------------------------------------------- pages

def upload(client, pem, nom="Clé de signature"):
    token = csrf_token(client, "/edi/certificats")
    return client.post("/edi/certificats", data={"nom": nom, "certificat": (io.BytesIO(pem), "c.pem"),
                                                 "csrf_token": token}, content_type="multipart/form-data")


def test_partner_admin_uploads_and_sees_pending(client, login, landlord, issue):
    org, admin, _ = landlord
    login(admin)
    response = upload(client, pki.cert_pem(issue()[1]))
    assert response.status_code == 302
    reg = db.session.scalar(select(RegisteredCertificate).where(RegisteredCertificate.organisation_id == org.id))
    assert reg.uploaded_by_id == admin.id and reg.approved_at is None
    page = client.get("/edi/certificats").get_data(as_text=True)
    assert "En attente d&#39;approbation" in page or "En attente d'approbation" in page


def test_bad_upload_answers_422_in_french(client, login, landlord, issue):
    _org, admin, _ = landlord
    login(admin)
    response = upload(client, pki.cert_pem(issue(digital_signature=False)[1]))
    assert response.status_code == 422
    assert "signature numérique" in response.get_data(as_text=True)
    response = upload(client, b"garbage")
    assert response.status_code == 422


def test_operator_sees_but_cannot_upload(client, login, landlord, issue):
    _org, _admin, operator = landlord
    login(operator)
    assert client.get("/edi/certificats").status_code == 200
    assert upload(client, pki.cert_pem(issue()[1])).status_code == 403


def test_non_landlord_admin_gets_an_explanation(client, login, factory):
    login(factory.user(factory.organisation("collectivite"), "partner_admin"))
    response = client.get("/edi/certificats")
    assert response.status_code == 200 and "concernent les bailleurs" in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["partner_manager", "travailleur_social"])
def test_other_partner_roles_refused(client, login, factory, role):
    user = factory.user(factory.organisation("association"), role)
    login(user)
    assert client.get("/edi/certificats").status_code == 403
    assert client.get("/caf/edi/certificats").status_code == 403


def test_caf_admin_approves_and_other_org_gets_404(client, login, landlord, caf_admin, issue, factory):
    org, admin, _ = landlord
    _k, _c, reg = registered(org, admin, caf_admin, issue, approve=False)
    login(caf_admin)
    assert "Clé 2026" in client.get("/caf/edi/certificats").get_data(as_text=True)
    token = csrf_token(client, f"/edi/certificats/{reg.id}")
    assert client.post(f"/caf/edi/certificats/{reg.id}/approuver", data={"csrf_token": token}).status_code == 302
    db.session.refresh(reg)
    assert reg.approved_by_id == caf_admin.id
    other = factory.organisation("bailleur", services={"EDI": []})
    stranger = factory.user(other, "partner_admin")
    login(stranger)
    assert client.get(f"/edi/certificats/{reg.id}").status_code == 404
    token = csrf_token(client, "/edi/certificats")
    assert client.post(f"/edi/certificats/{reg.id}/revoquer", data={"csrf_token": token, "motif": "x"}).status_code == 404


def test_partner_admin_cannot_approve(client, login, landlord, caf_admin, issue):
    org, admin, _ = landlord
    _k, _c, reg = registered(org, admin, caf_admin, issue, approve=False)
    login(admin)
    token = csrf_token(client, "/edi/certificats")
    assert client.post(f"/caf/edi/certificats/{reg.id}/approuver", data={"csrf_token": token}).status_code == 403


def test_partner_admin_revokes_with_motif(client, login, landlord, caf_admin, issue):
    org, admin, _ = landlord
    _k, _c, reg = registered(org, admin, caf_admin, issue)
    login(admin)
    token = csrf_token(client, f"/edi/certificats/{reg.id}")
    client.post(f"/edi/certificats/{reg.id}/revoquer", data={"csrf_token": token, "motif": ""})
    db.session.refresh(reg)
    assert reg.revoked_at is None
    client.post(f"/edi/certificats/{reg.id}/revoquer", data={"csrf_token": token, "motif": "Départ du prestataire"})
    db.session.refresh(reg)
    assert reg.revoked_at is not None and reg.revoked_by_id == admin.id


def test_caf_certificate_is_public_and_verifies_outbound(client, app, tmp_path):
    import subprocess
    response = client.get("/edi/certificat-caf.pem")
    assert response.status_code == 200 and b"BEGIN CERTIFICATE" in response.data
    anchors = client.get("/edi/autorites-de-confiance.pem")
    assert anchors.status_code == 200
    with app.app_context():
        material = pki.caf_signing_material()
    assert load_certificates(response.data)[0] == material.cert
    data = tmp_path / "accuse.xml"
    data.write_bytes((EXAMPLES_DIR / "accuse-exemple.xml").read_bytes())
    with app.app_context():
        (tmp_path / "accuse.xml.p7s").write_bytes(pki.sign_as_caf(data))
    (tmp_path / "ca.pem").write_bytes(anchors.data)
    result = subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in",
                             str(tmp_path / "accuse.xml.p7s"), "-content", str(data), "-CAfile",
                             str(tmp_path / "ca.pem"), "-out", "/dev/null"], capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_home_panel_warns_landlord_without_usable_certificate(client, login, landlord):
    _org, admin, _ = landlord
    login(admin)
    assert "Aucun certificat approuvé utilisable" in client.get("/accueil").get_data(as_text=True)


def test_expiry_job_is_scheduled_and_registered(app):
    entry = app.extensions["celery"].conf.beat_schedule["edi-certificates-expiry"]
    assert entry["task"] == "edi.certificates.expiry_warnings"
    assert entry["task"] in app.extensions["celery"].tasks


def test_caf_home_panel_counts_pending_and_expiring_in_one_statement(client, login, landlord, caf_admin, issue, factory):
    """The Caf's panel counts (one statement) what the two lists hold: a certificate awaiting
    approval, one approved that ends within 30 days, one approved for long."""
    from tests.support.statements import counted
    org, admin, _ = landlord
    registered(org, admin, caf_admin, issue, approve=False)
    registered(org, admin, caf_admin, issue, days=20)
    registered(org, admin, caf_admin, issue, days=400)
    with counted() as statements:
        pending, expiring = services.caf_queue_counts()
    assert len(statements) == 1
    assert (pending, expiring) == (len(services.pending_certificates()), len(services.expiring_certificates())) == (1, 1)
    agent = factory.user(caf_admin.organisation, "caf_agent", {"EDI": None})
    login(agent)
    html = client.get("/accueil").get_data(as_text=True)
    assert "1 certificat de bailleur en attente d&#39;approbation." in html
    assert "1 certificat de bailleur expire dans les 30 jours." in html
