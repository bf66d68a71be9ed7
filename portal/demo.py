"""Demo data: one organisation and one user per role, documented in the README.

Idempotent: every object is looked up by a natural key before being created. Domains declare
(``portal.registry.Domain``) their contracts and habilitations on these organisations and users
(``demo_access``) and their own demo data steps (``seed``: ``fn()`` returns how many objects it
made, run in registration order after the shell's).
Demo accounts share a documented password and TOTP secret: demo only, refused in production.
"""
from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import select

from . import registry
from .extensions import db
from .models import Contrat, Habilitation, Organisation, User, utcnow
from .passwords import hash_password
from portal.dates import naive_utc

DEMO_PASSWORD = "Demo-Partenaires-2026"
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

ORGANISATIONS = [
    # nom, kind, siret, code_bailleur, territoire (contracts: the domains' demo_access)
    ("Caf de la Somme", "caf", "53488987700018", None, "80"),
    ("Commune d'Amiens", "collectivite", "21800021900014", None, "80"),
    ("Picardie Habitat", "bailleur", "38156839400042", "BL080001", "80"),
    ("Conseil départemental de la Somme", "conseil_departemental", "22800001800017", None, "80"),
]

USERS = [
    # email, prenom, nom, role, organisation (habilitations: the domains' demo_access)
    ("admin.caf@caf80.example", "Hélène", "Dufresne", "caf_admin", "Caf de la Somme"),
    ("agent.caf@caf80.example", "Karim", "Benali", "caf_agent", "Caf de la Somme"),
    ("gestionnaire@amiens.example", "Sophie", "Martin", "partner_manager", "Commune d'Amiens"),
    ("admin@amiens.example", "Julien", "Lefebvre", "partner_admin", "Commune d'Amiens"),
    ("operateur@picardie-habitat.example", "Nadia", "Moreau", "bailleur_operator", "Picardie Habitat"),
    ("admin@picardie-habitat.example", "Thomas", "Roux", "partner_admin", "Picardie Habitat"),
    ("ts@somme.example", "Claire", "Petit", "travailleur_social", "Conseil départemental de la Somme"),
    ("ccapex@somme.example", "Marc", "Garnier", "travailleur_social", "Conseil départemental de la Somme"),
    ("responsable@somme.example", "Isabelle", "Lambert", "travailleur_social", "Conseil départemental de la Somme"),
    ("qf@amiens.example", "Lucie", "Bernard", "partner_manager", "Commune d'Amiens"),
]


def demo_contrats(nom: str) -> dict[str, list[str]]:
    """{service: profils} of a demo organisation, as the domains declared them."""
    return {a.service: list(a.contrats[nom]) for a in registry.current().demo_access if nom in a.contrats}


def demo_habilitations(email: str) -> dict[str, str | None]:
    """{service: profil} of a demo user, as the domains declared them."""
    return {a.service: a.habilitations[email] for a in registry.current().demo_access
            if email in a.habilitations}


def get_or_create_organisation(nom, kind, siret, code_bailleur, territoire, contrats) -> tuple[Organisation, int]:
    org = db.session.scalar(select(Organisation).where(Organisation.nom == nom))
    created = 0
    if org is None:
        org = Organisation(nom=nom, kind=kind, siret=siret, code_bailleur=code_bailleur,
                           territoire=territoire, convention_ref=f"CONV-{territoire}-{siret[-5:]}",
                           convention_signee_le=naive_utc(datetime(2024, 1, 15, tzinfo=UTC)))
        db.session.add(org)
        created += 1
    for service, profiles in contrats.items():
        if not any(c.service == service for c in org.contrats):
            org.contrats.append(Contrat(service=service, profils=profiles, debut=naive_utc(datetime(2024, 1, 15, tzinfo=UTC))))
            created += 1
    db.session.flush()
    return org, created


def seed_demo() -> int:
    if not current_app.config["DEMO_MODE"]:
        raise RuntimeError("Les données de démonstration sont refusées hors DEMO_MODE (production).")
    created = 0
    orgs = {}
    for nom, kind, siret, code, territoire in ORGANISATIONS:
        orgs[nom], n = get_or_create_organisation(nom, kind, siret, code, territoire, demo_contrats(nom))
        created += n
    password_hash = None
    for email, prenom, nom, role, org_name in USERS:
        user = db.session.scalar(select(User).where(User.email == email))
        if user is not None:
            continue
        password_hash = password_hash or hash_password(DEMO_PASSWORD)
        user = User(email=email, prenom=prenom, nom=nom, role=role, organisation=orgs[org_name],
                    password_hash=password_hash, password_changed_at=utcnow())
        for service, profil in demo_habilitations(email).items():
            user.habilitations.append(Habilitation(service=service, profil=profil))
        if user.mfa_required or role in ("caf_admin", "caf_agent", "partner_admin"):
            user.totp_secret = DEMO_TOTP_SECRET
            user.mfa_enrolled_at = utcnow()
        db.session.add(user)
        created += 1
    db.session.commit()
    from .notifications import demo as notifications_demo
    published_before = notifications_demo.last_id()
    for step in registry.current().seed:
        created += step() or 0
        db.session.commit()
    notifications_demo.settle(published_before)  # past years' history: not dozens of unread
    db.session.commit()
    return created
