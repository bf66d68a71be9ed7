"""Two real Celery workers as on two hosts (docs/deploiement-multi-hotes.md): each in a working
directory and a VAR_DIR of its own, both on one database, one broker and one storage root
(STORAGE_DIR, the shared volume), the keys given by settings. Files uploaded at once are each
processed exactly once: TRAITE once, one ACCUSE, one set of CDAP rows, counted once for the
certificate that signed it. Uses the real-worker fixtures of tests/support/live.py."""
from __future__ import annotations

import io
import os
from datetime import date

import pytest
from sqlalchemy import func, select

from tests.support import live

pytestmark = pytest.mark.worker

FILES = 8  # one per landlord: each file is the first of its landlord's sequence
RECORDS = 20


@pytest.fixture(scope="module")
def live_settings():
    """The keys are settings, as in production (no host generates its demo PKI in its own
    VAR_DIR): the demo PKI of the live app's VAR_DIR, where the tests' Signer issues from."""
    from portal.crypto.pki import ensure_demo_pki
    from tests.support.plugin import TMP
    pki = ensure_demo_pki(TMP / live.LIVE_NAME)
    return {"EDI_BATCH_SIZE": "8", "EDI_TRUST_ANCHORS": str(pki.path("ca_cert")),
            "EDI_CAF_SIGNING_CERT": str(pki.path("caf_cert")),
            "EDI_CAF_SIGNING_KEY": str(pki.path("caf_key"))}


@pytest.fixture(scope="module")
def landlords(live_app):
    """FILES landlords, each with RECORDS tenants, an API token and an approved certificate."""
    from portal.extensions import db
    from tests.support import factories
    from tests.cdap.conftest import make_allocataire, make_logement
    from tests.support.edi_files import Signer
    out = []
    with live_app.app_context():
        for n in range(FILES):
            org = factories.organisation("bailleur", services={"EDI": []}, nom=f"Bailleur Hôtes {n}")
            user = factories.user(org, role="bailleur_operator", habilitations={"EDI": None})
            token, raw = factories.api_token(org, user)
            token.last_used_at = factories.utcnow()
            tenants = []
            for i in range(RECORDS):
                a = make_allocataire(numero=f"{7500000 + n * 100 + i}")
                make_logement(a, org.code_bailleur, f"LOC-H{n}-{i}")
                tenants.append((f"LOC-H{n}-{i}", a.numero))
            signer = Signer(live_app, org)
            db.session.commit()
            out.append({"org_id": org.id, "code": org.code_bailleur, "siret": org.siret, "token": raw,
                        "tenants": tenants, "signer": signer, "certificate_id": signer.registered.id})
        db.session.remove()
    return out


def upload(live_app, landlord) -> int:
    from types import SimpleNamespace
    from tests.support.edi_files import build_xml
    org = SimpleNamespace(code_bailleur=landlord["code"], siret=landlord["siret"])
    records = [{"identifiant": f"H{i}", "code_locataire": code, "numero_allocataire": numero,
                "loyer_cents": 64000 + i, "charges_cents": 7000, "date_effet": date.today().replace(day=1)}
               for i, (code, numero) in enumerate(landlord["tenants"])]
    data = build_xml("LOYERS", org, records, file_id=f"HOTES-{landlord['code']}")
    response = live_app.test_client().post(
        "/api/v1/edi/fichiers", headers={"Authorization": f"Bearer {landlord['token']}"},
        data={"fichier": (io.BytesIO(data), "h.xml"),
              "signature": (io.BytesIO(landlord["signer"].sign(data)), "h.xml.p7s")},
        content_type="multipart/form-data")
    assert response.status_code == 202, response.get_data(as_text=True)
    return response.get_json()["id"]


def test_two_workers_on_two_hosts_process_every_file_exactly_once(
        tmp_path, live_app, landlords, celery_worker_process):
    from cdap.models import LoyerHistorique
    from edi.certificates.models import RegisteredCertificate
    from edi.intake import storage
    from edi.models import EdiFichier
    from portal.audit import AuditEntry
    from portal.extensions import db

    hosts = [tmp_path / "hote-a", tmp_path / "hote-b"]
    workers = []
    for host in hosts:
        host.mkdir()
        workers.append(celery_worker_process(queues=("edi",), cwd=host,
                                             env={"PORTAL_VAR_DIR": str(host / "var")}))
    ids = [upload(live_app, landlord) for landlord in landlords]

    with live_app.app_context():
        files = [db.session.get(EdiFichier, fid) for fid in ids]
        job_ids = [f.job_id for f in files]
        db.session.remove()
        ended = [live.wait_for_job(job_id, timeout=180, worker=workers[0]) for job_id in job_ids]
        assert [(job.status, job.deliveries) for job in ended] == [("done", 1)] * FILES  # none twice

        db.session.rollback()
        for fid, landlord in zip(ids, landlords):
            f = db.session.get(EdiFichier, fid, populate_existing=True)
            assert (f.statut, f.nb_lus, f.nb_appliques) == ("TRAITE", RECORDS, RECORDS), f.motifs
            assert storage.exists(f.accuse_sha256) and storage.exists(f.accuse_signature_sha256)
            keys = db.session.scalars(select(LoyerHistorique.idempotency_key).where(
                LoyerHistorique.source.like(f"EDI fichier {fid} %"))).all()
            assert len(keys) == len(set(keys)) == RECORDS  # one set of CDAP rows
            closed = db.session.scalar(select(func.count()).select_from(AuditEntry).where(
                AuditEntry.action == "fichier_traite", AuditEntry.target == f"edi_fichier:{fid}"))
            assert closed == 1  # TRAITE once, one ACCUSE
            certificate = db.session.get(RegisteredCertificate, landlord["certificate_id"])
            assert certificate.files_verified == 1
        db.session.remove()

    # Both hosts took files; each worked from the shared root and the settings alone: nothing
    # written in its working directory but its own VAR_DIR, no storage nor PKI there.
    for worker in workers:
        assert "succeeded" in worker.log_path.read_text(errors="replace"), worker.log_tail()
    for host in hosts:
        assert os.listdir(host) == ["var"]
        assert not (host / "var" / "storage").exists() and not (host / "var" / "pki").exists()
