"""CDAP benchmark: consultation page and API under concurrent load, journal write included.

    # 1. a PostgreSQL database with the schema, the demo accounts and N synthetic allocataires,
    #    through the import chain (measured in bench/README.md) or the set-based SQL fill
    export DATABASE_URL=postgresql://extranet:extranet@127.0.0.1:5432/extranet_bench_cdap
    export PORTAL_VAR_DIR=/tmp/var-cdap-bench
    portal migrate && portal seed-demo
    portal cdap generate --count 1000000 --out 1m.jsonl --start 2000000 && portal cdap import 1m.jsonl
    #    (or: psql "$DATABASE_URL" -v n=1000000 -v start=2000000 -f bench/cdap_fill.sql)
    # 2. the load: starts gunicorn on 127.0.0.1:8099, creates 50 social workers of the demo
    #    Conseil départemental with MFA-verified sessions and 50 CDAP API tokens, then either
    python bench/cdap_bench.py --concurrency 1,2,4,8 --requests 1500   # closed loop: capacity
    python bench/cdap_bench.py --rate 50,70,85 --seconds 40            # open loop: fixed rates
    python bench/cdap_bench.py --inprocess 500 --kinds api             # server cost, no HTTP
    python bench/cdap_bench.py --profile 2000                          # CPU and SQL per phase, no HTTP

In the closed loop the bench also starts the bare anchor (bench/bare_app.py: one SELECT by
numéro, a 3-line template) on 127.0.0.1:8098 with the same gunicorn settings, loads it at each
concurrency just before the portal, and prints the ratio portal / anchor (`--no-bare`: without).
`--kinds page,api,socle` adds the shell's floor: GET /aide by the same signed-in social workers
(session, access rule, layout and menu; no CDAP work), the ceiling any page of the portal meets.

Each request is a full consultation: CSRF-checked POST (page) or Bearer POST (API), numéro +
name lookup within scope, the profile's sections, one hash-chained journal row (row lock on the
chain head) and the atypical-use counters, committed. Files are drawn from the database, plus
10 % of numéros that do not exist. Latencies are measured client-side on loopback (the client
shares the 2 cores); in the open loop they run from each request's scheduled time. CPU per
request is read in /proc for the web workers, PostgreSQL and the client.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
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

import host  # bench/, next to this script
import proc_cpu

ROOT = Path(__file__).resolve().parent.parent
HOST, PORT, BARE_PORT = "127.0.0.1", 8099, 8098
BENCH_ENV = {
    # The load is spread over many users and tokens (see make_actors) so that each one's day
    # stays under these thresholds: the atypical-use counters then cost what they cost in
    # production (a few index entries per actor), and nobody gets suspended mid-run.
    "CDAP_DAILY_ALERT": "2000", "CDAP_DAILY_SUSPEND": "2001",
    "CDAP_NIGHT_ALERT": "2000", "CDAP_NIGHT_SUSPEND": "2001",
    "CDAP_NOTFOUND_ALERT": "50", "CDAP_NOTFOUND_SUSPEND": "51",
    "RATELIMIT_ENABLED": "0",
    # What production does (templates and the layout's fixed fragments prepared once per
    # process), though the bench runs in development mode.
    "TEMPLATES_AUTO_RELOAD": "0",
}


def sample_files(count: int, rng: random.Random) -> list[tuple[str, str, bool]]:
    """(numéro, nom as typed, exists): real files drawn at random from the database (whatever
    filled it: the import chain or the SQL fill), and 10 % of numéros that do not exist."""
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import create_engine, text
    url = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    with engine.connect() as conn:
        total = conn.execute(text("SELECT count(*) FROM cdap_allocataires")).scalar()
        percent = min(100.0, 100.0 * count * 3 / max(total, 1))
        rows = conn.execute(text(f"SELECT numero, nom FROM cdap_allocataires TABLESAMPLE SYSTEM ({percent}) "
                                 "LIMIT :n"), {"n": count}).all()
        taken = {r[0] for r in rows}
    engine.dispose()
    files = [(numero, nom, True) for numero, nom in rows]
    unknown = []
    while len(unknown) < max(1, len(files) // 9):
        numero = f"{rng.randint(9_000_000, 9_999_999):07d}"
        if numero not in taken:
            unknown.append((numero, rng.choice(files)[1] if files else "Martin", False))
    out = files + unknown
    rng.shuffle(out)
    return out


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


def make_actors(count: int) -> tuple[list[str], list[str]]:
    """`count` social workers of the demo Conseil départemental (same profile and territory as
    ts@somme.example), each with a server-side session already through MFA, and `count` CDAP API
    tokens of the same organisation. Returns (session cookies, raw tokens)."""
    import hashlib
    import secrets
    sys.path.insert(0, str(ROOT))
    from portal import create_app
    from portal.extensions import db
    from portal.models import User, UserSession, utcnow
    from tests.support import factories
    app = create_app()
    run = secrets.token_hex(3)
    cookies, tokens = [], []
    with app.app_context():
        model = db.session.query(User).filter_by(email="ts@somme.example").one()
        serializer = app.session_interface.get_signing_serializer(app)
        for i in range(count):
            user = factories.user(model.organisation, role=model.role, mfa=False,
                                  habilitations={"CDAP": "travailleur_social"},
                                  email=f"banc-{run}-{i}@somme.example", nom=f"Banc{i}")
            sid = secrets.token_urlsafe(32)
            db.session.add(UserSession(id=hashlib.sha256(sid.encode()).hexdigest(), user_id=user.id,
                                       mfa_verified_at=utcnow()))
            cookie = serializer.dumps({"sid": sid, "_user_id": str(user.id), "_fresh": True})
            cookies.append(f"{app.config['SESSION_COOKIE_NAME']}={cookie}")
            _token, raw = factories.api_token(model.organisation, model, scopes=("CDAP",),
                                              profil="travailleur_social", days=1)
            tokens.append(raw)
        db.session.commit()
    return cookies, tokens


def page_clients(cookies: list[str]) -> list[tuple[str, str]]:
    """(cookie header, CSRF token) per user: the form page sets the CSRF secret in the session."""
    out = []
    conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
    for cookie in cookies:
        s = Session()
        name, _, value = cookie.partition("=")
        s.cookies[name] = value
        status, html = s.request(conn, "GET", "/cdap/consultation")
        assert status == 200, f"session de banc refusée ({status})"
        out.append(("; ".join(f"{k}={v}" for k, v in s.cookies.items()), csrf_of(html)))
    return out


def _request_for(kind: str, file: tuple[str, str, bool], actor):
    """(path, body, headers) of one request by `actor`: the POST of a consultation ((cookie
    header, CSRF) for the page, a token for the API), the anchor's POST, or the floor's GET
    (`socle`: no body)."""
    numero, nom, _exists = file
    if kind == "socle":
        # the shell's floor: an authenticated page that does no CDAP work (session, access rule,
        # layout, menu), with the same social workers' sessions
        return "/aide", None, {"Cookie": actor[0]}
    if kind == "bare":
        return "/", urllib.parse.urlencode({"numero": numero}), {
            "Content-Type": "application/x-www-form-urlencoded"}
    if kind == "page":
        cookie, csrf = actor
        body = urllib.parse.urlencode({"numero": numero, "nom": nom, "motif": "accompagnement_social",
                                       "commentaire": "", "csrf_token": csrf})
        return "/cdap/consultation", body, {"Content-Type": "application/x-www-form-urlencoded",
                                            "Cookie": cookie}
    body = json.dumps({"numero_allocataire": numero, "nom": nom, "motif": "accompagnement_social"})
    return "/api/v1/cdap/consultations", body, {"Content-Type": "application/json",
                                                "Authorization": f"Bearer {actor}"}


def _send(conn, path, body, headers):
    """One POST (a GET without a body); returns (status, connection to reuse)."""
    try:
        conn.request("POST" if body is not None else "GET", path, body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        return resp.status, conn
    except (OSError, http.client.HTTPException):
        conn.close()
        return 0, http.client.HTTPConnection(conn.host, conn.port, timeout=60)


def _summary(kind: str, mode: dict, latencies: list[float], statuses: dict, elapsed: float,
             cpu: dict) -> dict:
    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    return {"kind": kind, **mode, "requests": len(latencies), "seconds": round(elapsed, 1),
            "req_per_s": round(len(latencies) / elapsed, 1),
            "p50_ms": round(q[49] * 1000, 1), "p95_ms": round(q[94] * 1000, 1),
            "p99_ms": round(q[98] * 1000, 1), "max_ms": round(latencies[-1] * 1000, 1),
            "statuses": statuses, **cpu}


def run_load(kind: str, n: int, concurrency: int, files: list, actors: list, server_pids=()) -> dict:
    """Closed loop: `concurrency` clients, each sending its next request when the previous one
    answered (throughput at saturation, latency at that concurrency)."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    counter = iter(range(n))

    def worker(seed):
        rng = random.Random(seed)
        conn = http.client.HTTPConnection(HOST, BARE_PORT if kind == "bare" else PORT, timeout=60)
        local_lat, local_status = [], {}
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            path, body, headers = _request_for(kind, rng.choice(files), rng.choice(actors))
            t0 = time.perf_counter()
            status, conn = _send(conn, path, body, headers)
            local_lat.append(time.perf_counter() - t0)
            local_status[status] = local_status.get(status, 0) + 1
        with lock:
            latencies.extend(local_lat)
            for k, v in local_status.items():
                statuses[k] = statuses.get(k, 0) + v

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    cpu0, t0 = cpu_seconds(server_pids), time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    return _summary(kind, {"mode": "closed", "concurrency": concurrency}, latencies, statuses, elapsed,
                    cpu_report(cpu0, cpu_seconds(server_pids), len(latencies)))


