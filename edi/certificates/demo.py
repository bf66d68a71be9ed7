"""Demo data: Picardie Habitat's demo signing certificate (VAR_DIR/pki), registered and approved."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from portal.extensions import db
from portal.models import Organisation, User


def seed_demo_certificate() -> int:
    from portal.crypto.pki import ensure_demo_pki
    from portal.crypto.signature import certificate_fingerprint, load_certificates
    from . import services
    from .models import RegisteredCertificate
    org = db.session.scalar(select(Organisation).where(Organisation.code_bailleur == "BL080001"))
    if org is None:
        return 0
    pki = ensure_demo_pki(current_app.config["VAR_DIR"])
    pem = pki.path("bailleur_cert").read_bytes()
    fingerprint = certificate_fingerprint(load_certificates(pem)[0])
    if db.session.scalar(select(RegisteredCertificate.id).where(RegisteredCertificate.fingerprint == fingerprint)):
        return 0
    admin = db.session.scalar(select(User).where(User.email == "admin@picardie-habitat.example"))
    caf_admin = db.session.scalar(select(User).where(User.email == "admin.caf@caf80.example"))
    cert = services.register_certificate(org, pem, actor=admin, label="Certificat de démonstration")
    services.approve_certificate(cert, actor=caf_admin)
    db.session.commit()
    return 1
