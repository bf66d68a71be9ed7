"""End-to-end processing of received files, in-process (JOB_DISPATCH=manual): API upload →
edi.process_file job → CDAP effects → signed ACCUSE."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from lxml import etree
from sqlalchemy import func, select

from edi.models import EdiEnregistrement, EdiFichier
from portal.extensions import db

from tests.support.edi_files import build_xml, multipart

ACC = "{urn:caf:extranet:edi:accuse:1}"


@pytest.fixture(autouse=True, params=["64 Ko", "1 Ko"])
def chunk_size(request, monkeypatch):
    """Each test twice: with the parser fed 64 KB at a time (a test file is one chunk, read
    record by record after its envelope) and 1 KB at a time (the records of the chunks after the
    first are read a block at a time, the bulk path of a large file)."""
    if request.param == "1 Ko":
        from portal import xmlsafe
        monkeypatch.setattr(xmlsafe, "PROLOG_BYTES", 1024)
        monkeypatch.setattr(xmlsafe, "CHUNK_SIZE", 1024)
    return request.param


def upload(api, data: bytes, signature: bytes, name="fichier.xml"):
    response = api.post("/api/v1/edi/fichiers", data=multipart(data, signature, name),
                        content_type="multipart/form-data")
    assert response.status_code == 202, response.get_json()
    return response.get_json()["id"]


def loyer_records(tenants, **over):
    recs = []
    for i, t in enumerate(tenants):
        rec = {"identifiant": f"L{i + 1}", "code_agence": "AG1", "code_locataire": t["code_locataire"],
               "numero_allocataire": t["numero_allocataire"], "loyer_cents": 52000 + i,
               "charges_cents": 8500, "date_effet": date.today().replace(day=1), "nb_colocataires": 1}
        rec.update(over)
        recs.append(rec)
    return recs


def accuse_of(api, fichier_id):
    response = api.get(f"/api/v1/edi/fichiers/{fichier_id}/accuse")
    assert response.status_code == 200
    signature = api.get(f"/api/v1/edi/fichiers/{fichier_id}/accuse.p7s")
    assert signature.status_code == 200
    return response.data, signature.data


def verify_caf_signature(app, data: bytes, signature: bytes):
    from portal.crypto.pki import trust_anchors
    from portal.crypto.signature import verify_detached
    with app.app_context():
        anchors = trust_anchors()
    return verify_detached(data, signature, anchors)


def validate_accuse(data: bytes) -> etree._Element:
    from schemas import SCHEMA_DIR
    schema = etree.XMLSchema(etree.parse(str(SCHEMA_DIR / "accuse-1.xsd")))
    doc = etree.fromstring(data)
    schema.assertValid(doc)
    return doc


def cdap_rent(tenant):
    """The dwelling's current rent, as CDAP shows it (its latest rent history row)."""
    from cdap.loyers import current_rent
    from cdap.models import Logement
    logement = db.session.scalar(select(Logement).where(
        Logement.allocataire_id == tenant["allocataire"].id))
    return current_rent(logement)["loyer_cents"]


def test_loyers_file_is_verified_applied_and_acknowledged_with_a_signed_accuse(
        app, api_client, edi_token, landlord, signer, tenants, run_jobs):
    api = api_client(edi_token)
    data = build_xml("LOYERS", landlord, loyer_records(tenants))
    fid = upload(api, data, signer.sign(data))
    assert run_jobs() == ["done"]
    status = api.get(f"/api/v1/edi/fichiers/{fid}").get_json()
    assert status["statut"] == "TRAITE", status["motifs"]
    assert status["compteurs"] == {"annonces": 3, "lus": 3, "acceptes": 3, "rejetes": 0,
                                   "avertissements": 0, "appliques": 3}
    assert [cdap_rent(t) for t in tenants] == [52000, 52001, 52002]

    accuse, p7s = accuse_of(api, fid)
    verified = verify_caf_signature(app, accuse, p7s)
    assert "Caf" in verified.signer_subject
    doc = validate_accuse(accuse)
    assert doc.findtext(f"{ACC}Statut/{ACC}Code") == "ACCEPTE"
    assert doc.findtext(f"{ACC}FichierRecu/{ACC}Empreinte") == status["sha256"]
    assert doc.findall(f"{ACC}Resultat") == []
    assert accuse_of(api, fid) == (accuse, p7s)  # asking again: identical bytes


