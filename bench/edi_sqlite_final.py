"""SQLite (`make run`): how long the one write transaction of a large LOYERS file lasts (issue #18).

    .venv/bin/python bench/edi_sqlite_final.py --records 100000

A fresh SQLite database (WAL, as `make run`) with N tenants of the bench landlord, a LOYERS file
of N records (edi_bench.write_file, "compact" layout), processed in-process by the worker's code
(`process_file`). Prints the whole processing time and the final transaction's (the staged
rows applied and committed, `Applier.final_seconds`, and its number of SQL statements): the
only time the file holds SQLite's write lock, to compare with the busy timeout (25 s).
EDI_SQLITE_PROFILE=1 prints a profile of the final transaction. Results: bench/README.md.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import edi_bench  # noqa: E402  (bench/, next to this script)


def seed_tenants(db, n: int) -> None:
    from sqlalchemy import insert
    from cdap.models import Allocataire, Logement
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    for start in range(1, n + 1, 20_000):
        ids = range(start, min(start + 20_000, n + 1))
        db.session.execute(insert(Allocataire.__table__), [
            {"id": i, "numero": f"{1000000 + i:07d}", "nom": f"NOM{i}", "nom_normalise": f"NOM{i}",
             "prenom": "Bench", "date_naissance": date(1980, 1, 1), "adresse": "1 rue du Banc",
             "code_postal": "80000", "commune": "Amiens", "departement": "80",
             "situation_familiale": "celibataire", "updated_at": now} for i in ids])
        db.session.execute(insert(Logement.__table__), [
            {"allocataire_id": i, "code_bailleur": edi_bench.CODE, "code_locataire": f"LOC{i:07d}",
             "loyer_cents": 50000, "charges_cents": 8000, "nb_colocataires": 0,
             "date_entree": date(2020, 1, 1), "tiers_payant": True, "updated_at": now} for i in ids])
    db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    options = parser.parse_args()
    n = options.records
    workdir = Path(tempfile.mkdtemp(prefix="edi-sqlite-final-"))
    db_url = f"sqlite:///{workdir / 'portal.sqlite'}"
    app = edi_bench.make_app(workdir, db_url)
    from flask_migrate import upgrade
    from edi import services
    from edi.intake import applier as applier_module, process
    from portal import jobs
    from portal.extensions import db
    from portal.models import Contrat, Organisation
    with app.app_context():
        upgrade(revision="heads")
        org = Organisation(nom="Bailleur Bench", kind="bailleur", siret=edi_bench.SIRET,
                           code_bailleur=edi_bench.CODE, territoire="80")
        org.contrats.append(Contrat(service="EDI", profils=[], debut=datetime(2024, 1, 1, tzinfo=timezone.utc).replace(tzinfo=None)))
        db.session.add(org)
        db.session.commit()
        seed_tenants(db, n)
        signer = edi_bench.register_signer(app, org, workdir)
        db.session.commit()
        path = workdir / f"loyers-{n}.xml"
        edi_bench.write_file(path, n, layout="compact")
        from portal.crypto.signature import load_certificates, load_private_key, sign_detached
        signature = sign_detached(path.read_bytes(), load_private_key(Path(signer["key"]).read_bytes()),
                                  load_certificates(Path(signer["cert"]).read_bytes())[0])
        appliers = []
        finish = applier_module.Applier.finish
        statements = []

        def count(*_args, **_kwargs):
            statements.append(1)

        def measured(self, lus):
            appliers.append(self)
            from sqlalchemy import event
            engine = db.engine
            event.listen(engine, "before_cursor_execute", count)
            try:
                if os.environ.get("EDI_SQLITE_PROFILE"):
                    import cProfile
                    import pstats
                    profiler = cProfile.Profile()
                    profiler.runcall(finish, self, lus)
                    pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
                else:
                    finish(self, lus)
            finally:
                event.remove(engine, "before_cursor_execute", count)

        applier_module.Applier.finish = measured
        with open(path, "rb") as data:
            import io
            f = services.receive_file(org, data, path.name, io.BytesIO(signature), canal="api")
        job = jobs.claim(f.job_id)
        t0 = time.perf_counter()
        result = process.process_file(f.id, job)
        total = time.perf_counter() - t0
        f = db.session.get(type(f), f.id, populate_existing=True)
        print(json.dumps({"records": n, "statut": result.get("statut"), "appliques": f.nb_appliques,
                          "process_s": round(total, 2),
                          "final_transaction_s": round(appliers[0].final_seconds, 2) if appliers else None,
                          "final_statements": len(statements)}))
    import shutil
    shutil.rmtree(workdir, ignore_errors=True)  # a 250,000-record run leaves ~280 MB


if __name__ == "__main__":
    main()