def run_rate(kind: str, rate: float, seconds: float, files: list, actors: list, server_pids=(),
             pool: int = 32) -> dict:
    """Open loop: requests scheduled at a fixed rate whatever the answers; each latency runs
    from the request's scheduled time, so time spent waiting for a free client counts too (no
    coordinated omission)."""
    n = int(rate * seconds)
    jobs: queue.Queue = queue.Queue()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def worker(seed):
        rng = random.Random(seed)
        conn = http.client.HTTPConnection(HOST, BARE_PORT if kind == "bare" else PORT, timeout=60)
        while True:
            due = jobs.get()
            if due is None:
                return
            path, body, headers = _request_for(kind, rng.choice(files), rng.choice(actors))
            status, conn = _send(conn, path, body, headers)
            done = time.perf_counter()
            with lock:
                latencies.append(done - due)
                statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(pool)]
    for t in threads:
        t.start()
    cpu0, t0 = cpu_seconds(server_pids), time.perf_counter()
    for i in range(n):
        due = t0 + i / rate
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        jobs.put(due)
    for _ in threads:
        jobs.put(None)
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    return _summary(kind, {"mode": "open", "rate": rate}, latencies, statuses, elapsed,
                    cpu_report(cpu0, cpu_seconds(server_pids), len(latencies)))


