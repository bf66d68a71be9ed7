"""CDAP benchmark: consultation page and API under concurrent load, journal write included.

    # 1. a PostgreSQL database with the schema, the demo accounts and N synthetic allocataires
    export DATABASE_URL=postgresql://extranet:extranet@127.0.0.1:5432/extranet_bench_cdap
    export PORTAL_VAR_DIR=/tmp/var-cdap-bench
    portal migrate && portal seed-demo
    psql "$DATABASE_URL" -v n=1000000 -v start=2000000 -f bench/cdap_fill.sql   # set-based fill
    #    (or the import path: portal cdap generate --count N --out f.jsonl && portal cdap import f.jsonl)
    # 2. the load: starts gunicorn on 127.0.0.1:8099, signs in ts@somme.example (demo TOTP),
    #    creates a CDAP API token, then sends a bounded number of requests from C threads.
    python bench/cdap_bench.py --requests 3000 --concurrency 8 --workers 3

Each request is a full consultation: CSRF-checked POST (page) or Bearer POST (API), numéro +
name lookup within scope, the profile's sections, one hash-chained journal row (row lock on the
chain head) and the atypical-use counters, committed. 10 % of the requests ask for a file that
does not exist. Latencies are measured client-side on loopback; the client shares the 2 cores.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST, PORT = "127.0.0.1", 8099
NAMES = ['MARTIN', 'BERNARD', 'THOMAS', 'PETIT', 'ROBERT', 'RICHARD', 'DURAND', 'DUBOIS', 'MOREAU', 'LAURENT',
         'SIMON', 'MICHEL', 'LEFEBVRE', 'LEROY', 'ROUX', 'DAVID', 'BERTRAND', 'MOREL', 'FOURNIER', 'GIRARD',
         'BONNET', 'DUPONT', 'LAMBERT', 'FONTAINE', 'ROUSSEAU', 'VINCENT', 'MULLER', 'LEFEVRE', 'FAURE', 'ANDRE',
         'MERCIER', 'BLANC', 'GUERIN', 'BOYER', 'GARNIER', 'CHEVALIER', 'FRANCOIS', 'LEGRAND', 'GAUTHIER',
         'GARCIA', 'PERRIN', 'ROBIN', 'CLEMENT', 'MORIN', 'NICOLAS', 'HENRY', 'ROUSSEL', 'MATHIEU', 'GAUTIER',
         'MASSON']
BENCH_ENV = {
    # Atypical-use thresholds out of the way: the bench is one user making thousands of requests.
    "CDAP_DAILY_ALERT": "99999", "CDAP_DAILY_SUSPEND": "100000",
    "CDAP_NIGHT_ALERT": "99999", "CDAP_NIGHT_SUSPEND": "100000",
    "CDAP_NOTFOUND_ALERT": "50", "CDAP_NOTFOUND_SUSPEND": "51",
    "RATELIMIT_ENABLED": "0",
}


def pick(filled: int, start: int, rng: random.Random) -> tuple[str, str, bool]:
    """A (numéro, nom) of the SQL fill (nom = NAMES[g % 50]), or 10 % of unknown files."""
    g = rng.randint(1, filled)
    if rng.random() < 0.10:
        return f"{9_500_000 + g % 400_000:07d}", NAMES[g % 50], False
    return f"{start + g:07d}", NAMES[g % 50].capitalize(), True


class Session:
    def __init__(self):
        self.cookies: dict[str, str] = {}

    def request(self, conn, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        for key, value in resp.getheaders():
            if key.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        return resp.status, data


def csrf_of(html: bytes) -> str:
    m = re.search(rb'name="csrf-token" content="([^"]+)"', html)
    return m.group(1).decode()


def sign_in(email: str, password: str, totp_secret: str) -> tuple[Session, str]:
    import pyotp
    s = Session()
    conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
    _, html = s.request(conn, "GET", "/connexion")
    form = urllib.parse.urlencode({"email": email, "password": password, "csrf_token": csrf_of(html)})
    status, _ = s.request(conn, "POST", "/connexion", form, {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 302, status
    _, html = s.request(conn, "GET", "/connexion/code")
    form = urllib.parse.urlencode({"code": pyotp.TOTP(totp_secret).now(), "csrf_token": csrf_of(html)})
    status, _ = s.request(conn, "POST", "/connexion/code", form, {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 302, f"MFA refusée ({status}) : attendez 30 s (code TOTP déjà utilisé) et relancez"
    _, html = s.request(conn, "GET", "/cdap/consultation")
    return s, csrf_of(html)


def make_api_token(email: str, profile: str) -> str:
    """Create a CDAP token for the user's organisation, directly in the database."""
    sys.path.insert(0, str(ROOT))
    from portal import create_app
    from portal.extensions import db
    from portal.models import User
    from tests.factories import api_token
    app = create_app()
    with app.app_context():
        user = db.session.query(User).filter_by(email=email).one()
        _token, raw = api_token(user.organisation, user, scopes=("CDAP",), cdap_profile=profile, days=1)
        db.session.commit()
    return raw


