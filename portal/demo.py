"""Demo data: one organisation and one user per role, documented in the README.

Idempotent: every object is looked up by a natural key before being created. Domains add
their own demo data with `add_demo_seeder(app, fn)`; `fn()` returns how many objects it made.
Demo accounts share a documented password and TOTP secret: demo only, refused in production.
"""
from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import select

from .extensions import db
from .models import Contrat, Habilitation, Organisation, User, utcnow
from .passwords import hash_password

DEMO_PASSWORD = "Demo-Partenaires-2026"
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
SEEDERS_KEY = "demo_seeders"

ORGANISATIONS = [
    # nom, kind, siret, code_bailleur, territoire, contrats {service: cdap_profiles}
    ("Caf de la Somme", "caf", "53488987700018", None, "80",
     {"AFAS": [], "CDAP": ["agent_caf"], "EDI": []}),
    ("Commune d'Amiens", "collectivite", "21800021900014", None, "80",
     {"AFAS": [], "CDAP": ["quotient_familial"]}),
    ("Picardie Habitat", "bailleur", "38156839400042", "BL080001", "80",
     {"EDI": [], "CDAP": ["bailleur"]}),
    ("Conseil départemental de la Somme", "conseil_departemental", "22800001800017", None, "80",
     {"CDAP": ["travailleur_social", "prevention_expulsions"]}),
]

USERS = [
    # email, prenom, nom, role, organisation, {service: cdap_profile}
    ("admin.caf@caf80.example", "Hélène", "Dufresne", "caf_admin", "Caf de la Somme", {}),
    ("agent.caf@caf80.example", "Karim", "Benali", "caf_agent", "Caf de la Somme",
     {"AFAS": None, "CDAP": "agent_caf", "EDI": None}),
    ("gestionnaire@amiens.example", "Sophie", "Martin", "partner_manager", "Commune d'Amiens",
     {"AFAS": None}),
    ("admin@amiens.example", "Julien", "Lefebvre", "partner_admin", "Commune d'Amiens", {}),
    ("operateur@picardie-habitat.example", "Nadia", "Moreau", "bailleur_operator", "Picardie Habitat",
     {"EDI": None, "CDAP": "bailleur"}),
    ("admin@picardie-habitat.example", "Thomas", "Roux", "partner_admin", "Picardie Habitat", {}),
    ("ts@somme.example", "Claire", "Petit", "travailleur_social", "Conseil départemental de la Somme",
     {"CDAP": "travailleur_social"}),
    ("ccapex@somme.example", "Marc", "Garnier", "travailleur_social", "Conseil départemental de la Somme",
     {"CDAP": "prevention_expulsions"}),
    ("qf@amiens.example", "Lucie", "Bernard", "partner_manager", "Commune d'Amiens",
     {"CDAP": "quotient_familial"}),
]


def add_demo_seeder(app, fn) -> None:
    app.extensions.setdefault(SEEDERS_KEY, []).append(fn)


def get_or_create_organisation(nom, kind, siret, code_bailleur, territoire, contrats) -> tuple[Organisation, int]:
    org = db.session.scalar(select(Organisation).where(Organisation.nom == nom))
    created = 0
    if org is None:
        org = Organisation(nom=nom, kind=kind, siret=siret, code_bailleur=code_bailleur,
                           territoire=territoire, convention_ref=f"CONV-{territoire}-{siret[-5:]}",
                           convention_signee_le=datetime(2024, 1, 15))
        db.session.add(org)
        created += 1
    for service, profiles in contrats.items():
        if not any(c.service == service for c in org.contrats):
            org.contrats.append(Contrat(service=service, cdap_profiles=profiles, debut=datetime(2024, 1, 15)))
            created += 1
    db.session.flush()
    return org, created


def seed_demo() -> int:
    if not current_app.config["DEMO_MODE"]:
        raise RuntimeError("Les données de démonstration sont refusées hors DEMO_MODE (production).")
    created = 0
    orgs = {}
    for nom, kind, siret, code, territoire, contrats in ORGANISATIONS:
        orgs[nom], n = get_or_create_organisation(nom, kind, siret, code, territoire, contrats)
        created += n
    password_hash = None
    for email, prenom, nom, role, org_name, habs in USERS:
        user = db.session.scalar(select(User).where(User.email == email))
        if user is not None:
            continue
        password_hash = password_hash or hash_password(DEMO_PASSWORD)
        user = User(email=email, prenom=prenom, nom=nom, role=role, organisation=orgs[org_name],
                    password_hash=password_hash, password_changed_at=utcnow())
        for service, profile in habs.items():
            user.habilitations.append(Habilitation(service=service, cdap_profile=profile))
        if user.mfa_required or role in ("caf_admin", "caf_agent", "partner_admin"):
            user.totp_secret = DEMO_TOTP_SECRET
            user.mfa_enrolled_at = utcnow()
        db.session.add(user)
        created += 1
    db.session.commit()
    for seeder in current_app.extensions.get(SEEDERS_KEY, []):
        created += seeder() or 0
        db.session.commit()
    return created
