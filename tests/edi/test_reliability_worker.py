"""Kill -9 of a real Celery worker at three points of the processing, and a broker down at
upload: after restart and reconciliation every file ends processed exactly once (one set of
CDAP rows, one ACCUSE). Uses the real-worker fixtures of tests/support/live.py."""
from __future__ import annotations

import io
import itertools
import time
from datetime import date

import pytest
from sqlalchemy import func, select

from tests.support import live

pytestmark = pytest.mark.worker

N = 5  # records per file; EDI_BATCH_SIZE=2 -> three apply batches
HANDLERS = ["tests.edi.live_handlers"]  # the crash at a checkpoint (EDI_TEST_CRASH_AT)
SEQUENCE = itertools.count(1)  # each file of the module continues the landlord's sequence


@pytest.fixture(scope="module")
def live_settings():
    return {"EDI_BATCH_SIZE": "2"}


@pytest.fixture(scope="module")
def landlord_setup(live_app):
    from portal.extensions import db
    from tests.support import factories
    from tests.cdap.conftest import make_allocataire, make_logement
    from tests.support.edi_files import Signer
    with live_app.app_context():
        org = factories.organisation("bailleur", services={"EDI": []}, nom="Bailleur Robustesse")
        user = factories.user(org, role="bailleur_operator", habilitations={"EDI": None})
        token, raw = factories.api_token(org, user)
        token.last_used_at = factories.utcnow()
        tenants = []
        for i in range(N):
            a = make_allocataire(numero=f"{7400001 + i}")
            make_logement(a, org.code_bailleur, f"LOC-R{i}")
            tenants.append((f"LOC-R{i}", a.numero, a.id))
        signer = Signer(live_app, org)
        db.session.commit()
        setup = {"org_id": org.id, "token": raw, "tenants": tenants, "signer": signer,
                 "org": {"code": org.code_bailleur, "siret": org.siret, "nom": org.nom}}
        db.session.remove()
        return setup


def make_file(setup, file_id: str, rent: int) -> tuple[bytes, bytes]:
    from types import SimpleNamespace
    from tests.support.edi_files import build_xml
    org = SimpleNamespace(code_bailleur=setup["org"]["code"], siret=setup["org"]["siret"])
    records = [{"identifiant": f"R{i}", "code_locataire": code, "numero_allocataire": numero,
                "loyer_cents": rent + i, "charges_cents": 7000, "date_effet": date.today().replace(day=1)}
               for i, (code, numero, _id) in enumerate(setup["tenants"])]
    data = build_xml("LOYERS", org, records, file_id=file_id, sequence=next(SEQUENCE))
    return data, setup["signer"].sign(data)


def upload(live_app, setup, data, signature) -> int:
    client = live_app.test_client()
    response = client.post("/api/v1/edi/fichiers", headers={"Authorization": f"Bearer {setup['token']}"},
                           data={"fichier": (io.BytesIO(data), "r.xml"),
                                 "signature": (io.BytesIO(signature), "r.xml.p7s")},
                           content_type="multipart/form-data")
    assert response.status_code == 202, response.get_data(as_text=True)
    return response.get_json()["id"]


def fetch_file(live_app, fid):
    from edi.models import EdiFichier
    from portal.extensions import db
    with live_app.app_context():
        db.session.rollback()
        f = db.session.get(EdiFichier, fid, populate_existing=True)
        db.session.expunge(f)
        db.session.remove()
        return f


