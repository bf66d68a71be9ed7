"""Detached CMS (CAdES-BES) signatures, cross-checked with the real openssl CLI."""
from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import cms

from portal.crypto import pki
from portal.crypto.signature import (
    SignatureError,
    certificate_fingerprint,
    sign_detached,
    sign_file,
    verify_detached,
)
from schemas import EXAMPLES_DIR

EXAMPLE = EXAMPLES_DIR / "loyers-exemple.xml"


class Pki:
    """A throw-away PKI written to disk (openssl needs files)."""

    def __init__(self, directory):
        self.dir = directory
        self.ca_key, self.ca = pki.make_ca("AC de test", not_before=datetime.now(UTC) - timedelta(days=800))
        self.key, self.cert = pki.issue_signing_certificate(self.ca_key, self.ca, "Bailleur test", "Bailleur",
                                                            "381568394", key=pki.new_key("rsa2048"))
        self.ec_key, self.ec_cert = pki.issue_signing_certificate(self.ca_key, self.ca, "Bailleur EC")
        self.write("ca.pem", pki.cert_pem(self.ca))
        self.write("ca.key", pki.key_pem(self.ca_key))
        self.write("signer.pem", pki.cert_pem(self.cert))
        self.write("signer.key", pki.key_pem(self.key))
        self.write("ec.pem", pki.cert_pem(self.ec_cert))
        self.write("ec.key", pki.key_pem(self.ec_key))

    def write(self, name, data):
        (self.dir / name).write_bytes(data)
        return self.dir / name

    def path(self, name):
        return str(self.dir / name)


@pytest.fixture(scope="module")
def p(tmp_path_factory):
    return Pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "loyers.xml"
    path.write_bytes(EXAMPLE.read_bytes())
    return path


def openssl(*args, check=True):
    result = subprocess.run(["openssl", *args], capture_output=True, timeout=60)
    if check:
        assert result.returncode == 0, result.stderr.decode()
    return result


def openssl_sign(p, data, out, md="sha256", signer="signer", extra=()):
    openssl("cms", "-sign", "-binary", "-md", md, "-outform", "DER", "-in", str(data),
            "-signer", p.path(f"{signer}.pem"), "-inkey", p.path(f"{signer}.key"), *extra, "-out", str(out))
    return out.read_bytes()


def openssl_verify(p, data, sig_path, ca="ca.pem"):
    return openssl("cms", "-verify", "-binary", "-inform", "DER", "-in", str(sig_path), "-content", str(data),
                   "-CAfile", p.path(ca), "-out", "/dev/null", check=False)


def test_openssl_signature_verifies_in_python(p, data, tmp_path):
    der = openssl_sign(p, data, tmp_path / "f.p7s")
    verified = verify_detached(data, der, [p.ca])
    assert verified.signer == p.cert
    assert verified.digest_algorithm == "sha256"
    assert verified.chain[-1] == p.ca
    import hashlib
    assert verified.data_sha256 == hashlib.sha256(data.read_bytes()).hexdigest()
    assert verified.signer_fingerprint == certificate_fingerprint(p.cert)


@pytest.mark.parametrize("signer, extra", [
    ("signer", ("-keyopt", "rsa_padding_mode:pss")),
    ("ec", ()),
    ("signer", ("-cades",)),
])
def test_openssl_variants_verify_in_python(p, data, tmp_path, signer, extra):
    der = openssl_sign(p, data, tmp_path / "f.p7s", signer=signer, extra=extra)
    verified = verify_detached(data, der, [p.ca])
    assert verified.signer in (p.cert, p.ec_cert)


@pytest.mark.parametrize("which", ["rsa", "ec"])
def test_python_signature_verifies_with_openssl(p, data, which):
    key, cert = (p.key, p.cert) if which == "rsa" else (p.ec_key, p.ec_cert)
    sig = sign_file(data, key, cert)
    assert sig == data.with_name(data.name + ".p7s")
    result = openssl_verify(p, data, sig)
    assert result.returncode == 0, result.stderr.decode()
    assert b"Verification successful" in result.stderr
    verify_detached(data, sig.read_bytes(), [p.ca])