def test_partial_file_lists_every_rejected_record_in_the_accuse(
        app, api_client, edi_token, landlord, signer, tenants, run_jobs):
    api = api_client(edi_token)
    records = loyer_records(tenants)
    records[1]["numero_allocataire"] = "7999999"          # not a tenant of this landlord
    records[2]["loyer_cents"] = 0                          # implausible rent
    records[2]["date_effet"] = date(1990, 1, 1)            # and implausible date
    data = build_xml("LOYERS", landlord, records)
    fid = upload(api, data, signer.sign(data))
    run_jobs()
    f = db.session.get(EdiFichier, fid)
    assert (f.statut, f.nb_acceptes, f.nb_rejetes, f.nb_appliques) == ("TRAITE_PARTIEL", 1, 2, 1)
    assert cdap_rent(tenants[0]) == 52000 and cdap_rent(tenants[1]) == 50000
    doc = validate_accuse(accuse_of(api, fid)[0])
    results = [(r.findtext(f"{ACC}Identifiant"), r.findtext(f"{ACC}Code"), r.findtext(f"{ACC}Gravite"))
               for r in doc.findall(f"{ACC}Resultat")]
    assert results == [("L2", "LOCATAIRE_INCONNU", "ERREUR"),
                       ("L3", "MONTANT_INVRAISEMBLABLE", "ERREUR"),
                       ("L3", "DATE_INVRAISEMBLABLE", "ERREUR")]
    anomalies = api.get(f"/api/v1/edi/fichiers/{fid}/anomalies?code=LOCATAIRE_INCONNU").get_json()
    assert anomalies["total"] == 1 and anomalies["enregistrements"][0]["identifiant"] == "L2"
    assert {s["code"]: s["nombre"] for s in anomalies["synthese"]} == {
        "LOCATAIRE_INCONNU": 1, "MONTANT_INVRAISEMBLABLE": 1, "DATE_INVRAISEMBLABLE": 1}
    # Every code of a record is counted and filterable, not only its first one.
    second = api.get(f"/api/v1/edi/fichiers/{fid}/anomalies?code=DATE_INVRAISEMBLABLE").get_json()
    assert [r["identifiant"] for r in second["enregistrements"]] == ["L3"]


def test_each_anomaly_gives_the_line_of_its_record_in_the_file(
        app, api_client, edi_token, landlord, signer, tenants, run_jobs, client, login, operator):
    api = api_client(edi_token)
    records = loyer_records(tenants)
    records[1]["numero_allocataire"] = "7999999"
    records[2]["loyer_cents"] = 0
    data = build_xml("LOYERS", landlord, records)
    lines = {rec["identifiant"]: n for n, line in enumerate(data.decode().splitlines(), 1)
             for rec in records if f"<Identifiant>{rec['identifiant']}</Identifiant>" in line}
    assert lines == {"L1": 4, "L2": 5, "L3": 6}
    fid = upload(api, data, signer.sign(data))
    run_jobs()
    doc = validate_accuse(accuse_of(api, fid)[0])
    assert [(r.findtext(f"{ACC}Identifiant"), r.findtext(f"{ACC}Ligne")) for r in doc.findall(f"{ACC}Resultat")] == [
        ("L2", "5"), ("L3", "6")]
    listed = api.get(f"/api/v1/edi/fichiers/{fid}/anomalies").get_json()["enregistrements"]
    assert [(r["identifiant"], r["rang"], r["ligne"]) for r in listed] == [("L2", 2, 5), ("L3", 3, 6)]
    login(operator)
    page = client.get(f"/edi/fichiers/{fid}").get_data(as_text=True)
    assert "<td>5</td><td>L2</td>" in page and "<td>6</td><td>L3</td>" in page


def test_impaye_opens_an_item_in_the_social_workers_queue(
        app, api_client, edi_token, landlord, signer, tenants, run_jobs):
    from cdap.models import ImpayeQueueItem, SignalementImpaye
    api = api_client(edi_token)
    today = date.today()
    records = [{"identifiant": "I1", "code_locataire": tenants[0]["code_locataire"],
                "numero_allocataire": tenants[0]["numero_allocataire"],
                "montant_dette_cents": 70000, "loyer_mensuel_cents": 58000,
                "date_constitution": today - timedelta(days=20),
                "periode_debut": today - timedelta(days=90), "periode_fin": today - timedelta(days=1),
                "plan_apurement": False},
               {"identifiant": "I2", "code_locataire": tenants[1]["code_locataire"],
                "numero_allocataire": tenants[1]["numero_allocataire"],
                "montant_dette_cents": 40000, "loyer_mensuel_cents": 58000,   # < 2 x (580 - 250)
                "date_constitution": today - timedelta(days=20),
                "periode_debut": today - timedelta(days=90), "periode_fin": today - timedelta(days=1),
                "plan_apurement": False}]
    data = build_xml("IMPAYES", landlord, records, file_id="IMP-1")
    fid = upload(api, data, signer.sign(data))
    run_jobs()
    f = db.session.get(EdiFichier, fid)
    assert f.statut == "TRAITE_PARTIEL"
    signalements = db.session.scalars(select(SignalementImpaye)).all()
    assert [s.allocataire_id for s in signalements] == [tenants[0]["allocataire"].id]
    assert signalements[0].code_bailleur == landlord.code_bailleur
    item = db.session.scalar(select(ImpayeQueueItem).where(ImpayeQueueItem.impaye_id == signalements[0].id))
    assert item is not None
    doc = validate_accuse(accuse_of(api, fid)[0])
    assert [r.findtext(f"{ACC}Code") for r in doc.findall(f"{ACC}Resultat")] == ["IMPAYE_NON_CONSTITUE"]


