"""Detached CMS signatures (CAdES-BES) over the exact bytes of an EDI file.

(One module of ~480 lines on purpose: signing and verifying are the two halves of one format —
the signed attributes built by one are the ones the other checks, with the same algorithm
policy — and change together.)

Form: DER ``.p7s``, ``SignedData`` without encapsulated content, SHA-256, one signer, signed
attributes (content-type, message-digest, signing-time, ESS signing-certificate-v2) — what

    openssl cms -sign -binary -md sha256 -outform DER -in FILE -signer CERT -inkey KEY -out FILE.p7s

produces, and what ``openssl cms -verify -binary -inform DER -in FILE.p7s -content FILE -CAfile CA``
checks. The file is hashed as a stream, so verification costs ~ a SHA-256 of the file, whatever
its size.

Libraries, no hand-written ASN.1: ``asn1crypto`` parses and assembles the CMS structures,
``cryptography`` does the maths (RSA PKCS#1 v1.5 / PSS, ECDSA) and the X.509 path validation
(``cryptography.x509.verification``).

Public API:

``sign_detached(data, key, cert, extra_certs=(), signing_time=None) -> bytes``  (DER)
``sign_file(path, key, cert, out_path=None) -> Path``  (writes ``FILE.p7s``)
``verify_detached(data, signature_der, trust_anchors, at, intermediates=()) -> VerifiedSignature``
    cryptographic check + certificate checks (chain to an anchor, validity at ``at``,
    digitalSignature key usage). Whether the certificate is *registered* to the sending
    organisation is checked by ``edi.certificates.services`` (``verify_file_signature``).
``SignatureError(code, message)`` with the stable codes of ``SIGNATURE_CODES``.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from asn1crypto import (
    algos,
    cms,
    tsp,
)
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import verification

MAX_SIGNATURE_BYTES = 256 * 1024
READ_CHUNK = 1024 * 1024

SIGNATURE_CODES = {
    "SIGNATURE_ABSENTE": "Le fichier n'est pas accompagné de sa signature (.p7s).",
    "SIGNATURE_INVALIDE": "La signature est illisible ou ne correspond pas au fichier.",
    "EMPREINTE_DIFFERENTE": ("Fichier modifié après signature : son contenu n'est plus celui qui a été "
                             "signé (empreinte différente). Signez de nouveau le fichier tel que vous "
                             "l'envoyez."),
    "SIGNATURE_AUTRE_FICHIER": ("La signature ne correspond pas à ce fichier : c'est la signature d'un "
                                "autre fichier. Déposez chaque fichier avec sa propre signature (.p7s)."),
    "ALGORITHME_REFUSE": "Algorithme refusé (SHA-1, MD5 et DSA sont refusés ; SHA-256 attendu).",
    "CERTIFICAT_ABSENT": "Le certificat du signataire n'est pas inclus dans la signature.",
    "CERTIFICAT_EXPIRE": "Le certificat du signataire n'est pas valide à la date de réception.",
    "CERTIFICAT_NON_ENREGISTRE": "Le certificat n'est pas enregistré pour l'organisation émettrice.",
    "CERTIFICAT_NON_APPROUVE": "Le certificat n'a pas (encore) été approuvé par la Caf.",
    "CERTIFICAT_REVOQUE": "Le certificat du signataire a été révoqué.",
    "CERTIFICAT_HORS_PERIODE": "Le certificat est hors de sa période d'utilisation enregistrée.",
    "CHAINE_NON_CONFIANCE": "Le certificat ne remonte pas à une autorité de certification de confiance.",
    "USAGE_NON_AUTORISE": "Le certificat n'a pas l'usage « signature numérique » (digitalSignature).",
}

ALLOWED_DIGESTS = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}
_REFUSED_HINTS = ("sha1", "md5", "md2", "dsa")


class SignatureError(Exception):
    """Signature refused. ``code`` is stable (``SIGNATURE_CODES``), ``message`` is French."""

    def __init__(self, code: str, message: str | None = None, signed_sha256: str | None = None):
        message = message or SIGNATURE_CODES.get(code, code)
        super().__init__(f"{code}: {message}")
        # EMPREINTE_DIFFERENTE: the SHA-256 the signature covers (hex), when it is SHA-256: the
        # intake looks for the file it belongs to (SIGNATURE_AUTRE_FICHIER).
        self.signed_sha256 = signed_sha256
        self.code = code
        self.message = message


@dataclass(frozen=True)
class VerifiedSignature:
    signer: x509.Certificate
    chain: tuple[x509.Certificate, ...]  # leaf first, anchor last
    data_sha256: str
    digest_algorithm: str
    signature_algorithm: str
    signing_time: datetime | None
    registered: object | None = field(default=None)  # RegisteredCertificate (set by the service)

    @property
    def signer_fingerprint(self) -> str:
        return certificate_fingerprint(self.signer)

    @property
    def signer_subject(self) -> str:
        return self.signer.subject.rfc4514_string()


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------

def certificate_fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the DER certificate, lowercase hex (how certificates are identified here)."""
    return cert.fingerprint(hashes.SHA256()).hex()