def assert_processed_once(live_app, setup, fid, rent):
    from cdap.loyers import current_rents
    from cdap.models import Logement, LoyerHistorique
    from edi.intake import storage
    from edi.models import EdiEnregistrement
    from portal.extensions import db
    f = fetch_file(live_app, fid)
    assert (f.statut, f.nb_lus, f.nb_acceptes, f.nb_appliques) == ("TRAITE", N, N, N), f.motifs
    assert f.accuse_sha256 and f.accuse_signature_sha256
    with live_app.app_context():
        assert storage.exists(f.accuse_sha256)
        keys = db.session.scalars(select(LoyerHistorique.idempotency_key).where(
            LoyerHistorique.source.like(f"EDI fichier {fid} %"))).all()
        assert sorted(keys) == sorted({*keys}) and len(keys) == N  # one set of rows
        logements = db.session.scalars(select(Logement).where(
            Logement.allocataire_id.in_([t[2] for t in setup["tenants"]]))
            .order_by(Logement.allocataire_id)).all()
        current = current_rents(logements)
        assert [current[lg.id]["loyer_cents"] for lg in logements] == [rent + i for i in range(N)]
        # only records with anomalies are staged: none here
        assert db.session.scalar(select(func.count()).select_from(EdiEnregistrement).where(
            EdiEnregistrement.fichier_id == fid)) == 0
        db.session.remove()


def history_rows(live_app, fid) -> int:
    from cdap.models import LoyerHistorique
    from portal.extensions import db
    with live_app.app_context():
        try:
            return db.session.scalar(select(func.count()).select_from(LoyerHistorique).where(
                LoyerHistorique.source.like(f"EDI fichier {fid} %")))
        finally:
            db.session.remove()


def recover(live_app, worker, job_id):
    """Restart the killed worker, let the lease expire, reconcile, wait for the job."""
    from portal import jobs
    from portal.models import utcnow
    worker.kill()
    worker.start()
    with live_app.app_context():
        live.wait_for(lambda: (j := live.fetch_job(job_id)).status != jobs.RUNNING
                      or (j.lease_expires_at is not None and j.lease_expires_at < utcnow()),
                      timeout=60, message="réservation expirée")
    live.reconcile_now(live_app)
    with live_app.app_context():
        return live.wait_for_job(job_id, statuses=("done",), timeout=90, worker=worker)


@pytest.mark.parametrize("crash_at", ["after_verify", "mid_apply", "before_accuse"])
def test_worker_killed_during_processing_ends_processed_exactly_once(
        crash_at, tmp_path, live_app, landlord_setup, celery_worker_process):
    marker = tmp_path / "crashed"
    worker = celery_worker_process(modules=HANDLERS, queues=("edi",),
                                   env={"EDI_TEST_CRASH_AT": crash_at, "EDI_TEST_CRASH_MARKER": str(marker)})
    rent = {"after_verify": 60000, "mid_apply": 61000, "before_accuse": 62000}[crash_at]
    data, signature = make_file(landlord_setup, f"KILL-{crash_at}", rent)
    fid = upload(live_app, landlord_setup, data, signature)
    live.wait_for(marker.exists, timeout=60, message=f"arrêt brutal {crash_at}")
    f = fetch_file(live_app, fid)
    assert f.statut == "EN_COURS" and f.accuse_sha256 is None
    if crash_at == "mid_apply":  # a batch was applied, in the file's transaction: none of it shows
        assert f.nb_appliques == 0 and not f.staging_complet
        assert history_rows(live_app, fid) == 0
    job = recover(live_app, worker, f.job_id)
    assert job.deliveries >= 2
    assert_processed_once(live_app, landlord_setup, fid, rent)


def test_broker_down_at_upload_still_answers_202_and_is_processed_later(
        live_app, landlord_setup, celery_worker_process):
    data, signature = make_file(landlord_setup, "BROKER-DOWN", 63000)
    with live.broker_down(live_app):
        fid = upload(live_app, landlord_setup, data, signature)
    f = fetch_file(live_app, fid)
    assert f.statut == "RECU"
    with live_app.app_context():
        assert live.fetch_job(f.job_id).sent_at is None  # nothing reached the broker
    worker = celery_worker_process(queues=("edi",))
    time.sleep(2.5)  # past the reconciler's grace period for just-created jobs
    assert f.job_id in live.reconcile_now(live_app)
    with live_app.app_context():
        live.wait_for_job(f.job_id, statuses=("done",), timeout=90, worker=worker)
    assert_processed_once(live_app, landlord_setup, fid, 63000)