def cpu_seconds(pids) -> dict:
    """CPU (user + system) of the web workers and of PostgreSQL's processes."""
    web = [p for root in pids for p in [root, *proc_cpu.children(root)]]
    return {"web": sum(proc_cpu.cpu_seconds(p) or 0.0 for p in web),
            "pg": sum(proc_cpu.cpu_seconds(p) or 0.0 for p in proc_cpu.pids_named("postgres", "postmaster")),
            "client": time.process_time()}


def cpu_report(before: dict, after: dict, n: int) -> dict:
    if not n:
        return {}
    return {f"cpu_ms_per_req_{k}": round((after[k] - before[k]) * 1000 / n, 2) for k in before}


def _inprocess_client(app, with_token: bool = False):
    """A test client signed in as a new social worker of the demo Conseil départemental (MFA
    done), its CSRF token, and (with_token) a CDAP API token of the same organisation."""
    import hashlib
    import secrets
    from portal.extensions import db
    from portal.models import User, UserSession, utcnow
    from tests.support import factories
    client = app.test_client()
    with app.app_context():
        model = db.session.query(User).filter_by(email="ts@somme.example").one()
        user = factories.user(model.organisation, role=model.role, mfa=False,
                              habilitations={"CDAP": "travailleur_social"},
                              email=f"banc-{secrets.token_hex(3)}@somme.example", nom="Banc")
        token = secrets.token_urlsafe(32)
        db.session.add(UserSession(id=hashlib.sha256(token.encode()).hexdigest(), user_id=user.id,
                                   mfa_verified_at=utcnow()))
        raw = None
        if with_token:
            _t, raw = factories.api_token(model.organisation, model, scopes=("CDAP",),
                                          profil="travailleur_social", days=1)
        db.session.commit()
        user_id = user.id
    with client.session_transaction() as sess:
        sess["sid"] = token
        sess["_user_id"] = str(user_id)
        sess["_fresh"] = True
    csrf = csrf_of(client.get("/cdap/consultation").data)
    return client, csrf, raw


def _post_consultation(client, kind: str, file, csrf: str, raw_token: str | None):
    numero, nom, _exists = file
    if kind == "page":
        return client.post("/cdap/consultation", data={
            "numero": numero, "nom": nom, "motif": "accompagnement_social", "commentaire": "",
            "csrf_token": csrf})
    return client.post("/api/v1/cdap/consultations", json={
        "numero_allocataire": numero, "nom": nom, "motif": "accompagnement_social"},
        headers={"Authorization": f"Bearer {raw_token}"})


