"""Registered signing certificates: state changes (each audited) and the checks the intake uses.

For the intake pipeline (``edi`` worker):

``verify_file_signature(data_path, signature_der, organisation, at) -> VerifiedSignature``
    Everything in one call: CMS + SHA-256 over the exact bytes (streamed), signer certificate
    chaining to the Caf's trust anchors (``portal.crypto.pki.trust_anchors()``), digitalSignature usage,
    valid at ``at`` (the receipt time), and **registered to ``organisation``, approved, not
    revoked, inside its usage window** (``check_signer``). Raises ``SignatureError`` (stable
    ``code``). ``result.registered`` is the ``RegisteredCertificate``.

``check_signer(organisation, signer_cert, at) -> RegisteredCertificate``

State changes (views and the demo seeder call them; each writes an audit entry, none commits):
``register_certificate``, ``approve_certificate``, ``reject_certificate``,
``revoke_certificate``; periodic ``send_expiry_warnings``.
"""
from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sqlalchemy import func, select, update

from portal.audit import record_event
from portal.extensions import db
from portal.models import Organisation, User, utcnow

from portal.crypto.signature import (
    SignatureError,
    VerifiedSignature,
    certificate_fingerprint,
    check_certificate,
    has_digital_signature_usage,
    verify_detached,
)
from .models import EXPIRY_WARNING_DAYS, RegisteredCertificate

MAX_PEM_BYTES = 64 * 1024
MIN_RSA_BITS = 2048
ALLOWED_CURVES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}


class CertificateError(Exception):
    """A certificate cannot be registered / changed; French message for the user."""

    def __init__(self, message: str, field: str | None = "certificat"):
        super().__init__(message)
        self.message, self.field = message, field


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


# --------------------------------------------------------------------------------------------
# Parsing an uploaded certificate
# --------------------------------------------------------------------------------------------

def key_description(cert: x509.Certificate) -> str:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size} bits"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {ALLOWED_CURVES.get(key.curve.name, key.curve.name)}"
    return type(key).__name__


def parse_certificate_upload(data: bytes, now: datetime | None = None,
                             trust_anchors: list[x509.Certificate] | None = None
                             ) -> tuple[x509.Certificate, list[x509.Certificate]]:
    """Parse and check a PEM upload (leaf first, then optional intermediates).

    Refuses: too large, not PEM, unreadable, no digitalSignature usage, expired or not yet valid,
    RSA < 2048 bits, EC curve below P-256, other key types, SHA-1/MD5 signature, and (when
    ``trust_anchors`` is given) a certificate that does not chain to a trusted authority."""
    now = _aware(now or datetime.now(UTC))
    if not data:
        raise CertificateError("Choisissez un fichier de certificat (.pem).")
    if len(data) > MAX_PEM_BYTES:
        raise CertificateError(f"Le fichier dépasse {MAX_PEM_BYTES // 1024} Kio : un certificat PEM "
                               "en fait moins de 4.")
    if b"PRIVATE KEY" in data:
        raise CertificateError("Ce fichier contient une clé privée : ne la transmettez jamais. "
                               "Déposez uniquement le certificat (-----BEGIN CERTIFICATE-----).")
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise CertificateError("Format attendu : certificat X.509 au format PEM "
                               "(-----BEGIN CERTIFICATE-----).")
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise CertificateError("Certificat illisible : le fichier PEM est invalide.") from None
    if not certs:
        raise CertificateError("Aucun certificat dans le fichier.")
    leaf, intermediates = certs[0], certs[1:]
    try:
        key = leaf.public_key()
        hash_algorithm = leaf.signature_hash_algorithm
    except (ValueError, UnsupportedAlgorithm):  # unsupported key or algorithm: refused, never a 500
        raise CertificateError("Type de clé ou algorithme de signature non pris en charge.") from None
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise CertificateError(f"Clé RSA de {key.key_size} bits : {MIN_RSA_BITS} bits au moins.")
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in ALLOWED_CURVES:
            raise CertificateError("Courbe elliptique refusée : P-256, P-384 ou P-521 attendue.")
    else:
        raise CertificateError("Type de clé refusé : RSA (2048 bits et plus) ou EC (P-256 et plus).")
    if hash_algorithm is None or isinstance(hash_algorithm, (hashes.SHA1, hashes.MD5)):
        raise CertificateError("Certificat signé avec un algorithme refusé (SHA-1) : SHA-256 attendu.")
    try:
        if leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            raise CertificateError("C'est un certificat d'autorité : déposez le certificat de signature.")
    except x509.ExtensionNotFound:
        pass
    if not has_digital_signature_usage(leaf):
        raise CertificateError("Le certificat n'a pas l'usage « signature numérique » (digitalSignature).")
    if now >= leaf.not_valid_after_utc:
        raise CertificateError(f"Certificat expiré le {leaf.not_valid_after_utc:%d/%m/%Y}.")
    if now < leaf.not_valid_before_utc - timedelta(days=1):
        raise CertificateError(f"Certificat valide seulement à partir du {leaf.not_valid_before_utc:%d/%m/%Y}.")
    if trust_anchors is not None:
        try:
            check_certificate(leaf, intermediates, trust_anchors, max(now, leaf.not_valid_before_utc))
        except SignatureError as exc:
            raise CertificateError("Le certificat n'est pas émis par une autorité de certification reconnue "
                                   f"par la Caf ({exc.message})") from None
    return leaf, intermediates


