"""Ten concurrent uploads of the same file, against the app on a real database of its own (no
rolled-back test transaction): one is processed, the nine others are DOUBLON of it."""
from __future__ import annotations

import io
import threading

import pytest
from sqlalchemy import func, select

pytestmark = pytest.mark.committed  # committed data: no per-test rolled-back transaction


@pytest.fixture(scope="module")
def conc_app():
    from tests.support.plugin import committed_app
    yield from committed_app("edi_concurrency")


def test_ten_concurrent_uploads_of_one_file_give_one_processing_and_nine_duplicates(conc_app):
    from portal import jobs
    from portal.extensions import db
    from edi.models import EdiFichier
    from tests.support import factories
    from tests.cdap.conftest import make_allocataire, make_logement
    from tests.support.edi_files import Signer, build_xml

    with conc_app.app_context():
        org = factories.organisation("bailleur", services={"EDI": []}, nom="Bailleur Concurrence")
        user = factories.user(org, role="bailleur_operator", habilitations={"EDI": None})
        token, raw = factories.api_token(org, user)
        token.last_used_at = factories.utcnow()  # (first use would also write the token row)
        a = make_allocataire(numero="7300001")
        make_logement(a, org.code_bailleur, "LOC-C1")
        signer = Signer(conc_app, org)
        db.session.commit()
        data = build_xml("LOYERS", org, [{"identifiant": "C1", "code_locataire": "LOC-C1",
                                          "numero_allocataire": "7300001", "loyer_cents": 55500,
                                          "charges_cents": 7000, "date_effet": "2026-07-01"}])
        signature = signer.sign(data)
        org_id = org.id
        db.session.remove()

    barrier = threading.Barrier(10)
    statuses, errors = [], []

    def post():
        try:
            client = conc_app.test_client()
            barrier.wait()
            response = client.post("/api/v1/edi/fichiers", headers={"Authorization": f"Bearer {raw}"},
                                   data={"fichier": (io.BytesIO(data), "c.xml"),
                                         "signature": (io.BytesIO(signature), "c.xml.p7s")},
                                   content_type="multipart/form-data")
            statuses.append(response.status_code)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=post) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and statuses == [202] * 10

    with conc_app.app_context():
        for job_id in db.session.scalars(select(jobs.Job.id).where(jobs.Job.status == jobs.PENDING)):
            jobs.run(job_id)
        files = db.session.scalars(select(EdiFichier).where(EdiFichier.organisation_id == org_id)
                                   .order_by(EdiFichier.id)).all()
        assert len(files) == 10
        processed = [f for f in files if f.statut == "TRAITE"]
        assert len(processed) == 1
        first = processed[0]
        assert sorted(f.statut for f in files if f is not first) == ["DOUBLON"] * 9
        assert {f.doublon_de_id for f in files if f is not first} == {first.id}
        from cdap.models import LoyerHistorique
        assert db.session.scalar(select(func.count()).select_from(LoyerHistorique)) == 1
        assert len({f.accuse_sha256 for f in files}) == 10  # one ACCUSE each, all signed
        db.session.remove()