def test_test_mode_checks_everything_and_applies_nothing(
        app, api_client, edi_token, landlord, signer, tenants, run_jobs):
    api = api_client(edi_token)
    data = build_xml("LOYERS", landlord, loyer_records(tenants), mode="TEST")
    fid = upload(api, data, signer.sign(data))
    run_jobs()
    f = db.session.get(EdiFichier, fid)
    assert (f.statut, f.nb_acceptes, f.nb_appliques) == ("TRAITE", 3, 0)
    assert [cdap_rent(t) for t in tenants] == [50000] * 3
    assert any(m["code"] == "MODE_TEST" for m in f.motifs)
    doc = validate_accuse(accuse_of(api, fid)[0])
    assert doc.findtext(f"{ACC}Enveloppe/{ACC}Mode") == "TEST"
    # the vendor may send the very same test file again
    again = upload(api, data, signer.sign(data))
    run_jobs()
    assert db.session.get(EdiFichier, again).statut == "TRAITE"


def test_same_file_identifier_already_accepted_is_a_duplicate(
        app, api_client, edi_token, landlord, signer, tenants, run_jobs):
    api = api_client(edi_token)
    first = build_xml("LOYERS", landlord, loyer_records(tenants), file_id="F-9")
    second = build_xml("LOYERS", landlord, loyer_records(tenants, loyer_cents=60000), file_id="F-9",
                       sequence=2)
    a = upload(api, first, signer.sign(first))
    run_jobs()
    b = upload(api, second, signer.sign(second))
    run_jobs()
    fb = db.session.get(EdiFichier, b)
    assert fb.statut == "DOUBLON" and fb.doublon_de_id == a
    assert [cdap_rent(t) for t in tenants] == [52000, 52001, 52002]
    doc = validate_accuse(accuse_of(api, b)[0])
    assert doc.findtext(f"{ACC}Statut/{ACC}Code") == "DOUBLON"
    assert doc.findtext(f"{ACC}DoublonDe/{ACC}IdentifiantFichier") == "F-9"


def test_a_test_file_meets_the_identifier_and_sequence_checks_of_a_production_one(
        app, api_client, edi_token, landlord, signer, tenants, run_jobs):
    """TEST mode is the vendor's recette: what PRODUCTION would refuse, TEST refuses too."""
    api = api_client(edi_token)
    accepted = build_xml("LOYERS", landlord, loyer_records(tenants), file_id="P-5", sequence=5)
    upload(api, accepted, signer.sign(accepted))
    run_jobs()
    old_sequence = build_xml("LOYERS", landlord, loyer_records(tenants, loyer_cents=53000),
                             file_id="T-1", sequence=3, mode="TEST")
    reused = build_xml("LOYERS", landlord, loyer_records(tenants, loyer_cents=54000),
                       file_id="P-5", sequence=6, mode="TEST")
    a = upload(api, old_sequence, signer.sign(old_sequence))
    b = upload(api, reused, signer.sign(reused))
    run_jobs()
    fa, fb = db.session.get(EdiFichier, a), db.session.get(EdiFichier, b)
    assert fa.statut == "REJETE" and [m["code"] for m in fa.motifs] == ["SEQUENCE_INCORRECTE"]
    assert fb.statut == "DOUBLON"
    # Neither counts as a PRODUCTION file: the next real one follows P-5.
    follow = build_xml("LOYERS", landlord, loyer_records(tenants, loyer_cents=55000), file_id="P-6", sequence=6)
    c = upload(api, follow, signer.sign(follow))
    run_jobs()
    assert db.session.get(EdiFichier, c).statut == "TRAITE"
    assert [cdap_rent(t) for t in tenants] == [55000] * 3


