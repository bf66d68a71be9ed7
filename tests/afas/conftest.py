from datetime import date, datetime
from types import SimpleNamespace

import pytest

from afas import services
from afas.models import ConventionFinancement, Equipement
from portal.extensions import db

from .helpers import eaje


def sign_convention(eq, debut=date(2020, 1, 1), fin=date(2030, 12, 31)) -> ConventionFinancement:
    """A signed convention d'objectifs et de financement (transmissions need one covering the year)."""
    row = ConventionFinancement(equipement_id=eq.id, reference=f"COF-{eq.numero}", debut=debut, fin=fin,
                                signee_le=debut, document=b"%PDF-1.4 test", document_nom="cof.pdf",
                                document_sha256="0" * 64)
    db.session.add(row)
    db.session.flush()
    db.session.expire(eq, ["conventions"])
    return row


def eaje_draft_under_convention(world, nom: str, numero: str, debut: date, fin: date):
    """A new EAJE of the world's partner with a signed convention (debut–fin) and a saved
    prévisionnel 2025 draft: the starting point of the convention-gate tests."""
    eq = Equipement(organisation_id=world.org.id, type="EAJE", nom=nom, numero=numero)
    db.session.add(eq)
    db.session.flush()
    sign_convention(eq, debut, fin)
    decl = services.create_declaration(eq, 2025, "previsionnel", world.manager)
    services.save_draft(decl, eaje(), {}, world.manager)
    return eq, decl


@pytest.fixture
def afas_world(factory):
    """A Caf with an AFAS agent; a partner with a manager, an admin, an EAJE (with a validated
    prévisionnel 2025 whose two acomptes were paid) and an ALSH; another partner organisation."""
    caf = factory.caf()
    agent = factory.user(caf, "caf_agent", habilitations={"AFAS": None})
    admin_caf = factory.user(caf, "caf_admin")
    org = factory.organisation("collectivite", services={"AFAS": []})
    manager = factory.user(org, "partner_manager", habilitations={"AFAS": None})
    partner_admin = factory.user(org, "partner_admin")
    other_org = factory.organisation("association", services={"AFAS": []})
    other_manager = factory.user(other_org, "partner_manager", habilitations={"AFAS": None})
    n = org.id
    creche = Equipement(organisation_id=org.id, type="EAJE", nom="Crèche Les Lutins", numero=f"EAJE-T{n}")
    alsh = Equipement(organisation_id=org.id, type="ALSH", nom="Centre de loisirs", numero=f"ALSH-T{n}",
                      activite="extrascolaire")
    other = Equipement(organisation_id=other_org.id, type="RPE", nom="Relais voisin", numero=f"RPE-T{other_org.id}")
    db.session.add_all([creche, alsh, other])
    db.session.flush()
    for eq in (creche, alsh, other):
        sign_convention(eq)
    prev = services.create_declaration(creche, 2025, "previsionnel", manager)
    services.save_draft(prev, eaje(), {}, manager)
    services.transmit(prev, manager, now=datetime(2025, 1, 10, 9, 0))
    services.validate(prev, agent, now=datetime(2025, 1, 20, 14, 0))
    services.pay_due_acomptes(on=date(2025, 12, 31))
    db.session.flush()
    return SimpleNamespace(caf=caf, agent=agent, admin_caf=admin_caf, org=org, manager=manager,
                           partner_admin=partner_admin, other_org=other_org, other_manager=other_manager,
                           creche=creche, alsh=alsh, other=other, prev=prev)


def csrf(client, path):
    from tests.support.factories import csrf_token
    return csrf_token(client, path)
