"""The hand-off end to end on the services: indu → offset → signed order (checked by the real
openssl) → return file with a paid and a rejected line → replay changes nothing."""
from __future__ import annotations

import subprocess
from datetime import date

import pytest
from lxml import etree

from afas.models import Acompte, Regularisation
from afas.paiement import services as paiement
from afas.paiement.models import LignePaiement, OrdrePaiement
from afas.paiement.xml import ReturnResult, build_return, order_schema
from portal.crypto.pki import ensure_demo_pki, sign_as_caf
from portal.extensions import db

from .conftest import IBAN


def _lines(ordre):
    return {(x.equipement_id, x.nature): x for x in ordre.lignes}


def test_a_negative_regularisation_creates_an_indu_with_its_notice(paiement_world):
    w = paiement_world
    reg = db.session.get(Regularisation, w.indu.regularisation_id)
    assert float(reg.solde) < 0
    assert w.indu.montant == round(-float(reg.solde) * 100) and w.indu.reste == w.indu.montant
    assert w.indu.status == "notifie"
    assert "de trop (indu)" in w.indu.avis and "Crèche Les Lutins" in w.indu.avis
    assert any(e.action == "indu_notifie" for e in w.reel.events)


def test_the_order_offsets_the_indu_and_verifies_with_openssl(paiement_world, app, tmp_path):
    w = paiement_world
    paiement.choose_recovery(w.indu, w.manager, compenser=True)
    ordre = paiement.produce_order(on=w.march)
    lines = _lines(ordre)
    creche, centre = lines[(w.creche.id, "acompte")], lines[(w.alsh.id, "acompte")]
    first = db.session.get(Acompte, creche.source_id)
    gross = round(float(first.montant) * 100)
    assert creche.montant_brut == gross
    assert creche.compensation == min(gross, w.indu.montant)
    assert creche.montant == gross - creche.compensation
    assert w.indu.reste == w.indu.montant - creche.compensation
    assert creche.siret == w.org.siret and creche.iban_reference == IBAN
    assert creche.declaration_id == w.prev_creche.id and creche.version_numero == 1
    assert first.status == "ordonne"
    # the file: valid, with its control total
    root = etree.fromstring(ordre.xml)
    order_schema().assertValid(root)
    control = root.find("{urn:caf:extranet:afas:paiement-ordre:1}Controle")
    assert int(control.get("nombreLignes")) == len(ordre.lignes) == 2
    assert int(control.get("totalVersementsCentimes")) == creche.montant + centre.montant
    # the real openssl verifies the detached signature against the Caf's CA
    pki = ensure_demo_pki(app.config["VAR_DIR"])
    (tmp_path / "ordre.xml").write_bytes(ordre.xml)
    (tmp_path / "ordre.xml.p7s").write_bytes(ordre.signature)
    result = subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER",
                             "-in", str(tmp_path / "ordre.xml.p7s"), "-content", str(tmp_path / "ordre.xml"),
                             "-CAfile", str(pki.path("ca_cert")), "-out", "/dev/null"],
                            capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    # a tampered file does not verify
    (tmp_path / "ordre.xml").write_bytes(ordre.xml.replace(IBAN.encode(), b"FR7699999999999999999999999"))
    tampered = subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER",
                               "-in", str(tmp_path / "ordre.xml.p7s"), "-content", str(tmp_path / "ordre.xml"),
                               "-CAfile", str(pki.path("ca_cert")), "-out", "/dev/null"],
                              capture_output=True, timeout=60)
    assert tampered.returncode != 0


def test_the_daily_order_is_idempotent(paiement_world):
    w = paiement_world
    first = paiement.produce_order(on=w.march)
    assert first is not None and first.reference.startswith("OP-20260302-")
    assert paiement.produce_order(on=w.march) is None      # nothing left: each line in one file
    assert db.session.query(LignePaiement).count() == len(first.lignes)
    assert db.session.query(OrdrePaiement).count() == 1


def test_nothing_is_ordered_without_a_bank_reference(paiement_world):
    w = paiement_world
    from afas.paiement.models import CoordonneesBancaires
    db.session.query(CoordonneesBancaires).delete()
    assert paiement.produce_order(on=w.march) is None
    assert all(a.status == "programme" for a in w.prev_creche.acomptes)


def _signed_return(results, reference="RP-20260305-001"):
    xml = build_return(reference, results)
    return xml, sign_as_caf(xml)


def test_a_return_file_pays_one_line_rejects_the_other_and_replaying_changes_nothing(paiement_world):
    w = paiement_world
    paiement.choose_recovery(w.indu, w.manager, compenser=True)
    ordre = paiement.produce_order(on=w.march)
    lines = _lines(ordre)
    creche, centre = lines[(w.creche.id, "acompte")], lines[(w.alsh.id, "acompte")]
    reste_after_order = w.indu.reste
    xml, sig = _signed_return([ReturnResult(creche.reference, "PAYE", date(2026, 3, 4), None),
                               ReturnResult(centre.reference, "REJETE", date(2026, 3, 4), "Compte clôturé")])
    retour = paiement.apply_return(xml, sig, w.agent)
    assert (retour.nb_payees, retour.nb_rejetees, retour.nb_deja_traitees) == (1, 1, 0)
    assert creche.status == "payee" and creche.paye_le == date(2026, 3, 4)
    assert db.session.get(Acompte, creche.source_id).status == "verse"
    assert centre.status == "rejetee" and centre.motif_rejet == "Compte clôturé"
    assert db.session.get(Acompte, centre.source_id).status == "rejete"
    assert w.indu.reste == reste_after_order               # the offset on the paid line holds
    before = [(x.status, x.paye_le, x.motif_rejet) for x in ordre.lignes]
    replay = paiement.apply_return(xml, sig, w.agent)
    assert replay.rejeu and (replay.nb_payees, replay.nb_rejetees, replay.nb_deja_traitees) == (0, 0, 2)
    assert [(x.status, x.paye_le, x.motif_rejet) for x in ordre.lignes] == before
    assert db.session.get(Acompte, creche.source_id).status == "verse"
    # the agent relaunches the rejected line: it goes out again in the next order, attempt 2
    paiement.relaunch_line(centre, w.agent)
    again = paiement.produce_order(on=date(2026, 3, 10))
    assert [(x.source_id, x.tentative) for x in again.lignes] == [(centre.source_id, 2)]