def test_python_signature_is_cades_bes(p, data):
    der = sign_detached(data, p.ec_key, p.ec_cert)
    signer_info = cms.ContentInfo.load(der)["content"]["signer_infos"][0]
    attrs = {a["type"].native for a in signer_info["signed_attrs"]}
    assert {"content_type", "message_digest", "signing_time", "signing_certificate_v2"} <= attrs
    assert cms.ContentInfo.load(der)["content"]["encap_content_info"]["content"].native is None


def test_tampered_byte_is_detected_by_both(p, data, tmp_path):
    sig = sign_file(data, p.key, p.cert, out_path=tmp_path / "f.p7s")
    raw = bytearray(data.read_bytes())
    raw[200] ^= 0x01
    data.write_bytes(bytes(raw))
    with pytest.raises(SignatureError) as exc:
        verify_detached(data, sig.read_bytes(), [p.ca])
    assert exc.value.code == "EMPREINTE_DIFFERENTE"
    assert openssl_verify(p, data, sig).returncode != 0


def test_tampered_signature_value(p, data):
    der = bytearray(sign_detached(data, p.key, p.cert))
    der[-5] ^= 0xFF  # inside the signature value (last field)
    with pytest.raises(SignatureError) as exc:
        verify_detached(data, bytes(der), [p.ca])
    assert exc.value.code == "SIGNATURE_INVALIDE"


def test_wrong_key_for_certificate(p, data):
    """Signed with one key, carrying another key's certificate."""
    other = pki.issue_signing_certificate(p.ca_key, p.ca, "Autre", key=pki.new_key("ec"))[1]
    with pytest.raises(SignatureError) as exc:
        verify_detached(data, sign_detached(data, p.ec_key, other), [p.ca])
    assert exc.value.code == "SIGNATURE_INVALIDE"


def test_sha1_digest_refused(p, data, tmp_path):
    der = openssl_sign(p, data, tmp_path / "f.p7s", md="sha1")
    with pytest.raises(SignatureError) as exc:
        verify_detached(data, der, [p.ca])
    assert exc.value.code == "ALGORITHME_REFUSE"


def test_sha1_signed_certificate_refused(p, data, tmp_path):
    """cryptography refuses to *make* SHA-1 certificates: openssl makes one."""
    key = tmp_path / "old.key"
    key.write_bytes(pki.key_pem(pki.new_key("ec")))
    ext = tmp_path / "ext.cnf"
    ext.write_text("keyUsage=critical,digitalSignature\nbasicConstraints=critical,CA:FALSE\n")
    openssl("req", "-new", "-key", str(key), "-subj", "/CN=Vieux SHA1", "-out", str(tmp_path / "old.csr"))
    openssl("x509", "-req", "-in", str(tmp_path / "old.csr"), "-CA", p.path("ca.pem"), "-CAkey", p.path("ca.key"),
            "-set_serial", "4242", "-days", "30", "-sha1", "-extfile", str(ext), "-out", str(tmp_path / "old.pem"))
    from portal.crypto.signature import load_certificates, load_private_key
    cert = load_certificates((tmp_path / "old.pem").read_bytes())[0]
    der = sign_detached(data, load_private_key(key.read_bytes()), cert)
    with pytest.raises(SignatureError) as exc:
        verify_detached(data, der, [p.ca])
    assert exc.value.code == "ALGORITHME_REFUSE"


def test_untrusted_ca(p, data):
    other_ca_key, other_ca = pki.make_ca("AC inconnue")
    key, cert = pki.issue_signing_certificate(other_ca_key, other_ca, "Pirate")
    with pytest.raises(SignatureError) as exc:
        verify_detached(data, sign_detached(data, key, cert), [p.ca])
    assert exc.value.code == "CHAINE_NON_CONFIANCE"
    self_signed_key, self_signed = pki.make_ca("Autosigné")  # a CA cert used as signer, not chaining
    with pytest.raises(SignatureError):
        verify_detached(data, sign_detached(data, self_signed_key, self_signed), [p.ca])


