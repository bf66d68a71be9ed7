"""Load of the portal while a large LOYERS file is processed (issue #18): Locust users across the
roles against gunicorn + Celery workers on PostgreSQL + Redis. Results and the exact commands:
bench/README.md (« Charge mixte pendant un gros fichier EDI »).

1. Setup (drops and migrates the database, writes `<workdir>/load.json` and the files):

    .venv/bin/python bench/load_locust.py --database-url postgresql://…/extranet_bench_load \\
        --workdir /tmp/load --records 100000

2. Start gunicorn and the workers on that database (same PORTAL_VAR_DIR / STORAGE_DIR), then:

    LOAD_WORKDIR=/tmp/load .venv/bin/locust -f bench/load_locust.py --headless -u 50 -r 5 \\
        -t 2m --host http://127.0.0.1:8000 --csv /tmp/load/locust

The large file is uploaded when the run starts. Users: AFAS managers (equipment list, draft
save, declaration page), CDAP social workers (API consultation, journal-writing), landlords'
operators (small EDI uploads, file list), partners logging in through the form (audit entry).
The users are Locust's FastHttpUser: same scenario as with HttpUser, less CPU on the client.
"""
from __future__ import annotations

import itertools
import json
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

if __name__ != "__main__":  # imported by locust
    # FastHttpUser (geventhttpclient): the same requests as HttpUser (python-requests) for
    # several times less of the client's CPU, which shares the 2 cores with the server.
    from locust import FastHttpUser as HttpUser
    from locust import between, events, task

    WORKDIR = Path(os.environ.get("LOAD_WORKDIR", "/tmp/load"))
    CONF = json.loads((WORKDIR / "load.json").read_text()) if (WORKDIR / "load.json").exists() else {}
    SMALL = itertools.count()
    CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

    def bearer(kind: str) -> dict:
        return {"Authorization": f"Bearer {CONF['tokens'][kind]}"}

    @events.test_start.add_listener
    def upload_large_file(environment, **_kwargs):
        import requests
        large = WORKDIR / "large.xml"
        with open(large, "rb") as data, open(str(large) + ".p7s", "rb") as sig:
            r = requests.post(environment.host + "/api/v1/edi/fichiers", headers=bearer("edi"),
                              files={"fichier": ("loyers.xml", data), "signature": ("loyers.xml.p7s", sig)},
                              timeout=600)
        print(f"gros fichier : HTTP {r.status_code} {r.text[:200]}", file=sys.stderr)

    class AfasManager(HttpUser):
        weight = 3
        wait_time = between(1, 3)

        @task(3)
        def equipements(self):
            self.client.get("/api/v1/afas/equipements", headers=bearer("afas"), name="API liste équipements")

        @task(2)
        def save_draft(self):
            draft = CONF["drafts"][hash(self) % len(CONF["drafts"])]
            self.client.put(f"/api/v1/afas/declarations/{draft}", headers=bearer("afas"),
                            json={"donnees": {"capacite": "60"}}, name="API brouillon AFAS")

    CDAP_TOKENS = itertools.count()

    class CdapWorker(HttpUser):
        """One API token per simulated social worker (a token shared by all of them was
        suspended for atypical volume within the first minute: 254 × 403 in the first run)."""
        weight = 3
        wait_time = between(1, 3)

        def on_start(self):
            tokens = CONF["cdap_tokens"]
            self.headers = {"Authorization": f"Bearer {tokens[next(CDAP_TOKENS) % len(tokens)]}"}

        @task
        def consult(self):
            self.client.post("/api/v1/cdap/consultations", headers=self.headers, name="API consultation CDAP",
                             json={"numero_allocataire": CONF["allocataire"], "nom": "Charge",
                                   "motif": "accompagnement_social"})

    class LandlordOperator(HttpUser):
        weight = 1
        wait_time = between(2, 5)

        @task(3)
        def files(self):
            self.client.get("/api/v1/edi/fichiers", headers=bearer("edi"), name="API liste fichiers EDI")

        @task(1)
        def upload(self):
            n = next(SMALL) % CONF["small_files"]
            path = WORKDIR / f"small-{n}.xml"
            with open(path, "rb") as data, open(str(path) + ".p7s", "rb") as sig:
                self.client.post("/api/v1/edi/fichiers", headers=bearer("edi"), name="API dépôt EDI",
                                 files={"fichier": (path.name, data), "signature": (path.name + ".p7s", sig)})

    class PartnerVisitor(HttpUser):
        weight = 3
        wait_time = between(1, 3)

        @task
        def login_and_pages(self):
            self.client.cookiejar.clear()  # a new visitor: no session cookie
            page = self.client.get("/connexion", name="page connexion")
            match = CSRF.search(page.text)
            token = match.group(1) if match else ""
            self.client.post("/connexion", name="connexion (formulaire)", allow_redirects=False,
                             data={"email": CONF["email"], "password": CONF["password"], "csrf_token": token})
            self.client.get("/", name="page d'accueil")
            self.client.get("/afas/", name="page AFAS")