def test_a_rejected_offset_gives_the_indu_back(paiement_world):
    w = paiement_world
    paiement.choose_recovery(w.indu, w.manager, compenser=True)
    ordre = paiement.produce_order(on=w.march)
    creche = _lines(ordre)[(w.creche.id, "acompte")]
    xml, sig = _signed_return([ReturnResult(creche.reference, "REJETE", date(2026, 3, 4), "IBAN invalide")])
    paiement.apply_return(xml, sig, w.agent)
    assert w.indu.reste == w.indu.montant and w.indu.status == "compensation"


def test_an_indu_not_offset_is_recovered_after_thirty_days(paiement_world):
    w = paiement_world
    ordre = paiement.produce_order(on=date(2026, 2, 20))   # notified 12/01: 30 days have passed
    (line,) = [x for x in ordre.lignes if x.nature == "recouvrement"]
    assert line.montant == w.indu.montant and w.indu.status == "recouvrement"
    assert ordre.total_recouvrements == w.indu.montant
    xml, sig = _signed_return([ReturnResult(line.reference, "PAYE", date(2026, 2, 25), None)])
    paiement.apply_return(xml, sig, w.agent)
    assert w.indu.reste == 0 and w.indu.status == "solde"


@pytest.mark.parametrize("mutate, code", [
    (lambda xml, sig: (xml.replace(b"PAYE", b"REJETE", 1), sig), "EMPREINTE_DIFFERENTE"),
    (lambda xml, sig: (xml, b""), "SIGNATURE_ABSENTE"),
])
def test_a_return_file_with_a_bad_signature_is_refused(paiement_world, mutate, code):
    w = paiement_world
    ordre = paiement.produce_order(on=w.march)
    xml, sig = _signed_return([ReturnResult(ordre.lignes[0].reference, "PAYE", date(2026, 3, 4), None)])
    with pytest.raises(paiement.PaymentRefused) as exc:
        paiement.apply_return(*mutate(xml, sig), w.agent)
    assert exc.value.code == code
    assert ordre.lignes[0].status == "emise"


def test_a_return_file_with_a_doctype_or_an_unknown_line_is_refused(paiement_world):
    w = paiement_world
    paiement.produce_order(on=w.march)
    evil = (b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE r [<!ENTITY x "y">]>\n'
            b'<RetourPaiement xmlns="urn:caf:extranet:afas:paiement-retour:1" reference="RP-1"/>')
    with pytest.raises(paiement.PaymentRefused) as exc:
        paiement.apply_return(evil, sign_as_caf(evil), w.agent)
    assert exc.value.code == "DOCTYPE_INTERDIT"
    xml, sig = _signed_return([ReturnResult("OP-20990101-001-000001", "PAYE", date(2026, 3, 4), None)])
    with pytest.raises(paiement.PaymentRefused) as exc:
        paiement.apply_return(xml, sig, w.agent)
    assert exc.value.code == "LIGNE_INCONNUE"


def test_a_positive_regularisation_is_ordered_once_and_a_hand_settled_one_never(paiement_world):
    from datetime import datetime

    from afas import services

    from ..helpers import alsh
    from .conftest import validated
    w = paiement_world
    reel = validated(w.alsh, 2025, "reel", alsh(), w, datetime(2026, 1, 12, 10, 0))
    reg = db.session.get(Regularisation, reel.regularisation.id) if reel.regularisation else \
        db.session.query(Regularisation).filter_by(declaration_id=reel.id).one()
    assert float(reg.solde) > 0
    ordre = paiement.produce_order(on=date(2026, 1, 13))
    (line,) = [x for x in ordre.lignes if x.nature == "regularisation"]
    assert line.montant == round(float(reg.solde) * 100) and line.declaration_id == reel.id
    assert paiement.produce_order(on=date(2026, 1, 14)) is None
    # a réel marked « payée » by hand before the hand-off is not ordered
    line.status = "relancee"                           # as if its line were relaunched...
    services.mark_paid(reel, w.agent)                  # ...but the agent settled it by hand
    db.session.flush()
    assert paiement.produce_order(on=date(2026, 1, 15)) is None


def test_the_beat_produces_the_order_every_morning(app):
    entry = app.extensions["celery"].conf.beat_schedule["afas-payment-order"]
    assert entry["task"] == "afas.produce_payment_order"
    assert "afas-pay-due-acomptes" not in app.extensions["celery"].conf.beat_schedule  # no « versé » by date
    assert "afas.produce_payment_order" in app.extensions["celery"].tasks