def test_intermediate_ca_carried_in_the_signature(p, data):
    inter_key, inter = pki.make_ca("AC intermédiaire", parent=(p.ca_key, p.ca))
    key, cert = pki.issue_signing_certificate(inter_key, inter, "Bailleur via intermédiaire")
    der = sign_detached(data, key, cert, extra_certs=[inter])
    verified = verify_detached(data, der, [p.ca])
    assert len(verified.chain) == 3
    with pytest.raises(SignatureError) as exc:
        verify_detached(data, sign_detached(data, key, cert), [p.ca])
    assert exc.value.code == "CHAINE_NON_CONFIANCE"


def test_expired_and_not_yet_valid(p, data):
    past = datetime.now(UTC) - timedelta(days=400)
    key, cert = pki.issue_signing_certificate(p.ca_key, p.ca, "Expiré", not_before=past, days=30)
    der = sign_detached(data, key, cert)
    with pytest.raises(SignatureError) as exc:
        verify_detached(data, der, [p.ca])
    assert exc.value.code == "CERTIFICAT_EXPIRE"
    # valid at the receipt time, even if verified later
    verify_detached(data, der, [p.ca], at=past + timedelta(days=10))


def test_key_usage_required(p, data):
    key, cert = pki.issue_signing_certificate(p.ca_key, p.ca, "Chiffrement seul", digital_signature=False)
    with pytest.raises(SignatureError) as exc:
        verify_detached(data, sign_detached(data, key, cert), [p.ca])
    assert exc.value.code == "USAGE_NON_AUTORISE"


@pytest.mark.parametrize("der, code", [
    (b"", "SIGNATURE_ABSENTE"),
    (b"not a signature", "SIGNATURE_INVALIDE"),
    (b"-----BEGIN PKCS7-----\nAAAA\n-----END PKCS7-----\n", "SIGNATURE_INVALIDE"),
    (b"\x30\x82\xff\xff" + b"\x00" * 10, "SIGNATURE_INVALIDE"),
])
def test_garbage_signatures(data, der, code, p):
    with pytest.raises(SignatureError) as exc:
        verify_detached(data, der, [p.ca])
    assert exc.value.code == code


def test_attached_signature_and_noattr_refused(p, data, tmp_path):
    attached = tmp_path / "att.p7s"
    openssl("cms", "-sign", "-nodetach", "-binary", "-md", "sha256", "-outform", "DER", "-in", str(data),
            "-signer", p.path("signer.pem"), "-inkey", p.path("signer.key"), "-out", str(attached))
    with pytest.raises(SignatureError) as exc:
        verify_detached(data, attached.read_bytes(), [p.ca])
    assert exc.value.code == "SIGNATURE_INVALIDE"
    der = openssl_sign(p, data, tmp_path / "noattr.p7s", extra=("-noattr",))
    with pytest.raises(SignatureError) as exc:
        verify_detached(data, der, [p.ca])
    assert exc.value.code == "SIGNATURE_INVALIDE"


def test_certificate_not_included(p, data, tmp_path):
    der = openssl_sign(p, data, tmp_path / "nocerts.p7s", extra=("-nocerts",))
    with pytest.raises(SignatureError) as exc:
        verify_detached(data, der, [p.ca])
    assert exc.value.code == "CERTIFICAT_ABSENT"


def test_streaming_verification_of_a_large_file(p, tmp_path):
    big = tmp_path / "big.xml"
    with open(big, "wb") as fh:
        fh.writelines(b"x" * (1024 * 1024) for _ in range(40))
    der = openssl_sign(p, big, tmp_path / "big.p7s", signer="ec")
    with open(big, "rb") as fh:
        assert verify_detached(fh, der, [p.ca]).signer == p.ec_cert
