"""Keys and certificates of the EDI: the Caf's signing material and its trust anchors.

Production (``PORTAL_ENV=production``) — all required, checked at start-up:

``EDI_TRUST_ANCHORS``      PEM file of the certification authorities the Caf trusts for the
                           landlords' signing certificates (one or more CA certificates).
``EDI_CAF_SIGNING_CERT``   PEM certificate of the Caf's signing key (leaf first, then any
                           intermediates), published at ``/edi/certificat-caf.pem``.
``EDI_CAF_SIGNING_KEY``    PEM private key (RSA >= 2048 or EC P-256+), optionally encrypted with
                           ``EDI_CAF_SIGNING_KEY_PASSWORD``.

Elsewhere (development, tests, demo) the same settings are honoured when given; otherwise a demo
PKI is generated at first use under ``VAR_DIR/pki/`` with real X.509 certificates:

    VAR_DIR/pki/ac-demo.pem                 « AC Caf Partenaires (démo) », root CA (trust anchor)
    VAR_DIR/pki/ac-demo.key                 its key (to issue more demo certificates)
    VAR_DIR/pki/caf-signature.pem / .key    the Caf's signing certificate and key
    VAR_DIR/pki/picardie-habitat.pem / .key the demo landlord's signing certificate and key

``portal edi demo-pki`` prints these paths.
"""
from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .signature import has_digital_signature_usage, load_certificates, load_private_key

DEMO_CA_NAME = "AC Caf Partenaires (démo)"
DEMO_FILES = {
    "ca_cert": "ac-demo.pem",
    "ca_key": "ac-demo.key",
    "caf_cert": "caf-signature.pem",
    "caf_key": "caf-signature.key",
    "bailleur_cert": "picardie-habitat.pem",
    "bailleur_key": "picardie-habitat.key",
}


class PkiConfigError(RuntimeError):
    """An EDI key/certificate setting is missing or invalid (message names it)."""


# --------------------------------------------------------------------------------------------
# Generation helpers (demo PKI, tests)
# --------------------------------------------------------------------------------------------

def new_key(kind: str = "ec"):
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if kind.startswith("rsa"):
        bits = int(kind[3:] or 2048)
        return rsa.generate_private_key(public_exponent=65537, key_size=bits)
    raise ValueError(kind)


def _name(cn: str, org: str | None = None, siren: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "FR")]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    if siren:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, f"SIREN-{siren}"))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def make_ca(cn: str = DEMO_CA_NAME, key=None, days: int = 3650, not_before: datetime | None = None,
            hash_algorithm=None, parent: tuple | None = None, org: str = "Caf de la Somme"):
    """A CA certificate (root, or intermediate when ``parent=(key, cert)``). Returns (key, cert)."""
    key = key or new_key("ec")
    now = not_before or datetime.now(UTC) - timedelta(minutes=5)
    subject = _name(cn, org)
    issuer_key, issuer_cert = parent if parent else (key, None)
    builder = (x509.CertificateBuilder()
               .subject_name(subject)
               .issuer_name(issuer_cert.subject if issuer_cert else subject)
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now)
               .not_valid_after(now + timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=True, path_length=None if parent is None else 0),
                              critical=True)
               .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                            key_encipherment=False, data_encipherment=False,
                                            key_agreement=False, key_cert_sign=True, crl_sign=True,
                                            encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    if issuer_cert is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    else:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
    cert = builder.sign(issuer_key, hash_algorithm or hashes.SHA256())
    return key, cert


def issue_signing_certificate(ca_key, ca_cert: x509.Certificate, cn: str, org: str | None = None,
                              siren: str | None = None, key=None, days: int = 730,
                              not_before: datetime | None = None, digital_signature: bool = True,
                              hash_algorithm=None):
    """An end-entity signing certificate issued by ``ca``. Returns (key, cert)."""
    key = key or new_key("ec")
    now = not_before or datetime.now(UTC) - timedelta(minutes=5)
    cert = (x509.CertificateBuilder()
            .subject_name(_name(cn, org, siren))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=digital_signature,
                                         content_commitment=digital_signature,
                                         key_encipherment=not digital_signature, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=False, crl_sign=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION,
                                                  ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hash_algorithm or hashes.SHA256()))
    return key, cert


def key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _write(path: Path, data: bytes, private: bool = False) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    if private:
        tmp.chmod(0o600)
    tmp.replace(path)


# --------------------------------------------------------------------------------------------
# Demo PKI
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DemoPki:
    directory: Path

    def path(self, which: str) -> Path:
        return self.directory / DEMO_FILES[which]


def ensure_demo_pki(var_dir: str | os.PathLike) -> DemoPki:
    """Create the demo PKI under ``var_dir/pki`` if missing (idempotent, safe across processes)."""
    directory = Path(var_dir) / "pki"
    directory.mkdir(parents=True, exist_ok=True)
    pki = DemoPki(directory)
    if all(pki.path(k).exists() for k in DEMO_FILES):
        return pki
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if all(pki.path(k).exists() for k in DEMO_FILES):
            return pki
        ca_key, ca_cert = make_ca(DEMO_CA_NAME)
        caf_key, caf_cert = issue_signing_certificate(
            ca_key, ca_cert, "Caf de la Somme - signature EDI (démo)", "Caf de la Somme", "534889877",
            days=3650)
        bl_key, bl_cert = issue_signing_certificate(
            ca_key, ca_cert, "Picardie Habitat - EDI (démo)", "Picardie Habitat", "381568394",
            key=new_key("rsa3072"), days=3650)
        _write(pki.path("ca_key"), key_pem(ca_key), private=True)
        _write(pki.path("caf_key"), key_pem(caf_key), private=True)
        _write(pki.path("bailleur_key"), key_pem(bl_key), private=True)
        _write(pki.path("caf_cert"), cert_pem(caf_cert))
        _write(pki.path("bailleur_cert"), cert_pem(bl_cert))
        _write(pki.path("ca_cert"), cert_pem(ca_cert))  # last: marks completion
    return pki


