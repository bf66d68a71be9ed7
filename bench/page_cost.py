"""CPU time and SQL statements per request kind, in-process (Flask test client, no HTTP).

    .venv/bin/python bench/page_cost.py                       # demo data on extranet_pagecost_bench
    .venv/bin/python bench/page_cost.py --iterations 50 --database-url postgresql://…/base

The bench (re)creates its database when asked (`--reset`), migrates it and loads the demo data
(`portal seed-demo`), then signs each demo account in through the real login form (and its TOTP
step) and measures, for every request kind, the process CPU time (`time.process_time`: the web
process's own work on all its threads — Argon2 hashes on several with the library's default
parameters, which `time.thread_time` missed —, not PostgreSQL's and not the wait for the other
engineers' processes) and
the statements sent to the database (`before_cursor_execute`), median over `--iterations`.
CPU time is what a shared 2-core machine can measure honestly; wall-clock under load is the
Locust scenario's job (bench/load_locust.py).
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgresql://extranet:extranet@127.0.0.1:5432/extranet_pagecost_bench"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
META_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')

# (label, account, method, path): the dashboards of each demo role, then the lists and forms.
DASHBOARDS = [
    ("accueil — admin Caf", "admin.caf@caf80.example"),
    ("accueil — agent Caf", "agent.caf@caf80.example"),
    ("accueil — gestionnaire AFAS", "gestionnaire@amiens.example"),
    ("accueil — admin partenaire", "admin@amiens.example"),
    ("accueil — opérateur bailleur", "operateur@picardie-habitat.example"),
    ("accueil — travailleur social", "ts@somme.example"),
    ("accueil — responsable d'équipe", "responsable@somme.example"),
    ("accueil — quotient familial", "qf@amiens.example"),
]
PAGES = [
    ("AFAS — liste des équipements", "gestionnaire@amiens.example", "/afas/"),
    ("EDI — liste des fichiers", "operateur@picardie-habitat.example", "/edi/fichiers"),
    ("CDAP — formulaire de consultation", "ts@somme.example", "/cdap/consultation"),
    ("CDAP — file des impayés", "ts@somme.example", "/cdap/impayes"),
    ("page de connexion (anonyme)", None, "/connexion"),
]


def make_app(db_url: str):
    from portal import create_app
    workdir = Path("/tmp/pagecost-bench")
    return create_app({
        "PORTAL_ENV": "testing", "PORTAL_VAR_DIR": str(workdir / "var"),
        "STORAGE_DIR": str(workdir / "var" / "storage"), "DATABASE_URL": db_url,
        "SECRET_KEY": "bench-" + "x" * 40, "JOB_DISPATCH": "manual", "RATELIMIT_ENABLED": "0",
        # The ordinary consultation is measured, not an alert: thresholds out of the bench's
        # reach (the counts are read and checked all the same), at night too.
        "CDAP_ATYPICAL_EXEMPT_TOKENS": "1", "CDAP_DAILY_ALERT": "99999", "CDAP_DAILY_SUSPEND": "100000",
        "CDAP_NIGHT_ALERT": "99999", "CDAP_NIGHT_SUSPEND": "100000",
    })


def prepare(db_url: str, reset: bool) -> None:
    from sqlalchemy import create_engine, text
    base, name = db_url.rsplit("/", 1)
    admin = create_engine(base.replace("postgresql://", "postgresql+psycopg://") + "/postgres",
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname=:n"), {"n": name}).scalar()
        if exists and reset:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            exists = False
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    app = make_app(db_url)
    with app.app_context():
        from flask_migrate import upgrade
        from portal.demo import seed_demo
        from portal.extensions import db
        upgrade(revision="heads")
        seed_demo()
        db.session.commit()


class Meter:
    """Thread CPU and statements of one request."""

    def __init__(self, engine):
        from sqlalchemy import event
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._on)

    def _on(self, *_a, **_k):
        self.count += 1

    def measure(self, call):
        self.count = 0
        start = time.process_time()
        response = call()
        return response, (time.process_time() - start) * 1000, self.count


def sign_in(client, email: str, password: str | None = None):
    import pyotp
    from portal.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET
    page = client.get("/connexion").get_data(as_text=True)
    r = client.post("/connexion", data={"email": email, "password": password or DEMO_PASSWORD,
                                        "csrf_token": CSRF.search(page).group(1)})
    assert r.status_code == 302, r.status_code
    if "/connexion/code" in r.headers.get("Location", ""):
        page = client.get("/connexion/code").get_data(as_text=True)
        r = client.post("/connexion/code", data={"code": pyotp.TOTP(DEMO_TOTP_SECRET).now(),
                                                 "csrf_token": CSRF.search(page).group(1)})
        assert r.status_code == 302, r.status_code


def run(db_url: str, iterations: int, profile: str | None = None) -> list[tuple[str, int, float, float, int]]:
    app = make_app(db_url)
    from portal.extensions import db
    with app.app_context():
        meter = Meter(db.engine)
    clients = {}
    # ts@somme.example stands for a social worker of its organisation and profile, new for each
    # run: the atypical-use rules may have suspended the demo account in an earlier run.
    worker_email, raw = _social_worker(app)

    def client_for(email):
        if email not in clients:
            clients[email] = app.test_client()
            if email == "ts@somme.example":
                sign_in(clients[email], worker_email, password=_factories().PASSWORD)
            elif email:
                sign_in(clients[email], email)
        return clients[email]

    rows = []

    def bench(label, call, expect=200, before=None):
        """`before()` (not measured) returns the arguments of `call`."""
        call(*(before() if before else ()))  # warm-up: templates compiled, caches filled
        cpu, statements = [], []
        status = None
        profiler = _profiler(label, profile)
        for _ in range(iterations):
            args = before() if before else ()
            if profiler:
                profiler.enable()
            response, ms, n = meter.measure(lambda args=args: call(*args))
            if profiler:
                profiler.disable()
            status = response.status_code
            assert status == expect, (label, status)
            cpu.append(ms)
            statements.append(n)
        rows.append((label, status, statistics.median(cpu), _p(cpu, 0.9), int(statistics.median(statements))))
        if profiler:
            _print_profile(label, profiler)

    for label, email in DASHBOARDS:
        c = client_for(email)
        bench(label, lambda c=c: c.get("/accueil"))
    for label, email, path in PAGES:
        c = client_for(email)
        bench(label, lambda c=c, path=path: c.get(path))

    from portal.demo import DEMO_PASSWORD

    def fresh_login_form():
        login_client = app.test_client()
        page = login_client.get("/connexion").get_data(as_text=True)
        return login_client, CSRF.search(page).group(1)

    bench("connexion (POST du formulaire, sans TOTP)",
          lambda c, token: c.post("/connexion", data={"email": "gestionnaire@amiens.example",
                                                       "password": DEMO_PASSWORD, "csrf_token": token}),
          expect=302, before=fresh_login_form)

    ts = client_for("ts@somme.example")
    html = ts.get("/cdap/consultation").get_data(as_text=True)
    token = CSRF.search(html).group(1)
    from cdap.demo import demo_records
    showcase = demo_records()[0]
    form = {"numero": showcase["numero"], "nom": showcase["nom"], "motif": "accompagnement_social",
            "csrf_token": token}
    bench("CDAP — consultation (page)", lambda: ts.post("/cdap/consultation", data=form))
    body = {"numero_allocataire": showcase["numero"], "nom": showcase["nom"], "motif": "accompagnement_social"}
    api = app.test_client()
    bench("CDAP — consultation (API)",
          lambda: api.post("/api/v1/cdap/consultations", json=body, headers={"Authorization": f"Bearer {raw}"}))
    return rows


def _profiler(label: str, pattern: str | None):
    """A cProfile profiler for the cases whose label contains `pattern` (`--profile`)."""
    if not pattern or pattern.lower() not in label.lower():
        return None
    import cProfile
    return cProfile.Profile(time.process_time)  # CPU, as the table: not the wait for PostgreSQL


def _print_profile(label: str, profiler) -> None:
    import pstats
    print(f"\n=== profil : {label} (cumulé, puis propre) ===", file=sys.stderr)
    stats = pstats.Stats(profiler, stream=sys.stderr).strip_dirs()
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(25)


def _factories():
    from tests.support import factories
    return factories


def _social_worker(app) -> tuple[str, str]:
    """A new social worker of ts@somme.example's organisation and profile, and an API token."""
    with app.app_context():
        from portal.extensions import db
        from portal.models import User
        factories = _factories()
        model = db.session.query(User).filter_by(email="ts@somme.example").one()
        user = factories.user(model.organisation, "travailleur_social", {"CDAP": "travailleur_social"},
                              mfa=True, email=f"bench-{time.time_ns()}@somme.example")
        from portal.demo import DEMO_TOTP_SECRET
        user.totp_secret = DEMO_TOTP_SECRET  # the TOTP step of `sign_in`
        _t, raw = factories.api_token(model.organisation, user, scopes=("CDAP",), profil="travailleur_social")
        email = user.email
        db.session.commit()
        return email, raw


def _p(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("PAGECOST_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--reset", action="store_true", help="recreate the database first")
    parser.add_argument("--no-setup", action="store_true", help="the database is migrated and seeded")
    parser.add_argument("--profile", metavar="LABEL",
                        help="cProfile the cases whose label contains LABEL, printed on stderr")
    options = parser.parse_args()
    if not options.no_setup:
        prepare(options.database_url, options.reset)
    load = os.getloadavg()
    rows = run(options.database_url, options.iterations, options.profile)
    print(f"charge (uptime) au départ : {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ; "
          f"{options.iterations} requêtes par cas, médiane")
    print("| Requête | statut | CPU web médian | CPU p90 | instructions SQL |")
    print("|---|---|---|---|---|")
    for label, status, cpu, p90, n in rows:
        print(f"| {label} | {status} | {cpu:.1f} ms | {p90:.1f} ms | {n} |")


if __name__ == "__main__":
    main()
