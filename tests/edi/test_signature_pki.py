"""portal.crypto.pki: demo PKI at first use, production settings validated at start-up."""
from __future__ import annotations

import pytest

from portal.crypto import pki
from portal.crypto.signature import sign_detached, verify_detached
from portal.config import ConfigError


def test_demo_pki_is_real_and_coherent(tmp_path):
    demo = pki.ensure_demo_pki(tmp_path)
    config = {"VAR_DIR": str(tmp_path), "PORTAL_ENV": "development"}
    anchors = pki.trust_anchors(config)
    material = pki.caf_signing_material(config)
    assert anchors[0].subject.rfc4514_string().startswith("CN=AC Caf Partenaires (démo)")
    assert verify_detached(b"data", sign_detached(b"data", material.key, material.cert), anchors).signer == material.cert
    first = demo.path("caf_cert").read_bytes()
    assert pki.ensure_demo_pki(tmp_path).path("caf_cert").read_bytes() == first  # not regenerated
    assert oct(demo.path("bailleur_key").stat().st_mode & 0o777) == "0o600"


def test_production_requires_keys_and_anchors(tmp_path):
    with pytest.raises(ConfigError, match="EDI_CAF_SIGNING_KEY"):
        pki.validate_settings({"PORTAL_ENV": "production", "VAR_DIR": str(tmp_path)})
    ca_key, ca = pki.make_ca("AC prod")
    key, cert = pki.issue_signing_certificate(ca_key, ca, "Caf prod")
    (tmp_path / "k.pem").write_bytes(pki.key_pem(key))
    (tmp_path / "c.pem").write_bytes(pki.cert_pem(cert))
    (tmp_path / "ca.pem").write_bytes(pki.cert_pem(ca))
    config = {"PORTAL_ENV": "production", "VAR_DIR": str(tmp_path), "EDI_CAF_SIGNING_KEY": str(tmp_path / "k.pem"),
              "EDI_CAF_SIGNING_CERT": str(tmp_path / "c.pem")}
    with pytest.raises(ConfigError, match="EDI_TRUST_ANCHORS"):
        pki.validate_settings(config)
    config["EDI_TRUST_ANCHORS"] = str(tmp_path / "ca.pem")
    pki.validate_settings(config)
    assert not (tmp_path / "pki").exists()  # no demo PKI in production
    other = pki.new_key("ec")
    (tmp_path / "k.pem").write_bytes(pki.key_pem(other))
    with pytest.raises(ConfigError, match="ne correspond pas"):
        pki.validate_settings(config)
    (tmp_path / "k.pem").write_bytes(pki.key_pem(key))
    no_usage = pki.issue_signing_certificate(ca_key, ca, "Chiffrement", key=key, digital_signature=False)[1]
    (tmp_path / "c.pem").write_bytes(pki.cert_pem(no_usage))
    with pytest.raises(ConfigError, match="digitalSignature"):
        pki.validate_settings(config)
    config["EDI_TRUST_ANCHORS"] = str(tmp_path / "absent.pem")
    (tmp_path / "c.pem").write_bytes(pki.cert_pem(cert))
    with pytest.raises(ConfigError, match="EDI_TRUST_ANCHORS"):
        pki.validate_settings(config)