# --------------------------------------------------------------------------------------------
# State changes
# --------------------------------------------------------------------------------------------

def _audit(action: str, cert: RegisteredCertificate, actor: User | None, **details) -> None:
    record_event("edi", f"certificat_{action}", actor=actor, organisation_id=cert.organisation_id,
                 target=f"certificat:{cert.id}", empreinte=cert.fingerprint, **details)


def register_certificate(organisation: Organisation, data: bytes, *, actor: User | None, label: str,
                         usage_from: datetime | None = None, usage_until: datetime | None = None,
                         now: datetime | None = None, trust_anchors=None) -> RegisteredCertificate:
    """Register a PEM certificate for a landlord organisation (pending the Caf's approval)."""
    if organisation.kind != "bailleur":
        raise CertificateError("Seuls les bailleurs enregistrent des certificats EDI.", None)
    label = (label or "").strip()
    if not label or len(label) > 100:
        raise CertificateError("Donnez un nom au certificat (100 caractères au plus).", "nom")
    if trust_anchors is None:
        from portal.crypto.pki import trust_anchors as configured_anchors
        trust_anchors = configured_anchors()
    leaf, _intermediates = parse_certificate_upload(data, now, trust_anchors)
    fingerprint = certificate_fingerprint(leaf)
    existing = db.session.scalar(select(RegisteredCertificate).where(RegisteredCertificate.fingerprint == fingerprint))
    if existing is not None:
        if existing.organisation_id == organisation.id:
            raise CertificateError("Ce certificat est déjà enregistré pour votre organisation.")
        raise CertificateError("Ce certificat est déjà enregistré par une autre organisation.")
    nvb, nva = _naive(leaf.not_valid_before_utc), _naive(leaf.not_valid_after_utc)
    start = _naive(usage_from) if usage_from else max(nvb, _naive(now) if now else utcnow())
    end = _naive(usage_until) if usage_until else nva
    start, end = max(start, nvb), min(end, nva)
    if end <= start:
        raise CertificateError("La période d'utilisation doit finir après son début, dans la validité "
                               "du certificat.", "usage_until")
    cert = RegisteredCertificate(
        organisation_id=organisation.id, fingerprint=fingerprint, label=label,
        subject=leaf.subject.rfc4514_string()[:1000], issuer=leaf.issuer.rfc4514_string()[:1000],
        serial_hex=format(leaf.serial_number, "x")[:64], key_description=key_description(leaf),
        pem=leaf.public_bytes(serialization.Encoding.PEM).decode(),
        not_valid_before=nvb, not_valid_after=nva, usage_from=start, usage_until=end,
        uploaded_by_id=getattr(actor, "id", None), uploaded_at=utcnow(), files_verified=0)
    db.session.add(cert)
    db.session.flush()
    _audit("enregistre", cert, actor, sujet=cert.subject, debut=start.isoformat(), fin=end.isoformat())
    return cert


def approve_certificate(cert: RegisteredCertificate, *, actor: User | None) -> None:
    if cert.revoked_at is not None or cert.rejected_at is not None:
        raise CertificateError("Un certificat révoqué ou refusé ne peut pas être approuvé.", None)
    if cert.approved_at is not None:
        raise CertificateError("Ce certificat est déjà approuvé.", None)
    if utcnow() >= cert.end_of_use:
        raise CertificateError("Ce certificat est expiré : il ne peut plus être approuvé.", None)
    cert.approved_at = utcnow()
    cert.approved_by_id = getattr(actor, "id", None)
    _audit("approuve", cert, actor)