def run_load(kind: str, n: int, concurrency: int, filled: int, start: int, session=None, csrf=None,
             token=None) -> dict:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    counter = iter(range(n))

    def worker(seed):
        rng = random.Random(seed)
        conn = http.client.HTTPConnection(HOST, PORT, timeout=60)
        local_lat, local_status = [], {}
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            numero, nom, _exists = pick(filled, start, rng)
            if kind == "page":
                body = urllib.parse.urlencode({"numero": numero, "nom": nom, "motif": "accompagnement_social",
                                               "commentaire": "", "csrf_token": csrf})
                headers = {"Content-Type": "application/x-www-form-urlencoded",
                           "Cookie": "; ".join(f"{k}={v}" for k, v in session.cookies.items())}
                path = "/cdap/consultation"
            else:
                body = json.dumps({"numero_allocataire": numero, "nom": nom, "motif": "accompagnement_social"})
                headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
                path = "/api/v1/cdap/consultations"
            t0 = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                status = resp.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(HOST, PORT, timeout=60)
                status = 0
            local_lat.append(time.perf_counter() - t0)
            local_status[status] = local_status.get(status, 0) + 1
        with lock:
            latencies.extend(local_lat)
            for k, v in local_status.items():
                statuses[k] = statuses.get(k, 0) + v

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    return {"kind": kind, "requests": len(latencies), "concurrency": concurrency,
            "seconds": round(elapsed, 1), "req_per_s": round(len(latencies) / elapsed, 1),
            "p50_ms": round(q[49] * 1000, 1), "p95_ms": round(q[94] * 1000, 1),
            "p99_ms": round(q[98] * 1000, 1), "max_ms": round(latencies[-1] * 1000, 1), "statuses": statuses}


def inprocess(n: int, filled: int, start: int) -> dict:
    """Server-side cost of one consultation, without HTTP or the client: Flask test client in
    this process (CSRF, lookup, sections, template, journal row, commit). Reports wall time and
    this process's CPU time per request (PostgreSQL's own CPU is not included in the latter)."""
    import hashlib
    import secrets
    sys.path.insert(0, str(ROOT))
    from portal import create_app
    from portal.extensions import db
    from portal.models import User, UserSession, utcnow
    app = create_app()
    client = app.test_client()
    with app.app_context():
        user = db.session.query(User).filter_by(email="ts@somme.example").one()
        token = secrets.token_urlsafe(32)
        db.session.add(UserSession(id=hashlib.sha256(token.encode()).hexdigest(), user_id=user.id,
                                   mfa_verified_at=utcnow()))
        db.session.commit()
        user_id = user.id
    with client.session_transaction() as sess:
        sess["sid"] = token
        sess["_user_id"] = str(user_id)
        sess["_fresh"] = True
    html = client.get("/cdap/consultation").data
    csrf = csrf_of(html)
    rng = random.Random(1)
    walls, cpus, statuses = [], [], {}
    for _ in range(n):
        numero, nom, _exists = pick(filled, start, rng)
        w0, c0 = time.perf_counter(), time.process_time()
        r = client.post("/cdap/consultation", data={"numero": numero, "nom": nom, "motif": "accompagnement_social",
                                                    "commentaire": "", "csrf_token": csrf})
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
    walls.sort()
    q = statistics.quantiles(walls, n=100)
    return {"kind": "page in-process", "requests": n, "p50_ms": round(q[49] * 1000, 2),
            "p95_ms": round(q[94] * 1000, 2), "cpu_ms_median": round(statistics.median(cpus) * 1000, 2),
            "statuses": statuses}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers")
    parser.add_argument("--filled", type=int, default=1_000_000, help="allocataires of the SQL fill")
    parser.add_argument("--start", type=int, default=2_000_000)
    parser.add_argument("--kinds", default="page,api")
    parser.add_argument("--no-server", action="store_true", help="use a server already on 127.0.0.1:8099")
    parser.add_argument("--inprocess", type=int, default=0,
                        help="only measure N consultations in-process (no HTTP, no load)")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgresql"):
        sys.exit("DATABASE_URL doit désigner la base PostgreSQL préparée (voir l'en-tête).")
    env = {**os.environ, **BENCH_ENV}
    os.environ.update(BENCH_ENV)
    if args.inprocess:
        print(json.dumps(inprocess(args.inprocess, args.filled, args.start), indent=2))
        return
    server = None
    if not args.no_server:
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-w", str(args.workers), "-b", f"{HOST}:{PORT}",
             "--log-level", "warning", "portal:create_app()"], cwd=ROOT, env=env, start_new_session=True)
    try:
        for _ in range(100):
            try:
                c = http.client.HTTPConnection(HOST, PORT, timeout=2)
                c.request("GET", "/sante")
                if c.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.3)
        session, csrf = sign_in("ts@somme.example", "Demo-Partenaires-2026", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
        token = make_api_token("ts@somme.example", "travailleur_social")
        # warm-up (connections, caches)
        run_load("page", 50, 2, args.filled, args.start, session=session, csrf=csrf)
        results = []
        for kind in args.kinds.split(","):
            results.append(run_load(kind, args.requests, args.concurrency, args.filled, args.start,
                                    session=session, csrf=csrf, token=token))
        print(json.dumps({"workers": args.workers, "results": results}, indent=2))
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
