"""Conventions gate transmission; the Caf validates the territoire; barème imports are versions (#21)."""
import copy
import json
from datetime import date, datetime

import pytest
from sqlalchemy import select

from afas import conventions, services
from afas.bareme import BaremeError, file_baremes
from afas.bareme_versions import diff_docs, versions_of
from afas.models import ConventionFinancement, Equipement
from portal.extensions import db
from portal.audit import AuditEntry

from .conftest import sign_convention as sign
from .helpers import eaje

PDF = b"%PDF-1.4 convention signee"


def _equipement(w, numero="EAJE-C1"):
    eq = Equipement(organisation_id=w.org.id, type="EAJE", nom="Crèche sans convention", numero=numero)
    db.session.add(eq)
    db.session.flush()
    return eq


def _draft(w, eq, annee=2025):
    decl = services.create_declaration(eq, annee, "previsionnel", w.manager)
    services.save_draft(decl, eaje(), {}, w.manager)
    return decl


def test_no_convention_covering_the_exercice_no_transmission_with_a_clear_message(afas_world):
    """Under a convention in force (the service is active) the exercice must still be covered."""
    w = afas_world
    eq = _equipement(w)
    sign(eq, date(2026, 1, 1), date(2030, 12, 31))
    decl = _draft(w, eq, 2025)
    with pytest.raises(services.ActionRefused) as refused:
        services.transmit(decl, w.manager, now=datetime(2026, 3, 10, 9, 0))
    assert "n'a pas de convention d'objectifs et de financement signée couvrant l'exercice 2025" \
        in refused.value.message
    assert decl.status == "brouillon" and not decl.versions


def test_a_recorded_convention_counts_only_once_its_signed_document_is_uploaded(afas_world):
    w = afas_world
    eq = _equipement(w)
    conv = conventions.record_convention(eq, "COF-2025-01", date(2025, 1, 1), date(2028, 12, 31), w.agent,
                                         on=date(2025, 1, 5))
    db.session.expire(eq, ["conventions"])
    with pytest.raises(services.ActionRefused) as refused:
        _draft(w, eq)
    assert refused.value.status == 409
    assert "COF-2025-01 est enregistrée mais son exemplaire signé n'a pas encore été déposé" in refused.value.message
    conventions.upload_signed(conv, "cof.pdf", PDF, date(2025, 1, 3), w.agent, on=date(2025, 1, 5))
    assert conv.signee and len(conv.document_sha256) == 64
    decl = _draft(w, eq)
    version = services.transmit(decl, w.manager, now=datetime(2025, 1, 10, 9, 0))
    assert version.numero == 1
    actions = set(db.session.scalars(select(AuditEntry.action).where(AuditEntry.category == "afas")))
    assert {"convention_enregistree", "convention_signee_deposee"} <= actions


def test_a_convention_must_cover_the_exercice(afas_world):
    w = afas_world
    eq = _equipement(w)
    conv = conventions.record_convention(eq, "COF-ANCIENNE", date(2020, 1, 1), date(2023, 12, 31), w.agent,
                                         on=date(2025, 1, 5))
    conventions.upload_signed(conv, "cof.pdf", PDF, date(2020, 1, 2), w.agent, on=date(2025, 1, 5))
    db.session.expire(eq, ["conventions"])
    assert conventions.convention_for(eq, 2023) is conv and conventions.convention_for(eq, 2024) is None
    with pytest.raises(services.ActionRefused):
        services.transmit(_draft(w, eq), w.manager, now=datetime(2025, 1, 10, 9, 0))


@pytest.mark.parametrize("debut, fin, field, words", [
    (date(2025, 1, 1), date(2125, 12, 31), "fin", "à plus de 6 ans"),
    (date(2205, 1, 1), date(2206, 1, 1), "debut", "vérifiez l'année saisie"),
    (date(1925, 1, 1), date(2026, 1, 1), "debut", "dans le passé"),
    (date(2026, 1, 1), date(2025, 1, 1), "fin", "finir après son début"),
    (None, date(2026, 1, 1), "debut", "obligatoire"),
])
def test_far_or_wrong_dates_are_refused_at_entry(afas_world, debut, fin, field, words):
    with pytest.raises(conventions.ConventionRefused) as refused:
        conventions.record_convention(afas_world.creche, "COF-X", debut, fin, afas_world.agent, on=date(2025, 6, 1))
    assert refused.value.field == field and words in refused.value.message


def test_signed_document_must_be_a_pdf_signed_in_the_past(afas_world):
    w = afas_world
    conv = conventions.record_convention(w.creche, "COF-Y", date(2025, 1, 1), date(2028, 12, 31), w.agent,
                                         on=date(2025, 1, 5))
    with pytest.raises(conventions.ConventionRefused, match="PDF"):
        conventions.upload_signed(conv, "cof.docx", b"PK\x03\x04", date(2025, 1, 2), w.agent, on=date(2025, 1, 5))
    with pytest.raises(conventions.ConventionRefused, match="futur"):
        conventions.upload_signed(conv, "cof.pdf", PDF, date(2025, 2, 1), w.agent, on=date(2025, 1, 5))