def test_a_file_none_of_whose_records_was_accepted_may_be_sent_again_under_its_identifier(
        app, api_client, edi_token, landlord, signer, tenants, run_jobs):
    api = api_client(edi_token)
    wrong = build_xml("LOYERS", landlord, loyer_records(tenants, loyer_cents=0), file_id="F-R")
    a = upload(api, wrong, signer.sign(wrong))
    run_jobs()
    assert db.session.get(EdiFichier, a).statut == "REJETE"
    fixed = build_xml("LOYERS", landlord, loyer_records(tenants), file_id="F-R")
    b = upload(api, fixed, signer.sign(fixed))
    run_jobs()
    assert db.session.get(EdiFichier, b).statut == "TRAITE"
    assert [cdap_rent(t) for t in tenants] == [52000, 52001, 52002]


def test_same_content_is_a_duplicate_pointing_to_the_first(
        app, api_client, edi_token, landlord, signer, tenants, run_jobs):
    api = api_client(edi_token)
    data = build_xml("LOYERS", landlord, loyer_records(tenants))
    a = upload(api, data, signer.sign(data))
    b = upload(api, data, signer.sign(data))
    run_jobs()
    assert db.session.get(EdiFichier, a).statut == "TRAITE"
    fb = db.session.get(EdiFichier, b)
    assert fb.statut == "DOUBLON" and fb.doublon_de_id == a
    assert db.session.scalar(select(func.count()).select_from(EdiEnregistrement).where(
        EdiEnregistrement.fichier_id == b)) == 0


def test_identifier_of_a_technically_rejected_file_may_be_sent_again(
        app, api_client, edi_token, landlord, signer, tenants, run_jobs):
    api = api_client(edi_token)
    data = build_xml("LOYERS", landlord, loyer_records(tenants), file_id="F-R", count=5)  # wrong count
    a = upload(api, data, signer.sign(data))
    run_jobs()
    fa = db.session.get(EdiFichier, a)
    assert fa.statut == "REJETE" and fa.rejet_technique
    assert [m["code"] for m in fa.motifs] == ["NOMBRE_ENREGISTREMENTS_INCORRECT"]
    doc = validate_accuse(accuse_of(api, a)[0])
    assert doc.findtext(f"{ACC}Statut/{ACC}Code") == "REJETE"  # an envelope rule, not the schema
    fixed = build_xml("LOYERS", landlord, loyer_records(tenants), file_id="F-R")
    b = upload(api, fixed, signer.sign(fixed))
    run_jobs()
    assert db.session.get(EdiFichier, b).statut == "TRAITE"


def test_schema_error_at_the_end_of_the_file_stages_and_applies_nothing(
        app, api_client, edi_token, landlord, signer, tenants, run_jobs):
    api = api_client(edi_token)
    data = build_xml("LOYERS", landlord, loyer_records(tenants))
    data = data.replace(b"</Loyers>", b"<Intrus/></Loyers>")
    fid = upload(api, data, signer.sign(data))
    run_jobs()
    f = db.session.get(EdiFichier, fid)
    assert f.statut == "REJETE" and f.motifs[0]["code"] == "NON_CONFORME_SCHEMA"
    assert [cdap_rent(t) for t in tenants] == [50000] * 3
    assert db.session.scalar(select(func.count()).select_from(EdiEnregistrement).where(
        EdiEnregistrement.fichier_id == fid)) == 0


def test_sender_of_another_landlord_is_rejected(
        app, api_client, edi_token, landlord, signer, tenants, run_jobs):
    api = api_client(edi_token)
    data = build_xml("LOYERS", landlord, loyer_records(tenants), sender_code="BL999999")
    fid = upload(api, data, signer.sign(data))
    run_jobs()
    f = db.session.get(EdiFichier, fid)
    assert f.statut == "REJETE"
    assert "EMETTEUR" in " ".join(m["code"] for m in f.motifs)
    assert [cdap_rent(t) for t in tenants] == [50000] * 3


def test_processing_twice_changes_nothing(app, api_client, edi_token, landlord, signer, tenants, run_jobs):
    from edi.intake import process
    api = api_client(edi_token)
    data = build_xml("LOYERS", landlord, loyer_records(tenants))
    fid = upload(api, data, signer.sign(data))
    run_jobs()
    before = db.session.get(EdiFichier, fid).accuse_sha256
    assert process.process_file(fid)["deja_traite"] is True
    assert db.session.get(EdiFichier, fid).accuse_sha256 == before