def reject_certificate(cert: RegisteredCertificate, *, actor: User, motif: str) -> None:
    motif = (motif or "").strip()
    if not motif:
        raise CertificateError("Indiquez le motif du refus.", "motif")
    if cert.approved_at is not None or cert.revoked_at is not None or cert.rejected_at is not None:
        raise CertificateError("Seul un certificat en attente peut être refusé (sinon : révoquer).", None)
    cert.rejected_at = utcnow()
    cert.rejected_by_id = actor.id
    cert.rejection_motif = motif[:2000]
    _audit("refuse", cert, actor, motif=cert.rejection_motif)


def revoke_certificate(cert: RegisteredCertificate, *, actor: User | None, motif: str,
                       at: datetime | None = None) -> None:
    """Revoke from ``at`` (default now): files received from then on are refused."""
    motif = (motif or "").strip()
    if not motif:
        raise CertificateError("Indiquez le motif de la révocation.", "motif")
    if cert.revoked_at is not None:
        raise CertificateError("Ce certificat est déjà révoqué.", None)
    cert.revoked_at = _naive(at) if at else utcnow()
    cert.revoked_by_id = getattr(actor, "id", None)
    cert.revocation_motif = motif[:2000]
    _audit("revoque", cert, actor, motif=cert.revocation_motif)


# --------------------------------------------------------------------------------------------
# Checks for the intake
# --------------------------------------------------------------------------------------------

def check_signer(organisation: Organisation, signer_cert: x509.Certificate,
                 at: datetime) -> RegisteredCertificate:
    """The signer certificate must be registered to ``organisation``, approved, not revoked and
    inside its usage window at ``at``. Raises SignatureError otherwise."""
    at_naive = _naive(at)
    fingerprint = certificate_fingerprint(signer_cert)
    cert = db.session.scalar(select(RegisteredCertificate).where(
        RegisteredCertificate.fingerprint == fingerprint,
        RegisteredCertificate.organisation_id == organisation.id))
    if cert is None:
        raise SignatureError("CERTIFICAT_NON_ENREGISTRE")
    if cert.revoked_at is not None and cert.revoked_at <= at_naive:
        raise SignatureError("CERTIFICAT_REVOQUE",
                             f"Le certificat du signataire a été révoqué le {cert.revoked_at:%d/%m/%Y}.")
    if cert.approved_at is None or cert.rejected_at is not None:
        raise SignatureError("CERTIFICAT_NON_APPROUVE")
    if not (cert.usage_from <= at_naive < cert.usage_until):
        raise SignatureError("CERTIFICAT_HORS_PERIODE",
                             f"Le certificat est enregistré pour la période du {cert.usage_from:%d/%m/%Y} "
                             f"au {cert.usage_until:%d/%m/%Y}.")
    return cert


def verify_file_signature(data_path, signature_der: bytes | None, organisation: Organisation,
                          at: datetime | None = None, trust_anchors=None) -> VerifiedSignature:
    """Full check of a received file's detached signature for ``organisation`` (see module doc)."""
    if not signature_der:
        raise SignatureError("SIGNATURE_ABSENTE")
    at = _aware(at or datetime.now(UTC))
    if trust_anchors is None:
        from portal.crypto.pki import trust_anchors as configured_anchors
        trust_anchors = configured_anchors()
    verified = verify_detached(data_path, signature_der, trust_anchors, at)
    registered = check_signer(organisation, verified.signer, at)
    return dataclasses.replace(verified, registered=registered)


def record_use(certificate_id: int) -> None:
    """Count a file whose signature this certificate verified (« Fichiers vérifiés » on the
    certificate page), in the caller's transaction: the intake calls it in the transaction that
    concludes the file, so that a file counts once whatever its redeliveries. One UPDATE adding
    1 in the database: workers verifying files at the same time add up, none overwrites another."""
    db.session.execute(update(RegisteredCertificate)
                       .where(RegisteredCertificate.id == certificate_id)
                       .values(files_verified=RegisteredCertificate.files_verified + 1)
                       .execution_options(synchronize_session=False))


