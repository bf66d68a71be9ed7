"""Landlords' EDI signing certificates: registration (partner admin), approval (Caf admin),
usage windows for key rollover, expiry warnings, revocation; and the signature checks the
intake uses (``edi.certificates.services.verify_file_signature``). Its pages, home panel,
periodic task and demo certificate are declared with the rest of EDI (``edi.register``)."""
from __future__ import annotations

from flask import url_for

from portal.formatting import accord

from .services import (  # noqa: F401  (public API for the intake)
    CertificateError, check_signer, register_certificate, verify_file_signature,
)


def register_and_approve(organisation, cert, *, actor=None, label: str = "Certificat de signature"):
    """Register ``cert`` (x509.Certificate or PEM bytes) for ``organisation`` and approve it at
    once (demo data, tests, operator scripts). Returns the RegisteredCertificate."""
    from cryptography.hazmat.primitives import serialization

    from .services import approve_certificate
    pem = cert if isinstance(cert, bytes) else cert.public_bytes(serialization.Encoding.PEM)
    registered = register_certificate(organisation, pem, actor=actor, label=label)
    approve_certificate(registered, actor=actor)
    return registered


def home_panel(user):
    """Home page panel: landlords see certificates ending soon / none usable; Caf staff see the
    approval queue."""
    from portal.models import utcnow

    from . import services
    if user.is_caf_staff:
        pending, expiring = services.caf_queue_counts()  # one counting statement, no rows loaded
        if not pending and not expiring:
            return None
        lines = []
        if pending:
            lines.append(f"{accord(pending, 'certificat')} de bailleur en attente d'approbation.")
        if expiring:
            lines.append(f"{accord(expiring, 'certificat')} de bailleur expire{'nt' if expiring > 1 else ''} dans les 30 jours.")
        return "edi_certs/panel.html", {"lines": lines, "warning": bool(pending),
                                        "link": url_for("edi_certs.caf_index")}
    if user.organisation.kind != "bailleur" or user.role not in ("partner_admin", "bailleur_operator"):
        return None
    now = utcnow()
    certs = services.certificates_of(user.organisation_id)
    usable = [c for c in certs if c.is_usable(now)]
    lines = []
    for cert in services.expiring_certificates(now, organisation_id=user.organisation_id):
        if not services.has_successor(cert, now):
            lines.append(f"Le certificat « {cert.label} » ne pourra plus signer après le "
                         f"{cert.end_of_use:%d/%m/%Y} : enregistrez son successeur.")
    if not usable:
        lines.append("Aucun certificat approuvé utilisable : vos fichiers EDI seront rejetés.")
    if not lines:
        return None
    return "edi_certs/panel.html", {"lines": lines, "warning": True, "link": url_for("edi_certs.index")}