def test_the_signing_certificate_counts_each_verified_file_once(
        app, api_client, edi_token, landlord, signer, tenants, run_jobs, client, login, factory):
    """« Fichiers vérifiés » on the certificate page: a processed file counts once for the
    registered certificate that verified its signature (processing it again adds nothing), a
    file refused after its signature was verified counts too, one whose signature fails does
    not."""
    from edi.certificates.models import RegisteredCertificate
    from edi.intake import process
    api = api_client(edi_token)

    def files_verified() -> int:
        return db.session.get(RegisteredCertificate, signer.registered.id,
                              populate_existing=True).files_verified

    assert files_verified() == 0
    data = build_xml("LOYERS", landlord, loyer_records(tenants))
    fid = upload(api, data, signer.sign(data))
    run_jobs()
    assert db.session.get(EdiFichier, fid).statut == "TRAITE"
    assert files_verified() == 1
    process.process_file(fid)
    assert files_verified() == 1

    wrong_count = build_xml("LOYERS", landlord, loyer_records(tenants), file_id="F-002", sequence=2,
                            count=4)
    refused = upload(api, wrong_count, signer.sign(wrong_count))
    run_jobs()
    assert db.session.get(EdiFichier, refused).statut == "REJETE"
    assert files_verified() == 2

    other = build_xml("LOYERS", landlord, loyer_records(tenants), file_id="F-003", sequence=3)
    unsigned = upload(api, other, signer.sign(data))  # the signature of another file
    run_jobs()
    assert db.session.get(EdiFichier, unsigned).statut == "REJETE"
    assert files_verified() == 2

    login(factory.user(landlord, "partner_admin"))
    page = client.get(f"/edi/certificats/{signer.registered.id}").get_data(as_text=True)
    assert "<dt>Fichiers vérifiés</dt><dd>2</dd>" in page


def test_duplicate_record_identifiers_are_rejected_after_the_first(
        app, api_client, edi_token, landlord, signer, tenants, run_jobs, monkeypatch):
    """A record identifier met again is rejected, in the same batch or a later one; the first
    occurrence is applied, only once."""
    from cdap.models import LoyerHistorique
    monkeypatch.setitem(app.config, "EDI_BATCH_SIZE", 2)
    api = api_client(edi_token)
    base = loyer_records(tenants)
    records = [{**base[0], "identifiant": "A"}, {**base[1], "identifiant": "B"},
               {**base[2], "identifiant": "A"}, {**base[2], "identifiant": "C"},
               {**base[1], "identifiant": "A", "loyer_cents": 99000}]
    data = build_xml("LOYERS", landlord, records)
    fid = upload(api, data, signer.sign(data))
    assert run_jobs() == ["done"]
    f = db.session.get(EdiFichier, fid)
    assert (f.statut, f.nb_lus, f.nb_acceptes, f.nb_rejetes, f.nb_appliques) == ("TRAITE_PARTIEL", 5, 3, 2, 3)
    got = db.session.execute(select(EdiEnregistrement.rang, EdiEnregistrement.accepte,
                                    EdiEnregistrement.code)
                             .where(EdiEnregistrement.fichier_id == fid)
                             .order_by(EdiEnregistrement.rang)).all()
    assert got == [(3, False, "IDENTIFIANT_ENREGISTREMENT_EN_DOUBLE"),
                   (5, False, "IDENTIFIANT_ENREGISTREMENT_EN_DOUBLE")]
    keys = db.session.scalars(select(LoyerHistorique.idempotency_key).where(
        LoyerHistorique.source.like(f"EDI fichier {fid} %"))).all()
    assert sorted(k.rsplit(":", 1)[1] for k in keys) == ["A", "B", "C"]
    assert [cdap_rent(t) for t in tenants] == [52000, 52001, 52002]


