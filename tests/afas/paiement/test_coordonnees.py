"""The partner's bank details (#21): recorded by the Caf agent with an audit entry that masks the
IBAN, copied on the order lines when the order is produced, and what is due held without them."""
import json
from datetime import date

import pytest
from sqlalchemy import select

from afas.paiement import coordonnees, services as paiement
from afas.paiement.models import CoordonneesBancaires, LignePaiement
from portal.audit import AuditEntry
from portal.extensions import db

from .conftest import IBAN

NEW_IBAN = "DE89370400440532013000"


def _entries(w):
    return list(db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "reference_bancaire_enregistree",
        AuditEntry.target == f"organisation:{w.org.id}").order_by(AuditEntry.id)))


def test_every_change_is_audited_with_the_iban_masked(paiement_world):
    w = paiement_world
    first = _entries(w)[-1]
    assert first.actor_user_id == w.agent.id and first.at is not None
    assert first.details["iban_avant"] is None and first.details["iban"] == "FR76 •••• 0189"
    coordonnees.record_bank_details(w.org, "de89 3704 0044 0532 0130 00", "cobadeffxxx", "Crèche  Les Lutins SAS",
                                    w.agent)
    change = _entries(w)[-1]
    assert change.id != first.id
    assert change.details["iban_avant"] == "FR76 •••• 0189" and change.details["iban"] == "DE89 •••• 3000"
    assert change.details["bic"] == "COBADEFFXXX" and change.details["titulaire"] == "Crèche Les Lutins SAS"
    assert change.details["titulaire_avant"] == "Crèche Les Lutins"
    for entry in _entries(w):
        dumped = json.dumps(entry.details, ensure_ascii=False)
        assert IBAN not in dumped and NEW_IBAN not in dumped and "0112 3456" not in dumped
    row = coordonnees.coordonnees_of(w.org.id)
    assert row.iban == NEW_IBAN and row.iban_masque == "DE89 •••• 3000"


def test_the_same_details_again_write_nothing(paiement_world):
    w = paiement_world
    before = len(_entries(w))
    coordonnees.record_bank_details(w.org, "FR76 3000 6000 0112 3456 7890 189", "", "Crèche Les Lutins", w.agent)
    assert len(_entries(w)) == before


@pytest.mark.parametrize(("iban", "bic", "titulaire", "field"), [
    ("FR7630006000011234567890188", "", "Crèche", "iban"),
    (IBAN, "AGRI", "Crèche", "bic"),
    (IBAN, "", "   ", "titulaire"),
    (IBAN, "", "x" * 71, "titulaire"),
])
def test_bad_details_are_refused_and_nothing_changes(paiement_world, iban, bic, titulaire, field):
    w = paiement_world
    with pytest.raises(coordonnees.CoordonneesRefused) as refused:
        coordonnees.record_bank_details(w.org, iban, bic, titulaire, w.agent)
    assert refused.value.field == field
    assert coordonnees.coordonnees_of(w.org.id).iban == IBAN


def test_without_a_valid_iban_lines_are_held_and_listed(paiement_world):
    w = paiement_world
    row = coordonnees.coordonnees_of(w.org.id)
    row.iban, row.reference = None, "ANCIENNE-REF"   # a row from before the IBAN was entered here
    db.session.flush()
    held = coordonnees.held_items(w.march)
    assert held and {h.motif for h in held} == {"En attente de coordonnées bancaires"}
    assert {h.organisation.id for h in held} == {w.org.id}
    assert any(h.libelle == "Acompte n° 1" and h.montant > 0 for h in held)
    assert paiement.produce_order(on=w.march) is None
    assert all(a.status == "programme" for a in w.prev_creche.acomptes)
    coordonnees.record_bank_details(w.org, IBAN, None, "Crèche Les Lutins", w.agent)
    assert coordonnees.held_items(w.march) == []
    ordre = paiement.produce_order(on=w.march)
    assert ordre is not None and {x.iban_reference for x in ordre.lignes} == {IBAN}


def test_a_partner_without_siret_is_held_for_that_reason(paiement_world):
    w = paiement_world
    w.org.siret = None
    db.session.flush()
    assert {h.motif for h in coordonnees.held_items(w.march)} == {"En attente du SIRET du partenaire"}


def test_an_order_carries_the_iban_in_force_when_it_is_produced(paiement_world):
    w = paiement_world
    first = paiement.produce_order(on=w.march)
    assert {x.iban_reference for x in first.lignes} == {IBAN}
    coordonnees.record_bank_details(w.org, NEW_IBAN, None, "Crèche Les Lutins", w.agent)
    db.session.refresh(first)
    assert {x.iban_reference for x in first.lignes} == {IBAN}          # produced: unchanged
    assert NEW_IBAN.encode() not in first.xml
    later = paiement.produce_order(on=date(2026, 12, 31))
    assert later is not None and {x.iban_reference for x in later.lignes} == {NEW_IBAN}
    assert db.session.query(LignePaiement).filter_by(iban_reference=NEW_IBAN).count() == len(later.lignes)
    assert db.session.query(CoordonneesBancaires).count() == 1