def load_certificates(pem_or_der: bytes) -> list[x509.Certificate]:
    if b"-----BEGIN" in pem_or_der:
        return x509.load_pem_x509_certificates(pem_or_der)
    return [x509.load_der_x509_certificate(pem_or_der)]


def load_private_key(pem: bytes, password: bytes | None = None):
    return serialization.load_pem_private_key(pem, password=password)


def _iter_chunks(data) -> Iterable[bytes]:
    if isinstance(data, (bytes, bytearray, memoryview)):
        yield bytes(data)
        return
    if isinstance(data, (str, os.PathLike)):
        with open(data, "rb") as fh:
            while chunk := fh.read(READ_CHUNK):
                yield chunk
        return
    while chunk := data.read(READ_CHUNK):  # binary file object
        yield chunk


def digest_of(data, algorithm: str = "sha256") -> bytes:
    """Streamed hash of bytes, a path or a binary file object."""
    h = hashlib.new(algorithm)
    for chunk in _iter_chunks(data):
        h.update(chunk)
    return h.digest()


def _as_utc(at: datetime | None) -> datetime:
    at = at or datetime.now(UTC)
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


# --------------------------------------------------------------------------------------------
# Signing
# --------------------------------------------------------------------------------------------

def sign_detached(data, key, cert: x509.Certificate, extra_certs: Iterable[x509.Certificate] = (),
                  signing_time: datetime | None = None) -> bytes:
    """Detached CAdES-BES signature (DER) of ``data`` (bytes, path or binary file, hashed as a
    stream) with ``key`` (RSA or EC private key) and its certificate ``cert``."""
    if isinstance(key, rsa.RSAPrivateKey):
        sig_algo = "sha256_rsa"
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        sig_algo = "sha256_ecdsa"
    else:
        raise SignatureError("ALGORITHME_REFUSE", "Seules les clés RSA et EC sont prises en charge.")
    acert = ax509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    signing_time = _as_utc(signing_time).replace(microsecond=0)
    ess_cert = tsp.ESSCertIDv2({  # hash algorithm left to its default, SHA-256 (DER: omitted)
        "cert_hash": hashlib.sha256(acert.dump()).digest(),
        "issuer_serial": {
            "issuer": [ax509.GeneralName({"directory_name": acert.issuer})],
            "serial_number": acert.serial_number,
        },
    })
    attributes = [
        cms.CMSAttribute({"type": "content_type", "values": ["data"]}),
        cms.CMSAttribute({"type": "signing_time", "values": [cms.Time({"utc_time": signing_time})]}),
        cms.CMSAttribute({"type": "message_digest", "values": [digest_of(data, "sha256")]}),
        cms.CMSAttribute({"type": "signing_certificate_v2",
                          "values": [tsp.SigningCertificateV2({"certs": [ess_cert]})]}),
    ]
    # DER: the elements of a SET OF are ordered by their encoding (openssl re-encodes to check).
    attributes.sort(key=lambda a: a.dump())
    signed_attrs = cms.CMSAttributes(attributes)
    to_sign = signed_attrs.dump()
    if sig_algo == "sha256_rsa":
        signature = key.sign(to_sign, padding.PKCS1v15(), hashes.SHA256())
    else:
        signature = key.sign(to_sign, ec.ECDSA(hashes.SHA256()))
    signer_info = cms.SignerInfo({
        "version": "v1",
        "sid": cms.SignerIdentifier({"issuer_and_serial_number": cms.IssuerAndSerialNumber(
            {"issuer": acert.issuer, "serial_number": acert.serial_number})}),
        "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
        "signed_attrs": signed_attrs,
        "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": sig_algo}),
        "signature": signature,
    })
    certificates = [acert] + [ax509.Certificate.load(c.public_bytes(serialization.Encoding.DER))
                              for c in extra_certs]
    signed_data = cms.SignedData({
        "version": "v1",
        "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
        "encap_content_info": {"content_type": "data"},
        "certificates": certificates,
        "signer_infos": [signer_info],
    })
    return cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump()