def test_postgresql_copies_a_batch_once_and_falls_back_when_it_repeats_an_identifier(
        app, api_client, edi_token, landlord, signer, tenants, run_jobs, monkeypatch, chunk_size):
    """PostgreSQL: a batch of records read in blocks is copied once (identifiers and rows), the
    server finding the repeated identifiers and applying from that copy; a batch repeating an
    identifier goes the general way. Same results either way."""
    from cdap.models import LoyerHistorique
    from edi import adapters
    if db.session.get_bind().dialect.name != "postgresql":
        pytest.skip("the one-copy way is PostgreSQL's")
    loads, general = [], []
    load, apply_blocks = adapters.load_loyers_blocks, adapters.apply_loyers_blocks
    monkeypatch.setattr(adapters, "load_loyers_blocks",
                        lambda blocks: loads.append(len(blocks)) or load(blocks))
    monkeypatch.setattr(adapters, "apply_loyers_blocks",
                        lambda *a: general.append(1) or apply_blocks(*a))
    monkeypatch.setitem(app.config, "EDI_BATCH_SIZE", 6)
    api = api_client(edi_token)
    base = loyer_records(tenants)
    records = [{**base[i % 3], "identifiant": f"R{i}", "loyer_cents": 60000 + i} for i in range(30)]
    records[27]["identifiant"] = "R4"  # met again: its batch goes the general way
    data = build_xml("LOYERS", landlord, records)
    fid = upload(api, data, signer.sign(data))
    assert run_jobs() == ["done"]
    f = db.session.get(EdiFichier, fid)
    assert (f.statut, f.nb_lus, f.nb_acceptes, f.nb_rejetes, f.nb_appliques) == ("TRAITE_PARTIEL", 30, 29, 1, 29)
    keys = db.session.scalars(select(LoyerHistorique.idempotency_key).where(
        LoyerHistorique.source.like(f"EDI fichier {fid} %"))).all()
    assert sorted(keys) == sorted(f"EDI:{landlord.code_bailleur}:{f.identifiant_fichier}:R{i}"
                                  for i in range(30) if i != 27)
    assert [cdap_rent(t) for t in tenants] == [60027 - 3, 60028, 60029]  # R27 rejected: R24 stays
    if chunk_size == "1 Ko":  # blocks after the first chunk
        assert len(loads) >= 3 and general


def test_test_mode_meets_the_checks_that_applying_reveals_and_still_applies_nothing(
        app, api_client, edi_token, landlord, signer, tenants, run_jobs, monkeypatch):
    """In TEST mode each batch is applied in a savepoint rolled back at once: an unknown tenancy
    and a repeated identifier are reported as a PRODUCTION file would report them."""
    from cdap.models import LoyerHistorique
    monkeypatch.setitem(app.config, "EDI_BATCH_SIZE", 2)
    api = api_client(edi_token)
    records = loyer_records(tenants) + [{**loyer_records(tenants)[0], "identifiant": "L2"}]
    records[2]["code_locataire"] = "INCONNU-3"
    data = build_xml("LOYERS", landlord, records, mode="TEST")
    fid = upload(api, data, signer.sign(data))
    assert run_jobs() == ["done"]
    f = db.session.get(EdiFichier, fid)
    assert (f.statut, f.nb_lus, f.nb_acceptes, f.nb_rejetes, f.nb_appliques) == ("TRAITE_PARTIEL", 4, 2, 2, 0)
    assert db.session.execute(select(EdiEnregistrement.rang, EdiEnregistrement.code)
                              .where(EdiEnregistrement.fichier_id == fid)
                              .order_by(EdiEnregistrement.rang)).all() == [
        (3, "LOCATAIRE_INCONNU"), (4, "IDENTIFIANT_ENREGISTREMENT_EN_DOUBLE")]
    assert db.session.scalar(select(func.count()).select_from(LoyerHistorique)) == 0
    assert [cdap_rent(t) for t in tenants] == [50000] * 3


def test_set_based_tenancy_check_keeps_every_anomaly_in_order_and_stages_typed_values(
        app, api_client, edi_token, landlord, signer, tenants, run_jobs):
    """LOYERS records are checked assuming a known tenancy; a batch that applies fewer rows than
    it has looks its tenancies up, and the unknown ones are checked again: the complete list,
    LOCATAIRE_INCONNU first."""
    api = api_client(edi_token)
    records = loyer_records(tenants)
    records[0]["code_locataire"] = "INCONNU-1"              # unknown tenancy only
    records[1]["numero_allocataire"] = "7999998"            # unknown tenancy ...
    records[1]["loyer_cents"] = 900_000                     # ... and implausible rent
    data = build_xml("LOYERS", landlord, records)
    fid = upload(api, data, signer.sign(data))
    assert run_jobs() == ["done"]
    f = db.session.get(EdiFichier, fid)
    assert (f.statut, f.nb_acceptes, f.nb_rejetes, f.nb_appliques) == ("TRAITE_PARTIEL", 1, 2, 1)
    rows = db.session.execute(select(EdiEnregistrement).where(EdiEnregistrement.fichier_id == fid)
                              .order_by(EdiEnregistrement.rang)).scalars().all()
    # only the records with anomalies are staged, with their typed values
    assert [(r.rang, r.accepte, r.code, r.nb_anomalies) for r in rows] == [
        (1, False, "LOCATAIRE_INCONNU", 1), (2, False, "LOCATAIRE_INCONNU", 2)]
    assert [a["code"] for a in rows[1].anomalies] == ["LOCATAIRE_INCONNU", "MONTANT_INVRAISEMBLABLE"]
    assert "9\u202f000,00 €" in rows[1].libelle and "7999998" in rows[1].libelle
    assert (rows[0].code_locataire, rows[0].loyer_cents, rows[0].charges_cents, rows[0].date_effet,
            rows[0].nb_colocataires) == ("INCONNU-1", 52000, 8500, date.today().replace(day=1), 1)
    doc = validate_accuse(accuse_of(api, fid)[0])
    assert [(r.findtext(f"{ACC}Identifiant"), r.findtext(f"{ACC}Code"))
            for r in doc.findall(f"{ACC}Resultat")] == [
        ("L1", "LOCATAIRE_INCONNU"), ("L2", "LOCATAIRE_INCONNU"), ("L2", "MONTANT_INVRAISEMBLABLE")]
    assert [cdap_rent(t) for t in tenants] == [50000, 50000, 52002]