def inprocess(n: int, files: list, kinds: list[str] = ("page",)) -> list[dict]:
    """Server-side cost of one consultation, without HTTP or the client: Flask test client in
    this process (CSRF or token, lookup, sections, template, journal row, commit), for each kind
    (page, api). Reports wall time and this process's CPU time per request (PostgreSQL's own CPU
    is not included in the latter). The test client holds the social worker's session cookie,
    which it also sends with the API calls (the API does not read it)."""
    sys.path.insert(0, str(ROOT))
    from portal import create_app
    app = create_app()
    client, csrf, raw = _inprocess_client(app, with_token="api" in kinds)
    out = []
    for kind in kinds:
        rng = random.Random(1)
        walls, cpus, statuses = [], [], {}
        for _ in range(n):
            w0, c0 = time.perf_counter(), time.process_time()
            r = _post_consultation(client, kind, rng.choice(files), csrf, raw)
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        walls.sort()
        q = statistics.quantiles(walls, n=100)
        out.append({"kind": f"{kind} in-process", "requests": n, "p50_ms": round(q[49] * 1000, 2),
                    "p95_ms": round(q[94] * 1000, 2), "cpu_ms_median": round(statistics.median(cpus) * 1000, 2),
                    "statuses": statuses, "loadavg": os.getloadavg()})
    return out


def profile(n: int, files: list, kinds: list[str]) -> dict:
    """CPU per phase of a consultation (bench/phases.py), in-process, thread CPU time: the median
    over `n` consultations of each phase, and the SQL statements each phase issued (mean, since
    a file that does not exist issues fewer). Medians of many iterations stay comparable on a
    loaded machine (CPU time, not wall time), unlike throughput."""
    sys.path.insert(0, str(ROOT))
    import phases
    from portal import create_app
    app = create_app()
    timer = phases.PhaseTimer()
    phases.instrument(app, timer)
    client, csrf, raw = _inprocess_client(app, with_token=True)
    out = {}
    for kind in kinds:
        rng = random.Random(1)
        per_phase = {p: [] for p in phases.PHASES}
        stmts = {p: [] for p in phases.PHASES}
        totals, statuses = [], {}
        for i in range(n + 50):  # 50 warm-up requests, not counted
            file = rng.choice(files)
            timer.reset()
            c0 = time.thread_time()
            r = _post_consultation(client, kind, file, csrf, raw)
            total = time.thread_time() - c0
            if i < 50:
                continue
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            totals.append(total)
            measured = sum(timer.cpu.values())
            for p in phases.PHASES:
                per_phase[p].append(timer.cpu.get(p, 0.0) + (total - measured if p == "other" else 0.0))
                stmts[p].append(timer.statements.get(p, 0))
        out[kind] = {
            "requests": n, "statuses": statuses,
            "cpu_ms_median_total": round(statistics.median(totals) * 1000, 2),
            "cpu_ms_median_per_phase": {p: round(statistics.median(v) * 1000, 2) for p, v in per_phase.items()},
            "statements_mean_per_phase": {p: round(statistics.mean(v), 2) for p, v in stmts.items()},
            "statements_mean_total": round(sum(statistics.mean(v) for v in stmts.values()), 2),
        }
    return {"loadavg": os.getloadavg(), "profile": out}


