"""`portal edi` commands, run through Flask's CLI runner (and openssl for cross-checks)."""
from __future__ import annotations

import subprocess

import pytest

from portal.crypto import pki
from schemas import EXAMPLES_DIR


@pytest.fixture
def runner(app):
    return app.test_cli_runner()  # click >= 8.2: output holds stdout and stderr


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    ca_key, ca = pki.make_ca("AC CLI")
    key, cert = pki.issue_signing_certificate(ca_key, ca, "Signataire CLI")
    for name, data in (("ca.pem", pki.cert_pem(ca)), ("k.pem", pki.key_pem(key)), ("c.pem", pki.cert_pem(cert))):
        (d / name).write_bytes(data)
    return d


def fresh(runner, tmp_path, flow="LOYERS"):
    out = tmp_path / f"{flow.lower()}.xml"
    result = runner.invoke(args=["edi", "example", flow, "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("flow", ["LOYERS", "IMPAYES", "MOUVEMENTS"])
def test_validate_fresh_example_ok(runner, tmp_path, flow):
    result = runner.invoke(args=["edi", "validate", str(fresh(runner, tmp_path, flow))])
    assert result.exit_code == 0, result.output
    assert "conforme" in result.output


def test_validate_reports_reasons_and_fails(runner, tmp_path):
    old = runner.invoke(args=["edi", "validate", str(EXAMPLES_DIR / "loyers-exemple.xml"),
                              "--at", "2099-01-01"])
    assert old.exit_code == 1 and "DATE_CREATION_ANCIENNE" in old.output
    bad = tmp_path / "bad.xml"
    bad.write_bytes(fresh(runner, tmp_path).read_bytes().replace(
        b"<NombreEnregistrements>3<", b"<NombreEnregistrements>4<"))
    result = runner.invoke(args=["edi", "validate", str(bad)])
    assert result.exit_code == 1 and "NOMBRE_ENREGISTREMENTS_INCORRECT" in result.output
    xxe = tmp_path / "xxe.xml"
    xxe.write_text('<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>')
    result = runner.invoke(args=["edi", "validate", str(xxe)])
    assert result.exit_code == 1 and "DOCTYPE_INTERDIT" in result.output and "root:" not in result.output


def test_sign_then_openssl_and_verify(runner, tmp_path, keys):
    data = fresh(runner, tmp_path)
    result = runner.invoke(args=["edi", "sign", str(data), "--key", str(keys / "k.pem"), "--cert", str(keys / "c.pem")])
    assert result.exit_code == 0, result.output
    sig = tmp_path / "loyers.xml.p7s"
    assert sig.exists()
    check = subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", str(sig), "-content",
                            str(data), "-CAfile", str(keys / "ca.pem"), "-out", "/dev/null"], capture_output=True)
    assert check.returncode == 0, check.stderr
    result = runner.invoke(args=["edi", "verify", str(data), str(sig), "--ca", str(keys / "ca.pem")])
    assert result.exit_code == 0 and "signature valide" in result.output
    # against the configured anchors (demo CA), this signer is not trusted
    result = runner.invoke(args=["edi", "verify", str(data), str(sig)])
    assert result.exit_code == 1 and "CHAINE_NON_CONFIANCE" in result.output
    data.write_bytes(data.read_bytes() + b" ")
    result = runner.invoke(args=["edi", "verify", str(data), str(sig), "--ca", str(keys / "ca.pem")])
    assert result.exit_code == 1 and "EMPREINTE_DIFFERENTE" in result.output


def test_sign_refuses_mismatched_key(runner, tmp_path, keys):
    other = tmp_path / "other.pem"
    other.write_bytes(pki.key_pem(pki.new_key("ec")))
    result = runner.invoke(args=["edi", "sign", str(fresh(runner, tmp_path)), "--key", str(other),
                                 "--cert", str(keys / "c.pem")])
    assert result.exit_code == 1 and "ne correspond pas" in result.output


def test_verify_missing_signature(runner, tmp_path, keys):
    result = runner.invoke(args=["edi", "verify", str(fresh(runner, tmp_path)), str(tmp_path / "absent.p7s"),
                                 "--ca", str(keys / "ca.pem")])
    assert result.exit_code == 1 and "SIGNATURE_ABSENTE" in result.output


def test_demo_pki_and_demo_signing_with_openssl(runner, tmp_path, app):
    result = runner.invoke(args=["edi", "demo-pki"])
    assert result.exit_code == 0
    demo = pki.ensure_demo_pki(app.config["VAR_DIR"])
    assert str(demo.path("bailleur_key")) in result.output
    data = fresh(runner, tmp_path)
    sig = tmp_path / "loyers.xml.p7s"
    subprocess.run(["openssl", "cms", "-sign", "-binary", "-md", "sha256", "-outform", "DER", "-in", str(data),
                    "-signer", str(demo.path("bailleur_cert")), "-inkey", str(demo.path("bailleur_key")),
                    "-out", str(sig)], check=True, capture_output=True)
    result = runner.invoke(args=["edi", "verify", str(data), str(sig)])  # configured anchors = demo CA
    assert result.exit_code == 0, result.output
    assert "Picardie Habitat" in result.output


@pytest.mark.parametrize("example", sorted(EXAMPLES_DIR.glob("*.xml")), ids=lambda p: p.name)
def test_every_shipped_example_validates_today_and_in_a_year(runner, example):
    """The reception window is a warning offline: a vendor's first command succeeds on any day."""
    from datetime import UTC, datetime, timedelta

    from edi import formats
    result = runner.invoke(args=["edi", "validate", str(example)])
    assert result.exit_code == 0, result.output
    assert "conforme" in result.output
    for now in (datetime.now(UTC), datetime.now(UTC) + timedelta(days=366)):
        report = formats.validate_file(example, now=now, freshness_as_warning=True)
        assert report.ok, report.errors
    in_a_year = (datetime.now(UTC) + timedelta(days=366)).strftime("%Y-%m-%d")
    late = runner.invoke(args=["edi", "validate", str(example), "--at", in_a_year])
    assert late.exit_code == 1 and "DATE_CREATION_ANCIENNE" in late.output