def test_batches_are_applied_as_staged_and_the_watermark_covers_the_file(
        app, api_client, edi_token, landlord, signer, tenants, run_jobs, monkeypatch):
    from cdap.models import LoyerHistorique
    monkeypatch.setitem(app.config, "EDI_BATCH_SIZE", 2)
    api = api_client(edi_token)
    records = loyer_records(tenants) + [
        {**loyer_records(tenants[:1])[0], "identifiant": "L1"},          # duplicate identifier
        {**loyer_records(tenants[1:2])[0], "identifiant": "L5", "loyer_cents": 53000}]
    data = build_xml("LOYERS", landlord, records)
    fid = upload(api, data, signer.sign(data))
    run_jobs()
    f = db.session.get(EdiFichier, fid)
    assert (f.statut, f.nb_lus, f.nb_acceptes, f.nb_appliques, f.rang_applique) == (
        "TRAITE_PARTIEL", 5, 4, 4, 5)
    keys = db.session.scalars(select(LoyerHistorique.idempotency_key).where(
        LoyerHistorique.source.like(f"EDI fichier {fid} %"))).all()
    assert sorted(k.rsplit(":", 1)[1] for k in keys) == ["L1", "L2", "L3", "L5"]
    # L5 comes after L2 for the same dwelling, same date d'effet: the later one wins
    assert [cdap_rent(t) for t in tenants] == [52000, 53000, 52002]


def test_apply_thread_reports_a_failed_batch_and_never_swallows_one(app, monkeypatch):
    """The PostgreSQL apply thread (sessions on a pooled engine): a batch that fails stops the
    file (the reading side gets the error, nothing after it is applied, finishing is refused),
    a cancelled one is quiet."""
    from datetime import datetime
    from types import SimpleNamespace

    from sqlalchemy import create_engine

    from edi.intake.applier import Applier
    engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")  # never connected
    monkeypatch.setattr(db.session, "get_bind", lambda *args, **kwargs: engine)
    applied, finished = [], []

    def fake_batch(self, items):
        if items[0][0] == 3:
            raise ValueError("lot en échec")
        applied.append([rang for rang, _r, _a in items])
    monkeypatch.setattr(Applier, "_batch", fake_batch)
    monkeypatch.setattr(Applier, "_finish", lambda self, lus: finished.append(lus))
    monkeypatch.setattr(db.session, "commit", lambda: None)
    f = SimpleNamespace(id=1, flux="LOYERS", identifiant_fichier="F", recu_le=datetime(2026, 11, 23),
                        mode="PRODUCTION")
    org = SimpleNamespace(code_bailleur="BL1")

    def batch(first):
        return [(first, {}, []), (first + 1, {}, [])]

    applier = Applier(f, org)
    assert applier.threaded
    applier.submit(batch(1))
    applier.submit(batch(3))
    with pytest.raises(RuntimeError) as failed:
        for first in range(5, 200, 2):  # the error surfaces at a later submission at the latest
            applier.submit(batch(first))
    assert isinstance(failed.value.__cause__, ValueError)
    with pytest.raises(RuntimeError):
        applier.finish(200)
    assert applied == [[1, 2]] and finished == []

    quiet = Applier(f, org)
    quiet.submit(batch(1))
    quiet.cancel()
    assert not quiet.thread.is_alive() and finished == []
    engine.dispose()


def test_progress_moves_while_batches_are_staged_and_applied():
    f = EdiFichier(statut="EN_COURS", etape="application", nb_annonce=100, nb_lus=40)
    assert f.progression == 10 + int(84 * 40 / 100)
    f.nb_lus = 100
    assert f.progression == 94
    f.etape, f.nb_lus = "controles", 50   # TEST mode: checked, nothing applied
    assert f.progression == 52
    f.etape, f.nb_lus = "validation", 0
    assert f.progression == 10
    f.etape = "accuse"
    assert f.progression == 95