def print_profile(result: dict) -> None:
    import phases
    print(f"charge de la machine (1, 5, 15 min) : {result['loadavg']}")
    for kind, r in result["profile"].items():
        print(f"\n{kind} : {r['requests']} consultations, statuts {r['statuses']}, "
              f"CPU médian {r['cpu_ms_median_total']} ms, {r['statements_mean_total']} instructions SQL")
        print(f"  {'phase':<14} {'CPU médian (ms)':>16} {'instructions':>13}")
        for p in phases.PHASES:
            print(f"  {p:<14} {r['cpu_ms_median_per_phase'][p]:>16.2f} {r['statements_mean_per_phase'][p]:>13.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000, help="closed loop: requests per run")
    parser.add_argument("--concurrency", default="8", help="closed loop: clients, comma-separated list")
    parser.add_argument("--rate", default="", help="open loop instead: requests/s, comma-separated list")
    parser.add_argument("--seconds", type=float, default=30, help="open loop: duration of each rate")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers")
    parser.add_argument("--sample", type=int, default=20000, help="files drawn from the database")
    parser.add_argument("--kinds", default="page,api")
    parser.add_argument("--actors", type=int, default=50,
                        help="social workers (and as many API tokens) the requests are spread over")
    parser.add_argument("--no-server", action="store_true", help="use a server already on 127.0.0.1:8099")
    parser.add_argument("--inprocess", type=int, default=0,
                        help="only measure N consultations in-process (no HTTP, no load)")
    parser.add_argument("--profile", type=int, default=0,
                        help="only print CPU and SQL statements per phase, median of N in-process consultations")
    parser.add_argument("--no-bare", action="store_true",
                        help="closed loop without the bare anchor (bench/bare_app.py) and its ratio")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgresql"):
        sys.exit("DATABASE_URL doit désigner la base PostgreSQL préparée (voir l'en-tête).")
    env = {**os.environ, **BENCH_ENV}
    os.environ.update(BENCH_ENV)
    files = sample_files(args.sample, random.Random(7))
    if args.inprocess:
        print(json.dumps(inprocess(args.inprocess, files, args.kinds.split(",")), indent=2))
        return
    if args.profile:
        result = profile(args.profile, files, args.kinds.split(","))
        print_profile(result)
        print(json.dumps(result), file=sys.stderr)
        return
    bare = not args.no_bare and not args.rate
    host_before = host.check()  # before the servers start: is the host quiet? (bench/host.py)
    print(f"hôte avant : {host.describe(host_before)}", file=sys.stderr)
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    servers = []
    if not args.no_server:
        # the same gunicorn settings for both: sync workers, same count, same log level
        servers.append(subprocess.Popen(
            [gunicorn, "-w", str(args.workers), "-b", f"{HOST}:{PORT}",
             "--log-level", "warning", "portal:create_app()"], cwd=ROOT, env=env, start_new_session=True))
        if bare:
            servers.append(subprocess.Popen(
                [gunicorn, "-w", str(args.workers), "-b", f"{HOST}:{BARE_PORT}", "--chdir", str(ROOT / "bench"),
                 "--log-level", "warning", "bare_app:create_app()"], cwd=ROOT, env=env, start_new_session=True))
    pids = {"portal": (servers[0].pid,) if servers else (), "bare": (servers[1].pid,) if len(servers) > 1 else ()}
    try:
        for port in (PORT, BARE_PORT) if bare else (PORT,):
            for _ in range(100):
                try:
                    c = http.client.HTTPConnection(HOST, port, timeout=2)
                    c.request("GET", "/sante")
                    if c.getresponse().status == 200:
                        break
                except OSError:
                    time.sleep(0.3)
        cookies, tokens = make_actors(args.actors)
        actors = {"page": page_clients(cookies), "api": tokens}
        actors["socle"] = actors["page"]
        run_load("page", 100, 2, files, actors["page"])  # warm-up (connections, caches)
        run_load("api", 100, 2, files, actors["api"])
        results, ratios = [], []
        if bare:
            actors["bare"] = [None]
            run_load("bare", 100, 2, files, actors["bare"])
            for concurrency in args.concurrency.split(","):
                # the anchor and the portal measured in turn at each concurrency, in the same minutes
                row = {"concurrency": int(concurrency)}
                for kind in ["bare", *args.kinds.split(",")]:
                    results.append(run_load(kind, args.requests, int(concurrency), files, actors[kind],
                                            server_pids=pids["bare" if kind == "bare" else "portal"]))
                    print(json.dumps(results[-1]), file=sys.stderr)
                    row[kind] = results[-1]["req_per_s"]
                for kind in args.kinds.split(","):
                    row[f"ratio_{kind}"] = round(row[kind] / row["bare"], 3)
                ratios.append(row)
                print("concurrence {concurrency} : anchor {bare} req/s, ".format(**row)
                      + ", ".join(f"{k} {row[k]} req/s (rapport {row['ratio_' + k]})" for k in args.kinds.split(",")),
                      file=sys.stderr)
        for kind in args.kinds.split(",") if not bare else ():
            if args.rate:
                for rate in args.rate.split(","):
                    results.append(run_rate(kind, float(rate), args.seconds, files, actors[kind],
                                            server_pids=pids["portal"]))
                    print(json.dumps(results[-1]), file=sys.stderr)
            else:
                for concurrency in args.concurrency.split(","):
                    results.append(run_load(kind, args.requests, int(concurrency), files, actors[kind],
                                            server_pids=pids["portal"]))
                    print(json.dumps(results[-1]), file=sys.stderr)
        host_after = host.check()
        print(f"hôte après : {host.describe(host_after)}", file=sys.stderr)
        print(json.dumps({"workers": args.workers, "files_sampled": len(files),
                          "loadavg": os.getloadavg(), "host": {"before": host_before, "after": host_after},
                          "ratios": ratios, "results": results}, indent=2))
    finally:
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