def test_renewal_alert_90_days_ahead_until_a_successor_is_signed(afas_world):
    w = afas_world
    eq = _equipement(w)
    conv = ConventionFinancement(equipement_id=eq.id, reference="COF-FIN", debut=date(2022, 1, 1),
                                 fin=date(2025, 12, 31), signee_le=date(2022, 1, 1), document_sha256="a" * 64)
    db.session.add(conv)
    db.session.flush()
    db.session.expire(eq, ["conventions"])
    assert conventions.a_renouveler([eq], on=date(2025, 10, 1)) == []          # 91 days before the end
    assert conventions.a_renouveler([eq], on=date(2025, 10, 2)) == [conv]      # 90 days
    nxt = ConventionFinancement(equipement_id=eq.id, reference="COF-SUITE", debut=date(2026, 1, 1),
                                fin=date(2029, 12, 31))
    db.session.add(nxt)
    db.session.flush()
    db.session.expire(eq, ["conventions"])
    assert conventions.a_renouveler([eq], on=date(2025, 11, 1)) == [conv]      # successor not signed yet
    nxt.signee_le, nxt.document_sha256 = date(2025, 11, 2), "b" * 64
    assert conventions.a_renouveler([eq], on=date(2025, 11, 3)) == []


def test_territoire_validated_by_the_caf_feeds_the_bonus(afas_world):
    w = afas_world
    decl = services.create_declaration(w.creche, 2026, "previsionnel", w.manager)
    services.save_draft(decl, eaje(), {}, w.manager)
    before = services.evaluate_declaration(decl).droit.montant
    assert before == 305424.00   # 0,66 × 8,70 × 72 000 − 108 000 (2026 barème)
    conventions.record_territoire(w.creche, "QPV", False, 10, w.agent)
    assert w.creche.territoire == {"zone": "QPV", "ctg": False, "places": 10, "valide": True}
    after = services.evaluate_declaration(decl).droit   # 2026 barème: 1 200 € × 10 places (fictitious)
    assert after.montant == 305424.00 + 12000
    assert any(s.label == "Bonus territoire" and "QPV" in s.detail for s in after.etapes)
    with pytest.raises(conventions.ConventionRefused, match="QPV, ZRR"):
        conventions.record_territoire(w.creche, "ZUS", False, 10, w.agent)
    with pytest.raises(conventions.ConventionRefused, match="Places créées"):
        conventions.record_territoire(w.creche, None, True, None, w.agent)


def test_a_reel_2024_transmitted_in_2025_uses_the_2024_band_rule(afas_world):
    w = afas_world
    decl = services.create_declaration(w.creche, 2024, "reel", w.manager)
    data = eaje(heures_facturees=86400, participations_familiales=120000)   # 120 %: last band of 2024
    ev = services.save_draft(decl, data, {}, w.manager)
    services.save_draft(decl, data, {c.code: "Justifié." for c in ev.alertes}, w.manager)
    version = services.transmit(decl, w.manager, now=datetime(2025, 2, 1, 9, 0))
    assert version.bareme_annee == 2024 and version.montant == 248280.00
    assert "plafond de la tranche" in version.droit["etapes"][2]["calcul"]


def test_reimporting_a_barème_keeps_every_version_and_frozen_droits(afas_world):
    w = afas_world
    doc = copy.deepcopy(file_baremes()[2026].doc)
    first = services.import_bareme(json.dumps(doc), w.admin_caf, source="v1.json")
    assert first.annee == 2026
    decl = services.create_declaration(w.creche, 2026, "previsionnel", w.manager)
    services.save_draft(decl, eaje(), {}, w.manager)
    version = services.transmit(decl, w.manager, now=datetime(2026, 1, 10, 9, 0))
    services.validate(decl, w.agent, now=datetime(2026, 1, 20, 9, 0))
    v1 = versions_of(2026)[0]
    assert version.bareme_version_id == v1.id and v1.diff == []   # same values as the shipped file
    doc["eaje"]["prix_plafond_horaire"]["avec_couches_repas"] = 9.9
    services.import_bareme(json.dumps(doc), w.admin_caf, source="v2.json")
    v2, again = versions_of(2026)[:2]
    assert (v2.numero, again.numero) == (2, 1) and again.doc["eaje"]["prix_plafond_horaire"]["avec_couches_repas"] == 8.7
    assert v2.diff == [{"cle": "eaje.prix_plafond_horaire.avec_couches_repas", "avant": 8.7, "apres": 9.9}]
    assert v2.imported_by_id == w.admin_caf.id and v2.imported_at is not None
    assert services.get_bareme(2026).version_id == v2.id
    db.session.refresh(decl)
    assert decl.last_version.bareme_version_id == v1.id and decl.droit == version.montant   # kept


def test_an_import_revaluing_the_floor_before_2027_is_refused(afas_world):
    doc = copy.deepcopy(file_baremes()[2026].doc)
    doc["eaje"]["taux_facturation"]["prix_plancher_horaire"]["avec_couches_repas"] = 7.83
    with pytest.raises(BaremeError) as refused:
        services.import_bareme(json.dumps(doc), afas_world.admin_caf)
    assert "n'est pas revalorisé avant 2027" in str(refused.value)
    assert versions_of(2026) == []


def test_diff_lists_added_removed_and_changed_leaves():
    assert diff_docs({"a": 1, "b": {"c": 2}}, {"a": 1, "b": {"c": 3}, "d": [4]}) == [
        {"cle": "b.c", "avant": 2, "apres": 3}, {"cle": "d[0]", "avant": None, "apres": 4}]
    assert diff_docs(None, {"x": 1}) == [{"cle": "x", "avant": None, "apres": 1}]