def sign_file(path: str | os.PathLike, key, cert: x509.Certificate, out_path=None,
              extra_certs: Iterable[x509.Certificate] = ()) -> Path:
    """Sign a file; writes ``<path>.p7s`` (or ``out_path``) and returns its path."""
    out = Path(out_path) if out_path else Path(str(path) + ".p7s")
    der = sign_detached(path, key, cert, extra_certs)
    out.write_bytes(der)
    return out


# --------------------------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Parsed:
    signer_info: cms.SignerInfo
    certificates: list[x509.Certificate]
    signer: x509.Certificate
    digest_algorithm: str
    signature_algorithm: str


def _refused(name: str) -> bool:
    name = name.lower()
    if "dsa" in name and "ecdsa" not in name:
        return True
    return any(hint in name for hint in _REFUSED_HINTS if hint != "dsa")


def _parse(signature_der: bytes) -> _Parsed:
    if not signature_der:
        raise SignatureError("SIGNATURE_ABSENTE")
    if len(signature_der) > MAX_SIGNATURE_BYTES:
        raise SignatureError("SIGNATURE_INVALIDE", "La signature est anormalement volumineuse.")
    if signature_der.lstrip().startswith(b"-----BEGIN"):
        raise SignatureError("SIGNATURE_INVALIDE",
                             "La signature doit être au format DER (openssl cms -outform DER), pas PEM.")
    try:
        info = cms.ContentInfo.load(signature_der, strict=True)
        if info["content_type"].native != "signed_data":
            raise SignatureError("SIGNATURE_INVALIDE", "Le fichier .p7s n'est pas une signature CMS (SignedData).")
        signed_data = info["content"]
        if signed_data["encap_content_info"]["content"].native is not None:
            raise SignatureError("SIGNATURE_INVALIDE",
                                 "Signature attachée refusée : une signature détachée est attendue.")
        signer_infos = list(signed_data["signer_infos"])
        if len(signer_infos) != 1:
            raise SignatureError("SIGNATURE_INVALIDE", "Un et un seul signataire est attendu.")
        signer_info = signer_infos[0]
        digest_algorithm = signer_info["digest_algorithm"]["algorithm"].native
        signature_algorithm = signer_info["signature_algorithm"]["algorithm"].native
        certificates = []
        for choice in signed_data["certificates"] or []:
            if choice.name == "certificate":
                certificates.append(x509.load_der_x509_certificate(choice.chosen.dump()))
        sid = signer_info["sid"]
    except SignatureError:
        raise
    except (ValueError, TypeError, KeyError, IndexError):
        raise SignatureError("SIGNATURE_INVALIDE", "La signature CMS est illisible (DER attendu).") from None
    if _refused(digest_algorithm) or digest_algorithm not in ALLOWED_DIGESTS:
        raise SignatureError("ALGORITHME_REFUSE",
                             f"Algorithme d'empreinte refusé ({digest_algorithm}) : SHA-256 attendu.")
    if _refused(signature_algorithm):
        raise SignatureError("ALGORITHME_REFUSE", f"Algorithme de signature refusé ({signature_algorithm}).")
    signer = _find_signer(sid, certificates)
    return _Parsed(signer_info, certificates, signer, digest_algorithm, signature_algorithm)