# --------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SigningMaterial:
    key: object
    cert: x509.Certificate
    chain: tuple[x509.Certificate, ...]  # intermediates to embed (may be empty)
    cert_pem: bytes  # what the portal publishes


def _config():
    from flask import current_app
    return current_app.config


def _read(path_setting: str, config) -> bytes:
    path = config.get(path_setting)
    try:
        return Path(path).read_bytes()
    except OSError:
        raise PkiConfigError(f"{path_setting} : fichier illisible ({path})") from None


def _is_production(config) -> bool:
    return config.get("PORTAL_ENV") == "production"


def trust_anchors(config=None) -> list[x509.Certificate]:
    """The CA certificates trusted for landlords' signatures (EDI_TRUST_ANCHORS, or the demo CA)."""
    config = config if config is not None else _config()
    if config.get("EDI_TRUST_ANCHORS"):
        try:
            anchors = load_certificates(_read("EDI_TRUST_ANCHORS", config))
        except ValueError:
            raise PkiConfigError("EDI_TRUST_ANCHORS : aucun certificat PEM lisible") from None
        if not anchors:
            raise PkiConfigError("EDI_TRUST_ANCHORS : aucun certificat PEM lisible")
        return anchors
    if _is_production(config):
        raise PkiConfigError("EDI_TRUST_ANCHORS est obligatoire en production")
    pki = ensure_demo_pki(config["VAR_DIR"])
    return load_certificates(pki.path("ca_cert").read_bytes())


def caf_signing_material(config=None) -> SigningMaterial:
    """The Caf's signing key and certificate (EDI_CAF_SIGNING_KEY / _CERT, or the demo ones)."""
    config = config if config is not None else _config()
    if config.get("EDI_CAF_SIGNING_KEY") or config.get("EDI_CAF_SIGNING_CERT"):
        for name in ("EDI_CAF_SIGNING_KEY", "EDI_CAF_SIGNING_CERT"):
            if not config.get(name):
                raise PkiConfigError(f"{name} est obligatoire avec "
                                     "EDI_CAF_SIGNING_KEY / EDI_CAF_SIGNING_CERT")
        password = config.get("EDI_CAF_SIGNING_KEY_PASSWORD")
        key_bytes = _read("EDI_CAF_SIGNING_KEY", config)
        cert_bytes = _read("EDI_CAF_SIGNING_CERT", config)
    elif _is_production(config):
        raise PkiConfigError("EDI_CAF_SIGNING_KEY et EDI_CAF_SIGNING_CERT sont obligatoires en production")
    else:
        pki = ensure_demo_pki(config["VAR_DIR"])
        password = None
        key_bytes = pki.path("caf_key").read_bytes()
        cert_bytes = pki.path("caf_cert").read_bytes()
    try:
        key = load_private_key(key_bytes, password.encode() if password else None)
    except (ValueError, TypeError):
        raise PkiConfigError("EDI_CAF_SIGNING_KEY : clé privée PEM illisible (ou mot de passe erroné)") from None
    try:
        certs = load_certificates(cert_bytes)
    except ValueError:
        raise PkiConfigError("EDI_CAF_SIGNING_CERT : certificat PEM illisible") from None
    if not certs:
        raise PkiConfigError("EDI_CAF_SIGNING_CERT : certificat PEM illisible")
    cert = certs[0]
    if cert.public_key().public_numbers() != key.public_key().public_numbers():
        raise PkiConfigError("EDI_CAF_SIGNING_CERT ne correspond pas à EDI_CAF_SIGNING_KEY")
    if not has_digital_signature_usage(cert):
        raise PkiConfigError("EDI_CAF_SIGNING_CERT n'a pas l'usage digitalSignature")
    if isinstance(key, rsa.RSAPrivateKey) and key.key_size < 2048:
        raise PkiConfigError("EDI_CAF_SIGNING_KEY : RSA de 2048 bits au moins")
    return SigningMaterial(key=key, cert=cert, chain=tuple(certs[1:]),
                           cert_pem=b"".join(cert_pem(c) for c in certs))


def validate_settings(config) -> None:
    """Called at start-up: in production the EDI keys must be present and coherent."""
    if not _is_production(config):
        return
    from portal.config import ConfigError
    try:
        caf_signing_material(config)
        trust_anchors(config)
    except PkiConfigError as exc:
        raise ConfigError(str(exc)) from None


def sign_as_caf(data, config=None) -> bytes:
    """Detached CAdES-BES signature (DER) of an outbound file (ACCUSE, AVIS_PAIEMENT) with the
    Caf's key; ``data`` is bytes, a path or a binary file (hashed as a stream). The signature
    carries a signing time, so store it once: asking again must return the stored bytes."""
    from .signature import sign_detached
    material = caf_signing_material(config)
    return sign_detached(data, material.key, material.cert, extra_certs=material.chain)
