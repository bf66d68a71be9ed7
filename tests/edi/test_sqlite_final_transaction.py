"""SQLite (`make run`): a LOYERS file is staged while it is read, and the one transaction that
applies it issues a fixed number of statements, whatever its size (issue #18). A tenancy that
becomes known between the staging and that transaction makes the file be read again."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import event, func, insert, select

from edi.intake import applier as applier_module
from edi.intake import process
from edi.models import EdiEnregistrement, EdiFichier
from portal.extensions import db
from tests.support.edi_files import build_xml



@pytest.fixture(autouse=True)
def sqlite_only(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the staging of a LOYERS file is SQLite's (PostgreSQL applies batch by batch)")


def add_tenants(code_bailleur: str, first: int, n: int) -> None:
    from cdap.models import Allocataire, Logement
    now = datetime(2026, 1, 1)
    ids = range(first, first + n)
    db.session.execute(insert(Allocataire.__table__), [
        {"id": 500_000 + i, "numero": f"{6000000 + i:07d}", "nom": f"NOM{i}", "nom_normalise": f"NOM{i}",
         "prenom": "Test", "date_naissance": date(1980, 1, 1), "adresse": "1 rue", "code_postal": "80000",
         "commune": "Amiens", "departement": "80", "situation_familiale": "celibataire",
         "updated_at": now} for i in ids])
    db.session.execute(insert(Logement.__table__), [
        {"allocataire_id": 500_000 + i, "code_bailleur": code_bailleur, "code_locataire": f"T{i:07d}",
         "loyer_cents": 50000, "charges_cents": 8000, "nb_colocataires": 0,
         "date_entree": date(2020, 1, 1), "tiers_payant": True, "updated_at": now} for i in ids])
    db.session.flush()


def records(first: int, n: int) -> list[dict]:
    effet = date.today().replace(day=1)
    return [{"identifiant": f"R{i}", "code_locataire": f"T{i:07d}", "numero_allocataire": f"{6000000 + i:07d}",
             "loyer_cents": 51000 + i % 1000, "charges_cents": 8000, "date_effet": effet,
             "nb_colocataires": 1} for i in range(first, first + n)]


def upload(api_client, edi_token, landlord, signer, recs, file_id="F-001", sequence=1) -> int:
    """Received as the API receives it (a large multipart body would leave the test client's
    spooled temporary file open)."""
    import io
    from edi import services
    data = build_xml("LOYERS", landlord, recs, file_id=file_id, sequence=sequence)
    f = services.receive_file(landlord, io.BytesIO(data), "loyers.xml", io.BytesIO(signer.sign(data)),
                              canal="api")
    db.session.commit()
    return f.id


@pytest.fixture
def final_transaction(monkeypatch):
    """The SQL statements of each file's final transaction (Applier.finish), and the appliers."""
    seen = {"statements": [], "appliers": []}
    finish = applier_module.Applier.finish

    def counted(self, lus):
        seen["appliers"].append(self)
        statements = []

        def count(_conn, _cursor, statement, *_args):
            if not statement.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")):
                statements.append(statement)  # the tests' harness commits by savepoints

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            finish(self, lus)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
            seen["statements"].append(statements)

    monkeypatch.setattr(applier_module.Applier, "finish", counted)
    return seen


def test_the_final_transaction_has_as_many_statements_for_10_000_records_as_for_1_000(
        app, api_client, edi_token, landlord, signer, final_transaction, monkeypatch):
    # Before the staging (main at cedbd53), the batches were replayed in the final transaction:
    # 1 batch of 1,000 -> 16 statements, 10 batches -> 79 (several per batch); now 8 and 8.
    monkeypatch.setitem(app.config, "EDI_BATCH_SIZE", 1000)
    add_tenants(landlord.code_bailleur, 1, 10_000)
    small = upload(api_client, edi_token, landlord, signer, records(1, 1000), "F-001")
    result = process.process_file(small)
    f = db.session.get(EdiFichier, small)
    assert result["statut"] == "TRAITE", (f.motifs, (f.derniere_erreur or "")[-600:])
    large = upload(api_client, edi_token, landlord, signer, records(1001, 9000) + records(1, 1000), "F-002", 2)
    # (the last 1,000 again under new identifiers of the same file: keys already applied are
    # for another file, so they are applied again, as history rows of this one)
    result = process.process_file(large)
    small_statements, large_statements = final_transaction["statements"]
    assert len(large_statements) == len(small_statements) <= 10, large_statements
    assert result["statut"] == "TRAITE"
    f = db.session.get(EdiFichier, large)
    assert (f.nb_lus, f.nb_appliques) == (10_000, 10_000)
    from cdap.models import LoyerHistorique
    assert db.session.scalar(select(func.count()).select_from(LoyerHistorique)
                             .where(LoyerHistorique.source.like(f"EDI fichier {large} %"))) == 10_000