def setup(database_url: str, workdir: Path, records: int, small_files: int) -> None:
    """A fresh database: the bench landlord and its tenants, a partner with AFAS and CDAP, tokens,
    the large file and `small_files` small ones, all signed."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    import edi_bench
    workdir.mkdir(parents=True, exist_ok=True)
    info = edi_bench.setup(workdir, database_url, records)
    app = edi_bench.make_app(workdir, database_url)
    from datetime import date

    from afas import conventions as afas_conventions
    from afas import services as afas_services
    from afas.models import Equipement
    from portal.crypto.signature import load_certificates, load_private_key, sign_detached
    from portal.extensions import db
    from portal.models import Organisation, User
    from tests.support import factories
    from portal.dates import today as paris_today
    from tests.cdap.conftest import make_allocataire
    with app.app_context():
        landlord = db.session.get(Organisation, info["organisation_id"])
        operator = factories.user(landlord, role="bailleur_operator", habilitations={"EDI": None})
        _t, edi_token = factories.api_token(landlord, operator)
        partner = factories.organisation("collectivite", services={"AFAS": [], "CDAP": ["travailleur_social"]})
        manager = factories.user(partner, "partner_manager",
                                 habilitations={"AFAS": None, "CDAP": "travailleur_social"}, mfa=False)
        _t, afas_token = factories.api_token(partner, manager, scopes=("AFAS",))
        _t, cdap_token = factories.api_token(partner, manager, scopes=("CDAP",), profil="travailleur_social")
        cdap_tokens = [factories.api_token(partner, manager, scopes=("CDAP",), profil="travailleur_social")[1]
                       for _ in range(50)]
        visitor: User = factories.user(partner, "partner_manager", habilitations={"AFAS": None})
        drafts = []
        for i in range(20):
            eq = Equipement(organisation_id=partner.id, type="ALSH", nom=f"Centre {i}",
                            numero=f"ALSH-L{partner.id}-{i}", activite="extrascolaire")
            db.session.add(eq)
            db.session.flush()
            year = paris_today().year  # a signed convention in force: without one the service is off
            convention = afas_conventions.record_convention(eq, f"COF-{eq.numero}", date(year, 1, 1),
                                                            date(year + 2, 12, 31), actor=manager)
            afas_conventions.upload_signed(convention, "cof.pdf", b"%PDF-1.4 banc", date(year, 1, 1), actor=manager)
            drafts.append(afas_services.create_declaration(eq, year, "previsionnel", manager).id)
        make_allocataire(numero="8800001", nom="Charge")
        db.session.commit()
        conf = {"tokens": {"edi": edi_token, "afas": afas_token, "cdap": cdap_token},
                "cdap_tokens": cdap_tokens,
                "email": visitor.email, "password": factories.PASSWORD, "drafts": drafts,
                "allocataire": "8800001", "small_files": small_files}
    key = load_private_key(Path(info["key"]).read_bytes())
    cert = load_certificates(Path(info["cert"]).read_bytes())[0]
    files = [(workdir / "large.xml", records, "LOAD-LARGE", 1)]
    files += [(workdir / f"small-{i}.xml", 50, f"LOAD-SMALL-{i}", 2 + i) for i in range(small_files)]
    for path, n, file_id, sequence in files:
        edi_bench.write_file(path, n, layout="compact", file_id=file_id, sequence=sequence)
        Path(str(path) + ".p7s").write_bytes(sign_detached(path.read_bytes(), key, cert))
    (workdir / "load.json").write_text(json.dumps(conf))
    print(json.dumps({"workdir": str(workdir), "var": str(workdir / "var")}))


if __name__ == "__main__":
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--workdir", default="/tmp/load")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--small-files", type=int, default=200)
    options = parser.parse_args()
    setup(options.database_url, Path(options.workdir), options.records, options.small_files)