# --------------------------------------------------------------------------------------------
# Queries and expiry warnings
# --------------------------------------------------------------------------------------------

def certificates_of(organisation_id: int) -> list[RegisteredCertificate]:
    return list(db.session.scalars(select(RegisteredCertificate)
                                   .where(RegisteredCertificate.organisation_id == organisation_id)
                                   .order_by(RegisteredCertificate.uploaded_at.desc(),
                                             RegisteredCertificate.id.desc())))


def pending_certificates() -> list[RegisteredCertificate]:
    return list(db.session.scalars(select(RegisteredCertificate).where(
        RegisteredCertificate.approved_at.is_(None), RegisteredCertificate.rejected_at.is_(None),
        RegisteredCertificate.revoked_at.is_(None)).order_by(RegisteredCertificate.uploaded_at)))


def expiring_certificates(now: datetime | None = None, days: int = EXPIRY_WARNING_DAYS,
                          organisation_id: int | None = None) -> list[RegisteredCertificate]:
    """Approved or pending, not revoked, whose end of use falls within ``days``."""
    now = _naive(now) if now else utcnow()
    limit = now + timedelta(days=days)
    query = select(RegisteredCertificate).where(
        RegisteredCertificate.revoked_at.is_(None), RegisteredCertificate.rejected_at.is_(None),
        RegisteredCertificate.usage_until > now, RegisteredCertificate.not_valid_after > now,
        (RegisteredCertificate.usage_until <= limit) | (RegisteredCertificate.not_valid_after <= limit))
    if organisation_id is not None:
        query = query.where(RegisteredCertificate.organisation_id == organisation_id)
    return list(db.session.scalars(query.order_by(RegisteredCertificate.usage_until)))


def caf_queue_counts(now: datetime | None = None, days: int = EXPIRY_WARNING_DAYS) -> tuple[int, int]:
    """(pending, expiring): how many `pending_certificates()` and `expiring_certificates()` would
    list, in one counting statement (the Caf's home panel shows the numbers only)."""
    now = _naive(now) if now else utcnow()
    limit = now + timedelta(days=days)
    C = RegisteredCertificate
    pending = C.approved_at.is_(None) & C.rejected_at.is_(None) & C.revoked_at.is_(None)
    expiring = (C.revoked_at.is_(None) & C.rejected_at.is_(None) & (C.usage_until > now) & (C.not_valid_after > now)
                & ((C.usage_until <= limit) | (C.not_valid_after <= limit)))
    row = db.session.execute(select(func.count().filter(pending), func.count().filter(expiring))).one()
    return int(row[0] or 0), int(row[1] or 0)


def has_successor(cert: RegisteredCertificate, now: datetime | None = None) -> bool:
    """Another approved certificate of the same organisation usable after this one ends (one
    still awaiting the Caf's approval is no successor yet: files signed with it are refused)."""
    now = _naive(now) if now else utcnow()
    others = db.session.scalars(select(RegisteredCertificate).where(
        RegisteredCertificate.organisation_id == cert.organisation_id,
        RegisteredCertificate.id != cert.id, RegisteredCertificate.revoked_at.is_(None),
        RegisteredCertificate.rejected_at.is_(None), RegisteredCertificate.approved_at.is_not(None)))
    return any(o.end_of_use > cert.end_of_use and o.usage_from <= cert.end_of_use for o in others)


def send_expiry_warnings(now: datetime | None = None) -> int:
    """Notify the organisation's partner admins (``edi.notifications``: email by default) once per certificate ending within 30 days with no
    successor registered. Returns the number of certificates warned about. Caller commits."""
    from .. import notifications
    now = _naive(now) if now else utcnow()
    warned = 0
    for cert in expiring_certificates(now):
        if cert.expiry_warned_at is not None or has_successor(cert, now):
            continue
        admins = db.session.scalars(select(User).where(
            User.organisation_id == cert.organisation_id, User.role == "partner_admin",
            User.disabled_at.is_(None))).all()
        notifications.certificate_expiring(cert, admins)
        cert.expiry_warned_at = now
        record_event("edi", "certificat_alerte_expiration", actor=None,
                     organisation_id=cert.organisation_id, target=f"certificat:{cert.id}",
                     fin=cert.end_of_use.isoformat(), destinataires=len(admins))
        warned += 1
    return warned