def _find_signer(sid, certificates: list[x509.Certificate]) -> x509.Certificate:
    if sid.name == "issuer_and_serial_number":
        issuer = sid.chosen["issuer"].dump()
        serial = sid.chosen["serial_number"].native
        for cert in certificates:
            if cert.serial_number == serial and \
                    ax509.Name.load(cert.issuer.public_bytes()).dump() == issuer:
                return cert
    else:
        ski = sid.chosen.native
        for cert in certificates:
            try:
                ext = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
            except x509.ExtensionNotFound:
                continue
            if ext.value.digest == ski:
                return cert
    raise SignatureError("CERTIFICAT_ABSENT")


def _attribute(signed_attrs, name):
    values = [a["values"] for a in signed_attrs if a["type"].native == name]
    if len(values) > 1 or (values and len(values[0]) != 1):
        raise SignatureError("SIGNATURE_INVALIDE", f"Attribut signé {name} en plusieurs exemplaires.")
    return values[0][0] if values else None


def _check_signature_value(parsed: _Parsed, signed_bytes: bytes) -> None:
    public_key = parsed.signer.public_key()
    signature = parsed.signer_info["signature"].native
    algo = parsed.signer_info["signature_algorithm"]
    name = parsed.signature_algorithm
    digest_cls = ALLOWED_DIGESTS[parsed.digest_algorithm]
    try:
        if name == "rsassa_pss":
            params = algo["parameters"]
            pss_hash = params["hash_algorithm"]["algorithm"].native
            mgf_hash = params["mask_gen_algorithm"]["parameters"]["algorithm"].native
            if pss_hash not in ALLOWED_DIGESTS or mgf_hash not in ALLOWED_DIGESTS:
                raise SignatureError("ALGORITHME_REFUSE", "RSA-PSS avec SHA-1 refusé.")
            if not isinstance(public_key, rsa.RSAPublicKey):
                raise SignatureError("SIGNATURE_INVALIDE", "Clé du certificat incompatible avec RSA-PSS.")
            public_key.verify(signature, signed_bytes,
                              padding.PSS(mgf=padding.MGF1(ALLOWED_DIGESTS[mgf_hash]()),
                                          salt_length=params["salt_length"].native),
                              ALLOWED_DIGESTS[pss_hash]())
        elif name in ("rsassa_pkcs1v15", "sha256_rsa", "sha384_rsa", "sha512_rsa"):
            if not isinstance(public_key, rsa.RSAPublicKey):
                raise SignatureError("SIGNATURE_INVALIDE", "Clé du certificat incompatible avec RSA.")
            hash_cls = digest_cls if name == "rsassa_pkcs1v15" else ALLOWED_DIGESTS[name.split("_")[0]]
            public_key.verify(signature, signed_bytes, padding.PKCS1v15(), hash_cls())
        elif name in ("ecdsa", "sha256_ecdsa", "sha384_ecdsa", "sha512_ecdsa"):
            if not isinstance(public_key, ec.EllipticCurvePublicKey):
                raise SignatureError("SIGNATURE_INVALIDE", "Clé du certificat incompatible avec ECDSA.")
            hash_cls = digest_cls if name == "ecdsa" else ALLOWED_DIGESTS[name.split("_")[0]]
            public_key.verify(signature, signed_bytes, ec.ECDSA(hash_cls()))
        else:
            raise SignatureError("ALGORITHME_REFUSE", f"Algorithme de signature non pris en charge ({name}).")
    except InvalidSignature:
        raise SignatureError("SIGNATURE_INVALIDE",
                             "La signature ne correspond pas au certificat du signataire.") from None