def test_unknown_tenancies_and_duplicates_are_staged_with_their_anomalies(
        app, api_client, edi_token, landlord, signer, final_transaction, monkeypatch):
    monkeypatch.setitem(app.config, "EDI_BATCH_SIZE", 100)
    add_tenants(landlord.code_bailleur, 1, 250)
    recs = records(1, 300)  # the last 50 tenancies are unknown
    recs[120] = dict(recs[10])  # identifier R11 again, at rank 121
    fid = upload(api_client, edi_token, landlord, signer, recs)
    assert process.process_file(fid)["statut"] == "TRAITE_PARTIEL"
    f = db.session.get(EdiFichier, fid)
    assert (f.nb_lus, f.nb_appliques, f.nb_rejetes) == (300, 249, 51)
    codes = dict(db.session.execute(select(EdiEnregistrement.rang, EdiEnregistrement.code)
                                    .where(EdiEnregistrement.fichier_id == fid)).all())
    assert codes[121] == "IDENTIFIANT_ENREGISTREMENT_EN_DOUBLE"
    assert {codes[r] for r in range(251, 301)} == {"LOCATAIRE_INCONNU"}
    assert len(codes) == 51


def test_a_tenancy_known_between_staging_and_applying_makes_the_file_read_again(
        app, api_client, edi_token, landlord, signer, final_transaction, monkeypatch):
    from cdap.models import LoyerHistorique
    add_tenants(landlord.code_bailleur, 1, 20)
    fid = upload(api_client, edi_token, landlord, signer, records(1, 21))  # R21: unknown tenancy
    stage = applier_module.Applier._stage
    written = []

    def then_someone_writes(self, items):
        stage(self, items)
        if not written:  # after the staging, before the final transaction
            add_tenants(landlord.code_bailleur, 21, 1)  # the Caf's extract brings the 21st
            # and another file's rent for the 1st tenancy, committed meanwhile
            lid = db.session.scalar(select(LoyerHistorique.logement_id).limit(1)) or 1
            db.session.add(LoyerHistorique(logement_id=lid, code_bailleur=landlord.code_bailleur,
                                           idempotency_key="AUTRE", loyer_cents=1, charges_cents=0,
                                           nb_colocataires=0, date_effet=date(2025, 1, 1), source="autre"))
            db.session.commit()
            written.append(True)

    monkeypatch.setattr(applier_module.Applier, "_stage", then_someone_writes)
    assert process.process_file(fid)["statut"] == "TRAITE"
    assert len(final_transaction["appliers"]) == 2  # staged again, then applied
    f = db.session.get(EdiFichier, fid)
    assert (f.nb_lus, f.nb_appliques, f.nb_rejetes) == (21, 21, 0)
    assert db.session.scalar(select(func.count()).select_from(EdiEnregistrement)
                             .where(EdiEnregistrement.fichier_id == fid)) == 0
    assert db.session.scalar(select(func.count()).select_from(LoyerHistorique)
                             .where(LoyerHistorique.idempotency_key == "AUTRE")) == 1


def test_a_change_that_does_not_concern_the_file_is_no_conflict(
        app, api_client, edi_token, landlord, signer, final_transaction, monkeypatch):
    add_tenants(landlord.code_bailleur, 1, 20)
    fid = upload(api_client, edi_token, landlord, signer, records(1, 21))  # R21 unknown, stays so
    stage = applier_module.Applier._stage

    def then_another_tenancy(self, items):
        stage(self, items)
        add_tenants(landlord.code_bailleur, 30, 1)  # the landlord's tenancies change (the mark)
        db.session.commit()

    monkeypatch.setattr(applier_module.Applier, "_stage", then_another_tenancy)
    assert process.process_file(fid)["statut"] == "TRAITE_PARTIEL"
    assert len(final_transaction["appliers"]) == 1
    f = db.session.get(EdiFichier, fid)
    assert (f.nb_lus, f.nb_appliques, f.nb_rejetes) == (21, 20, 1)
