"""The Caf's signature over an order file and the check of a return file's signature, through
the shell's generic CMS code (portal.crypto), as the EDI signs its ACCUSE. The return file must
be signed by a certificate chaining to the configured trust anchors and be either the Caf's own
signing certificate or one listed (SHA-256 fingerprints) in ``AFAS_PAIEMENT_SIGNATAIRES``."""
from __future__ import annotations

from flask import current_app

from portal.crypto.pki import caf_signing_material, sign_as_caf, trust_anchors
from portal.crypto.signature import SignatureError, VerifiedSignature, certificate_fingerprint, verify_detached


def sign_order(xml: bytes) -> bytes:
    return sign_as_caf(xml)


def caf_certificate_pem() -> bytes:
    return caf_signing_material().cert_pem


def verify_return(xml: bytes, signature: bytes) -> VerifiedSignature:
    verified = verify_detached(xml, signature, trust_anchors())
    allowed = {certificate_fingerprint(caf_signing_material().cert)}
    allowed |= {f.strip().lower() for f in current_app.config.get("AFAS_PAIEMENT_SIGNATAIRES", ()) if f}
    if verified.signer_fingerprint not in allowed:
        raise SignatureError("CERTIFICAT_NON_ENREGISTRE",
                             "Le certificat n'est pas celui du système de paiement de la Caf.")
    return verified
