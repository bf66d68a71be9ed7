"""Demo data of the web declarations: a private landlord (an organisation of one, no SIRET: a
natural person whose identity the Caf checked at account opening) with its one account, the
BAILLEUR contract on Picardie Habitat too (a landlord on EDI may use both), and a draft and a
sent unpaid-rent report on one of the private landlord's tenants known to CDAP."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from portal.dates import add_months, naive_utc
from portal.dates import today as paris_today
from portal.extensions import db
from portal.formatting import decimal_centimes
from portal.models import Contrat, Habilitation, Organisation, User, utcnow
from portal.registry import DemoAccess

PRIVATE_NAME = "Jean Dupuis (bailleur particulier)"
PRIVATE_EMAIL = "proprietaire@dupuis.example"
PRIVATE_CODE = "BL080005"  # a private landlord of the synthetic CDAP world (cdap.generator)

ACCESS = DemoAccess("BAILLEUR", contrats={"Picardie Habitat": []},
                    habilitations={"operateur@picardie-habitat.example": None})


def seed_private_landlord() -> int:
    from portal.demo import DEMO_PASSWORD
    from portal.passwords import hash_password
    created = 0
    org = db.session.scalar(select(Organisation).where(Organisation.nom == PRIVATE_NAME))
    if org is None:
        org = Organisation(nom=PRIVATE_NAME, kind="bailleur", siret=None, code_bailleur=PRIVATE_CODE,
                           territoire="80", convention_ref="CONV-80-PARTICULIER-0001",
                           convention_signee_le=naive_utc(datetime(2025, 3, 3, tzinfo=UTC)))
        org.contrats.append(Contrat(service="BAILLEUR", profils=[],
                                    debut=naive_utc(datetime(2025, 3, 3, tzinfo=UTC))))
        db.session.add(org)
        created += 1
    user = db.session.scalar(select(User).where(User.email == PRIVATE_EMAIL))
    if user is None:
        user = User(email=PRIVATE_EMAIL, prenom="Jean", nom="Dupuis", role="bailleur_operator",
                    organisation=org, password_hash=hash_password(DEMO_PASSWORD),
                    password_changed_at=utcnow())
        user.habilitations.append(Habilitation(service="BAILLEUR", profil=None))
        db.session.add(user)
        created += 1
    db.session.flush()
    return created + _seed_declarations(org, user)


def demo_tenant(code_bailleur: str = PRIVATE_CODE) -> dict | None:
    """A tenant of the private landlord (first by code locataire) with its known rent, or None."""
    from .. import adapters
    return adapters.first_tenant(code_bailleur)


def _seed_declarations(org: Organisation, user: User) -> int:
    from .models import DeclarationBailleur
    from . import services
    if db.session.scalar(select(DeclarationBailleur.id).where(DeclarationBailleur.organisation_id == org.id)):
        return 0
    tenant = demo_tenant()
    if tenant is None:
        return 0
    today = paris_today()
    mensuel = tenant["loyer_cents"] + tenant["charges_cents"]
    start = add_months(today.replace(day=1), -3)
    constitution = add_months(start, 2)
    saisie = {"nom": tenant["nom"], "numero_allocataire": tenant["numero_allocataire"], "code_locataire": "",
              "adresse": tenant["adresse"], "loyer": decimal_centimes(tenant["loyer_cents"]),
              "charges": decimal_centimes(tenant["charges_cents"]), "dette": decimal_centimes(3 * mensuel),
              "periode_debut": start.isoformat(), "periode_fin": (today.replace(day=1) - timedelta(days=1)).isoformat(),
              "date_constitution": constitution.isoformat(), "nb_relances": "2",
              "derniere_relance": (today - timedelta(days=10)).isoformat(), "plan_apurement": "oui"}
    sent = services.create_draft(org, user, "IMPAYE", saisie)
    if services.verify(sent, today).ok:
        services.send(sent, user)
    services.create_draft(org, user, "LOYER", {
        "nom": tenant["nom"], "numero_allocataire": tenant["numero_allocataire"], "code_locataire": "",
        "loyer": decimal_centimes(tenant["loyer_cents"] + 1200), "charges": decimal_centimes(tenant["charges_cents"]),
        "date_effet": today.replace(month=7, day=1).isoformat(), "nb_colocataires": ""})
    return 2