def verify_cms(data, signature_der: bytes) -> tuple[_Parsed, str, datetime | None]:
    """Cryptographic part only: the signature is well formed, covers exactly ``data`` and was
    made with the key of the included signer certificate. Returns (parsed, sha256 hex of the
    data, signing time). Certificates are *not* judged here (see ``check_certificate``)."""
    parsed = _parse(signature_der)
    signed_attrs = parsed.signer_info["signed_attrs"]
    if not signed_attrs:
        raise SignatureError("SIGNATURE_INVALIDE",
                             "Attributs signés absents (CAdES-BES attendu ; ne pas utiliser -noattr).")
    try:
        content_type = _attribute(signed_attrs, "content_type")
        message_digest = _attribute(signed_attrs, "message_digest")
        signing_time = _attribute(signed_attrs, "signing_time")
        signing_cert_v2 = _attribute(signed_attrs, "signing_certificate_v2")
        signing_cert_v1 = _attribute(signed_attrs, "signing_certificate")
    except SignatureError:
        raise
    except (ValueError, TypeError, KeyError):
        raise SignatureError("SIGNATURE_INVALIDE", "Attributs signés illisibles.") from None
    if content_type is None or content_type.native != "data" or message_digest is None:
        raise SignatureError("SIGNATURE_INVALIDE", "Attributs content-type / message-digest absents.")
    # Hash the data as a stream (SHA-256 always, for the ACCUSE; the signer's algorithm if other).
    sha256 = hashlib.sha256()
    other = None if parsed.digest_algorithm == "sha256" else hashlib.new(parsed.digest_algorithm)
    for chunk in _iter_chunks(data):
        sha256.update(chunk)
        if other is not None:
            other.update(chunk)
    digest = (other or sha256).digest()
    if message_digest.native != digest:
        signed = message_digest.native.hex() if parsed.digest_algorithm == "sha256" else None
        raise SignatureError("EMPREINTE_DIFFERENTE", signed_sha256=signed)
    if signing_cert_v1 is not None and signing_cert_v2 is None:
        raise SignatureError("ALGORITHME_REFUSE",
                             "Attribut signing-certificate (SHA-1) refusé : signing-certificate-v2 attendu.")
    if signing_cert_v2 is not None:
        _check_signing_certificate_v2(signing_cert_v2, parsed.signer)
    _check_signature_value(parsed, signed_attrs.untag().dump())
    when = signing_time.native if signing_time is not None else None
    return parsed, sha256.hexdigest(), when


def _check_signing_certificate_v2(value, signer: x509.Certificate) -> None:
    try:
        ess = value["certs"][0]
        algo = ess["hash_algorithm"]["algorithm"].native
        expected = ess["cert_hash"].native
    except (ValueError, KeyError, IndexError):
        raise SignatureError("SIGNATURE_INVALIDE", "Attribut signing-certificate-v2 illisible.") from None
    if algo not in ALLOWED_DIGESTS:
        raise SignatureError("ALGORITHME_REFUSE", f"Empreinte du certificat en {algo} refusée.")
    actual = hashlib.new(algo, signer.public_bytes(serialization.Encoding.DER)).digest()
    if actual != expected:
        raise SignatureError("SIGNATURE_INVALIDE",
                             "Le certificat inclus n'est pas celui désigné par la signature.")


def has_digital_signature_usage(cert: x509.Certificate) -> bool:
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return bool(usage.digital_signature)


