import pytest

from afas.models import Declaration, DeclarationVersion, Equipement
from portal.extensions import db


def make_version(factory):
    org = factory.organisation(services={"AFAS": []})
    eq = Equipement(organisation_id=org.id, type="RPE", nom="Relais", numero=f"RPE-{org.id}")
    db.session.add(eq)
    db.session.flush()
    decl = Declaration(equipement_id=eq.id, annee=2025, type="reel", status="transmise", data={})
    db.session.add(decl)
    db.session.flush()
    version = DeclarationVersion(declaration_id=decl.id, numero=1, data={"etp_animateur": 2}, controles=[],
                                 justifications={}, droit={"montant": 43000.0}, bareme_annee=2025, late=False)
    from portal.models import utcnow
    version.created_at = utcnow()
    version.content_hash = version.compute_hash()
    db.session.add(version)
    db.session.flush()
    return version


def test_version_hash_covers_the_content(factory):
    version = make_version(factory)
    assert len(version.content_hash) == 64
    assert version.compute_hash() == version.content_hash
    version.data = {"etp_animateur": 3}
    assert version.compute_hash() != version.content_hash


def test_versions_cannot_be_updated_or_deleted(factory):
    version = make_version(factory)
    version.justifications = {"X": "changed"}
    with pytest.raises(ValueError, match="immuable"):
        db.session.flush()
    db.session.rollback()
    version = make_version(factory)
    db.session.delete(version)
    with pytest.raises(ValueError, match="supprimée"):
        db.session.flush()
    db.session.rollback()