def test_progress_commits_extend_the_lease_without_reloading_the_file(
        app, api_client, edi_token, landlord, signer, tenants, monkeypatch):
    """While the threaded applier works, the reading side commits its progress (records read,
    the file's and the job's leases) from what it holds: no SELECT of the file or the job
    between batches, and the committed values are those of the pass."""
    from types import SimpleNamespace

    from sqlalchemy import event

    from edi import rules
    from edi.intake import process
    from portal import jobs
    from portal.models import utcnow
    api = api_client(edi_token)
    data = build_xml("LOYERS", landlord, loyer_records(tenants))
    f = db.session.get(EdiFichier, upload(api, data, signer.sign(data)))
    job = jobs.claim(f.job_id)
    f.flux, f.nb_annonce, f.job_lease_expires_at = "LOYERS", 7, None  # as the envelope check sets them
    db.session.commit()
    lease = app.config["JOB_LEASE_SECONDS"]
    monkeypatch.setitem(app.config, "EDI_BATCH_SIZE", 4)
    monkeypatch.setattr(process, "PROGRESS_SECONDS", 0)
    monkeypatch.setitem(rules.CHECKS, "LOYERS", lambda record, tenancy, today: [])
    submitted = []
    applier = SimpleNamespace(threaded=True, inline=False, submit=lambda items: submitted.append([r for r, _rec, _a in items]))
    records = iter([{"identifiant": f"L{i}"} for i in range(1, 8)])
    statements = []

    def capture(conn, cursor, statement, *args):
        statements.append(statement.lstrip().split(None, 1)[0].upper())
    for loaded in (f, job, landlord):  # as the pass starts: loaded once after the last step's commit
        db.session.refresh(loaded)
    bind = db.session.get_bind()
    event.listen(bind, "before_cursor_execute", capture)
    try:
        with process._loaded_across_commits():
            lus = process._read_records(f, landlord, records, date.today(), job, applier)
    finally:
        event.remove(bind, "before_cursor_execute", capture)
    # The last full batch's worth of announced records goes by quarters (tail_batch_size).
    assert lus == 7 and submitted == [[1, 2, 3, 4], [5], [6], [7]]
    assert "SELECT" not in statements, statements
    assert statements.count("UPDATE") >= 4  # progress after each batch
    assert db.session().expire_on_commit  # restored after the pass
    stored = db.session.get(EdiFichier, f.id, populate_existing=True)
    stored_job = db.session.get(jobs.Job, job.id, populate_existing=True)
    assert stored.nb_lus == 7 and stored.job_lease_expires_at is not None
    assert stored_job.lease_expires_at >= utcnow() + timedelta(seconds=lease / 2)


def test_the_announced_last_batch_is_read_by_quarters():
    from edi.intake.batches import tail_batch_size
    assert [tail_batch_size(5000, read, 100_000) for read in (0, 94_999, 95_000, 98_750, 100_000)] == [
        5000, 5000, 1250, 1250, 1250]
    assert tail_batch_size(5000, 0, None) == 5000          # no count announced
    assert tail_batch_size(5000, 0, 3000) == 1250          # a small file: quarters throughout
    assert tail_batch_size(3, 0, 2) == 1                   # never an empty batch
    assert tail_batch_size(5000, 200_000, 100_000) == 1250  # more records than announced: still read


def test_batches_take_exactly_their_count_from_records_and_blocks():
    """Blocks of records read at once are split where a batch ends: every batch but the last
    has exactly its size, and the records come in their order, each once."""
    from edi.formats import RecordColumns
    from edi.intake.batches import Takes

    def block(first, n):
        ids = [f"L{i}" for i in range(first, first + n)]
        return RecordColumns(("identifiant", "ligne"), [ids, list(range(first, first + n))])

    stream = iter([{"identifiant": "L0", "ligne": 0}, block(1, 5), {"identifiant": "L6", "ligne": 6},
                   block(7, 2), block(9, 4)])
    takes, seen, sizes = Takes(stream), [], []
    while True:
        pieces, count = takes.take(3)
        if not count:
            break
        sizes.append(count)
        for piece in pieces:
            seen += [piece] if type(piece) is dict else piece.records()
    assert sizes == [3, 3, 3, 3, 1]
    assert [r["identifiant"] for r in seen] == [f"L{i}" for i in range(13)]
    assert [r["ligne"] for r in seen] == list(range(13))