def check_certificate(signer: x509.Certificate, intermediates: Iterable[x509.Certificate],
                      trust_anchors: Iterable[x509.Certificate], at: datetime) -> tuple[x509.Certificate, ...]:
    """Validity at ``at``, digitalSignature usage, SHA-1-free path to one of ``trust_anchors``
    (RFC 5280 path validation by ``cryptography.x509.verification``). Returns the chain."""
    at = _as_utc(at)
    if isinstance(signer.signature_hash_algorithm, (hashes.SHA1, hashes.MD5)):
        raise SignatureError("ALGORITHME_REFUSE", "Certificat signé en SHA-1 : refusé.")
    if not (signer.not_valid_before_utc <= at <= signer.not_valid_after_utc):
        raise SignatureError("CERTIFICAT_EXPIRE",
                             "Le certificat du signataire n'est pas valide à la date de réception "
                             f"(valide du {signer.not_valid_before_utc:%d/%m/%Y} au "
                             f"{signer.not_valid_after_utc:%d/%m/%Y}).")
    if not has_digital_signature_usage(signer):
        raise SignatureError("USAGE_NON_AUTORISE")
    anchors = list(trust_anchors)
    if not anchors:
        raise SignatureError("CHAINE_NON_CONFIANCE", "Aucune autorité de confiance n'est configurée.")
    policy = (verification.PolicyBuilder()
              .store(verification.Store(anchors))
              .time(at.replace(tzinfo=None))
              .max_chain_depth(4)
              .extension_policies(ca_policy=verification.ExtensionPolicy.webpki_defaults_ca(),
                                  ee_policy=verification.ExtensionPolicy.permit_all()))
    try:
        verified = policy.build_client_verifier().verify(signer, list(intermediates))
    except verification.VerificationError:
        raise SignatureError("CHAINE_NON_CONFIANCE") from None
    return tuple(verified.chain)


def verify_detached(data, signature_der: bytes, trust_anchors: Iterable[x509.Certificate],
                    at: datetime | None = None,
                    intermediates: Iterable[x509.Certificate] = ()) -> VerifiedSignature:
    """Full technical verification of a detached signature over ``data`` (bytes, path or binary
    file, streamed): CMS + digest + signature value, then the signer certificate (validity at
    ``at`` — the receipt time —, digitalSignature usage, chain to ``trust_anchors``; other
    certificates carried by the signature may serve as intermediates)."""
    at = _as_utc(at)
    parsed, sha256_hex, signing_time = verify_cms(data, signature_der)
    others = [c for c in parsed.certificates if c != parsed.signer] + list(intermediates)
    chain = check_certificate(parsed.signer, others, trust_anchors, at)
    return VerifiedSignature(signer=parsed.signer, chain=chain, data_sha256=sha256_hex,
                             digest_algorithm=parsed.digest_algorithm,
                             signature_algorithm=parsed.signature_algorithm,
                             signing_time=signing_time)


def read_signature(source: bytes | str | os.PathLike | IO[bytes] | None) -> bytes:
    """Read a .p7s (bytes, path or file), bounded; SIGNATURE_ABSENTE if missing or empty."""
    if source is None:
        raise SignatureError("SIGNATURE_ABSENTE")
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        try:
            with open(source, "rb") as fh:
                data = fh.read(MAX_SIGNATURE_BYTES + 1)
        except FileNotFoundError:
            raise SignatureError("SIGNATURE_ABSENTE") from None
    else:
        data = source.read(MAX_SIGNATURE_BYTES + 1)
    if not data:
        raise SignatureError("SIGNATURE_ABSENTE")
    return data


__all__ = [
    "SIGNATURE_CODES",
    "SignatureError",
    "VerifiedSignature",
    "certificate_fingerprint",
    "check_certificate",
    "digest_of",
    "has_digital_signature_usage",
    "load_certificates",
    "load_private_key",
    "read_signature",
    "sign_detached",
    "sign_file",
    "verify_cms",
    "verify_detached",
]
