"""EDI end-to-end benchmark on PostgreSQL: a LOYERS file of N records stored, verified,
validated, checked, applied to CDAP and acknowledged (signed ACCUSE), by the same code the
`edi` worker runs, compared with the time lxml alone takes to stream-validate the same file.

    .venv/bin/python bench/edi_bench.py --records 100000                    # 3 alternated runs
    .venv/bin/python bench/edi_bench.py --records 100000 --layout compact
    .venv/bin/python bench/edi_bench.py --records 1000000 --repeat 1

Database: --database-url (default postgresql://extranet:extranet@127.0.0.1:5432/extranet_bench_edi,
created if missing, its schema DROPPED and migrated). Each measured phase runs in a fresh child
process; its peak memory is the child's peak RSS (VmHWM). Results: bench/README.md.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timezone
from pathlib import Path

import host  # bench/, next to this script
import proc_cpu

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DB = "postgresql://extranet:extranet@127.0.0.1:5432/extranet_bench_edi"
CODE = "BLBENCH01"
SIRET = "99988877700011"


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def make_app(workdir: Path, db_url: str):
    from portal import create_app
    return create_app({
        "PORTAL_ENV": "testing", "PORTAL_VAR_DIR": str(workdir / "var"),
        "STORAGE_DIR": str(workdir / "var" / "storage"), "DATABASE_URL": db_url,
        "SECRET_KEY": "bench-" + "x" * 40, "JOB_DISPATCH": "manual", "RATELIMIT_ENABLED": "0",
        "EDI_MAX_FILE_MB": "2048", "JOB_LEASE_SECONDS": "3000",
        **({"EDI_BATCH_SIZE": os.environ["EDI_BATCH_SIZE"]} if os.environ.get("EDI_BATCH_SIZE") else {}),
    })


# ------------------------------------------------------------------ setup (parent process)

def setup(workdir: Path, db_url: str, n: int, history: int = 1) -> dict:
    from sqlalchemy import create_engine, text
    base, name = db_url.rsplit("/", 1)
    admin = create_engine(base.replace("postgresql://", "postgresql+psycopg://") + "/postgres",
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname=:n"), {"n": name}).scalar():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()

    app = make_app(workdir, db_url)
    from flask_migrate import upgrade
    from portal.extensions import db
    from portal.models import Contrat, Organisation
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade(revision="heads")
        org = Organisation(nom="Bailleur Bench", kind="bailleur", siret=SIRET, code_bailleur=CODE,
                           territoire="80")
        org.contrats.append(Contrat(service="EDI", profils=[], debut=datetime(2024, 1, 1, tzinfo=UTC).replace(tzinfo=None)))
        db.session.add(org)
        db.session.commit()
        t0 = time.perf_counter()
        seed_tenants(db, n, history)
        seeded = time.perf_counter() - t0
        signer = register_signer(app, org, workdir)
        db.session.commit()
        return {"organisation_id": org.id, "seed_s": seeded, **signer}


def seed_tenants(db, n: int, history: int = 1) -> None:
    """n allocataires, each the tenant of one logement of the bench landlord (COPY), with
    `history` earlier rents each (one row per logement and past month in
    cdap_loyers_historique, as earlier LOYERS files leave them).

    Why the history: a LOYERS file inserts one row per logement into the history, whose index
    (logement_id, date_effet, id) then grows by one entry per logement. Into an empty history
    the rows of the first file arrive in ascending logement order, all at the index's right
    edge, where PostgreSQL inserts without descending the tree and splits pages 90/10; every
    later file inserts next to each logement's earlier rows, in the middle of the index
    (a descent per row, 50/50 splits). The first measure of a run against an empty history
    was therefore always the cheapest (PostgreSQL CPU 1.09 s, then 1.53 s at 100,000), a
    state that production reaches only once per landlord. With one earlier row per logement,
    every measure is in the steady state of a landlord's monthly file."""
    raw = db.session.connection().connection.driver_connection
    with raw.cursor() as cur:
        with cur.copy("COPY cdap_allocataires (id, numero, nom, nom_normalise, prenom, date_naissance, "
                      "adresse, code_postal, commune, departement, situation_familiale, updated_at) FROM STDIN") as cp:
            now = datetime.now(timezone.utc).replace(tzinfo=None)
            for i in range(1, n + 1):
                cp.write_row((i, f"{1000000 + i:07d}", f"NOM{i}", f"NOM{i}", "Bench", date(1980, 1, 1),
                              "1 rue du Banc", "80000", "Amiens", "80", "celibataire", now))
        with cur.copy("COPY cdap_logements (id, allocataire_id, code_bailleur, code_locataire, loyer_cents, "
                      "charges_cents, nb_colocataires, date_entree, tiers_payant, updated_at) FROM STDIN") as cp:
            now = datetime.now(timezone.utc).replace(tzinfo=None)
            for i in range(1, n + 1):
                cp.write_row((i, i, CODE, f"LOC{i:07d}", 50000, 8000, 0, date(2020, 1, 1), True, now))
        for month in range(1, history + 1):
            # Earlier files, in the order they came: month 1 is the oldest.
            with cur.copy("COPY cdap_loyers_historique (logement_id, code_bailleur, idempotency_key, "
                          "loyer_cents, charges_cents, nb_colocataires, date_effet, source, created_at) "
                          "FROM STDIN") as cp:
                for i in range(1, n + 1):
                    cp.write_row((i, CODE, f"EDI:{CODE}:HISTO-{month}:L{i:07d}", 51000, 8000, 1,
                                  date(2025, month, 1), f"EDI historique {month}", now))
        cur.execute("SELECT setval(pg_get_serial_sequence('cdap_allocataires','id'), %s)", (n,))
        cur.execute("SELECT setval(pg_get_serial_sequence('cdap_logements','id'), %s)", (n,))
    db.session.commit()
    with db.engine.begin() as conn:
        from sqlalchemy import text
        conn.execute(text("ANALYZE"))


def settle(db_url: str) -> None:
    """Between two measures (not measured): VACUUM ANALYZE of the history, as autovacuum does
    between a landlord's monthly files, and a CHECKPOINT, so that neither an autovacuum
    triggered by the previous measure's 100,000 insertions nor the previous measure's dirty
    pages being written falls into the next measure."""
    from sqlalchemy import create_engine, text
    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("VACUUM ANALYZE cdap_loyers_historique"))
        conn.execute(text("CHECKPOINT"))
    engine.dispose()


def register_signer(app, org, workdir: Path) -> dict:
    from cryptography.hazmat.primitives import serialization
    from portal.crypto import pki
    from edi.certificates import services
    from portal.crypto.signature import load_certificates, load_private_key
    demo = pki.ensure_demo_pki(app.config["VAR_DIR"])
    ca_key = load_private_key(demo.path("ca_key").read_bytes())
    ca_cert = load_certificates(demo.path("ca_cert").read_bytes())[0]
    key, cert = pki.issue_signing_certificate(ca_key, ca_cert, "Bailleur Bench - EDI", org.nom,
                                              SIRET[:9], key=pki.new_key("rsa3072"))
    registered = services.register_certificate(org, cert.public_bytes(serialization.Encoding.PEM),
                                              actor=None, label="bench")
    services.approve_certificate(registered, actor=None)
    (workdir / "key.pem").write_bytes(pki.key_pem(key))
    (workdir / "cert.pem").write_bytes(pki.cert_pem(cert))
    return {"key": str(workdir / "key.pem"), "cert": str(workdir / "cert.pem")}


def write_file(path: Path, n: int, layout: str = "indente", run: int = 1,
               file_id: str | None = None, sequence: int | None = None) -> None:
    """A LOYERS file of n records for the bench landlord's first n tenants, file identifier
    BENCH-<n>-<run> and sequence number <run> unless given.

    layout "indente": as the shipped examples (schemas/examples/, which vendors start from) lay
    a file out, one element per line, indented, with an agency code and a dated record
    identifier (≈ 390 bytes a record); "compact": one record per line, shortest values
    (≈ 320 bytes a record); "compact-sans-agence": the same without the optional CodeAgence
    (a landlord without agencies). Same records either way."""
    created = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    agencies = ("AMIENS-NORD", "AMIENS-SUD", "ABBEVILLE", "PERONNE", "MONTDIDIER", "DOULLENS", "ALBERT")
    with open(path, "w", encoding="utf-8", buffering=1 << 20) as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<Loyers xmlns="urn:caf:extranet:edi:loyers:1">\n'
                  f"<Enveloppe><Emetteur><Code>{CODE}</Code><Siren>{SIRET[:9]}</Siren></Emetteur>"
                  "<Destinataire><Code>CAF80</Code><Siren>534889877</Siren></Destinataire>"
                  f"<Flux>LOYERS</Flux><IdentifiantFichier>{file_id or f'BENCH-{n}-{run}'}</IdentifiantFichier>"
                  f"<NumeroSequence>{sequence or run}</NumeroSequence><DateCreation>{created}</DateCreation>"
                  f"<NombreEnregistrements>{n}</NombreEnregistrements><Mode>PRODUCTION</Mode>"
                  "<VersionSchema>1</VersionSchema></Enveloppe>\n")
        for i in range(1, n + 1):
            loyer, charges = 52000 + (i + run) % 997, 8000 + i % 13
            if layout in ("compact", "compact-sans-agence"):
                agence = "" if layout == "compact-sans-agence" else f"<CodeAgence>AG{i % 7}</CodeAgence>"
                out.write(f"<Loyer><Identifiant>L{i:07d}</Identifiant>{agence}"
                          f"<CodeLocataire>LOC{i:07d}</CodeLocataire><NumeroAllocataire>{1000000 + i:07d}"
                          f"</NumeroAllocataire><LoyerCentimes>{loyer}</LoyerCentimes>"
                          f"<ChargesCentimes>{charges}</ChargesCentimes><DateEffet>2026-07-01</DateEffet>"
                          f"<NombreColocataires>1</NombreColocataires></Loyer>\n")
            else:
                out.write(f"  <Loyer>\n    <Identifiant>LOY-2026-07-{i:07d}</Identifiant>\n"
                          f"    <CodeAgence>{agencies[i % 7]}</CodeAgence>\n"
                          f"    <CodeLocataire>LOC{i:07d}</CodeLocataire>\n"
                          f"    <NumeroAllocataire>{1000000 + i:07d}</NumeroAllocataire>\n"
                          f"    <LoyerCentimes>{loyer}</LoyerCentimes>\n"
                          f"    <ChargesCentimes>{charges}</ChargesCentimes>\n"
                          f"    <DateEffet>2026-07-01</DateEffet>\n"
                          f"    <NombreColocataires>1</NombreColocataires>\n  </Loyer>\n")
        out.write("</Loyers>\n")


# ------------------------------------------------------------------ phases (child processes)

LXML_RUNS = 5


def phase_lxml(path: str) -> dict:
    """lxml alone: streaming XSD validation of the same file (the production schema), LXML_RUNS
    times in a row; "seconds" is their median (a run of one or two seconds is at the mercy of
    this shared machine's noise, which one sample would carry whole into the ratio)."""
    from lxml import etree
    from edi.formats.flows import compiled_schema
    schema = compiled_schema("LOYERS")
    samples, cpu = [], []
    for _run in range(LXML_RUNS):
        t0, c0 = time.perf_counter(), time.process_time()
        count = 0
        for _event, element in etree.iterparse(path, events=("end",), schema=schema,
                                               tag="{urn:caf:extranet:edi:loyers:1}Loyer",
                                               resolve_entities=False, no_network=True):
            count += 1
            element.clear()
            while element.getprevious() is not None:
                del element.getparent()[0]
        samples.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return {"seconds": statistics.median(samples), "samples": [round(x, 3) for x in samples],
            "cpu_s": round(statistics.median(cpu), 3),
            "records": count, "peak_mb": peak_rss_mb()}


def phase_e2e(workdir: str, db_url: str, path: str, signature: str, organisation_id: int) -> dict:
    """What the API and the worker do: store + row + job (upload), then the job."""
    app = make_app(Path(workdir), db_url)
    from edi import services
    from edi.intake import process
    from portal import jobs
    from portal.extensions import db
    from portal.models import Organisation
    with app.app_context():
        org = db.session.get(Organisation, organisation_id)
        warm = Path(path).with_name(Path(path).name.replace("loyers-", "chauffe-"))
        if warm.exists():
            # A running worker has its modules imported, its schemas compiled and its pool
            # connected: a small file first (not measured), as the lxml-only measure compiles
            # its schema before starting the clock.
            with open(warm, "rb") as data, open(str(warm) + ".p7s", "rb") as sig:
                w = services.receive_file(org, data, warm.name, sig, canal="api")
                db.session.commit()
            warm_result = process.process_file(w.id, jobs.claim(w.job_id))
            assert warm_result.get("statut") == "TRAITE", warm_result
            db.session.remove()
            org = db.session.get(Organisation, organisation_id)
        sql_times = _time_statements(db.engine) if os.environ.get("EDI_BENCH_SQL") else None
        steps = _time_steps(process)
        steps["pic_mo_avant"] = peak_rss_mb()
        pg_before = _backends_cpu(db)
        t0, cpu0 = time.perf_counter(), time.process_time()
        with open(path, "rb") as data, open(signature, "rb") as sig:
            f = services.receive_file(org, data, Path(path).name, sig, canal="api")
            db.session.commit()
        t_stored = time.perf_counter() - t0
        steps["pic_mo_reception"] = peak_rss_mb()
        job = jobs.claim(f.job_id)
        t1 = time.perf_counter()
        result = process.process_file(f.id, job)
        t_processed = time.perf_counter() - t1
        f = db.session.get(type(f), f.id, populate_existing=True)
        pg_cpu = _backends_cpu(db, pg_before) if pg_before is not None else None
        if sql_times is not None:
            for statement, (calls, seconds) in sorted(sql_times.items(), key=lambda kv: -kv[1][1])[:15]:
                print(f"{seconds:8.3f} s {calls:5d} x  {statement}", file=sys.stderr)
        return {"seconds": time.perf_counter() - t0, "store_s": t_stored, "process_s": t_processed,
                "steps_s": {k: round(v, 3) for k, v in steps.items()},
                "cpu_s": round(time.process_time() - cpu0, 3), "pg_cpu_s": pg_cpu,
                "reader_cpu_s": round(steps.get("cpu_lecture", 0.0), 3),
                "applier_cpu_s": round(steps.get("cpu_application", 0.0), 3),
                "statut": result.get("statut"), "acceptes": f.nb_acceptes, "appliques": f.nb_appliques,
                "accuse_sha256": f.accuse_sha256, "peak_mb": peak_rss_mb()}


def _backends_cpu(db, since: dict[int, float] | None = None) -> dict[int, float] | float | None:
    """CPU seconds of the PostgreSQL backends of this database (same machine), from /proc.
    Without `since`: {pid: seconds} now (a baseline). With it: seconds used since that baseline
    (a backend that was already there, e.g. the parent's seeding connection, counts only its
    increase; one opened during the run counts fully)."""
    from sqlalchemy import text
    pids = db.session.scalars(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")).all()
    now = {pid: proc_cpu.cpu_seconds(pid) for pid in pids}
    if any(s is None for s in now.values()):
        return None
    if since is None:
        return now
    return round(sum(s - since.get(pid, 0.0) for pid, s in now.items()), 3)


def _time_steps(process) -> dict:
    """Wall time of the intake's steps (the single pass = signature + streaming validation,
    checks and application; within it, the reading and the wait for the last batches to be
    applied and committed; ACCUSE + closing), by wrapping them."""
    steps: dict[str, float] = {}
    reader = process._read_records

    def read_timed(*args, **kwargs):  # the reading thread's own CPU time
        t = time.thread_time()
        try:
            return reader(*args, **kwargs)
        finally:
            steps["cpu_lecture"] = steps.get("cpu_lecture", 0.0) + time.thread_time() - t
    process._read_records = read_timed
    run = process.Applier._run

    def run_timed(self, *args, **kwargs):  # the applier thread's own CPU time
        t = time.thread_time()
        try:
            return run(self, *args, **kwargs)
        finally:
            steps["cpu_application"] = steps.get("cpu_application", 0.0) + time.thread_time() - t
    process.Applier._run = run_timed
    for owner, name, label in (
            (process, "_verify_signature", "signature"),
            (process.Applier, "submit", "dont_attente_file_application"),
            (process, "_stage", "signature_passe_unique"),
            (process, "_read_records", "dont_lecture_controles"),
            (process.Applier, "finish", "dont_attente_fin_application"),
            (process, "finish", "accuse_et_cloture")):
        inner = getattr(owner, name)

        def timed(*args, _inner=inner, _label=label, **kwargs):
            t = time.perf_counter()
            try:
                return _inner(*args, **kwargs)
            finally:
                steps[_label] = steps.get(_label, 0.0) + time.perf_counter() - t
                steps["pic_mo_" + _label] = peak_rss_mb()  # peak memory (VmHWM) at the step's end
        setattr(owner, name, timed)
    return steps


def _time_statements(engine) -> dict:
    """EDI_BENCH_SQL=1: wall time of each SQL statement (first 90 characters), summed; the
    COPY's time is that of its `with` block (sending rows + PostgreSQL catching up)."""
    from sqlalchemy import event
    totals: dict[str, list] = {}

    @event.listens_for(engine, "before_cursor_execute")
    def before(conn, cursor, statement, params, context, executemany):
        conn.info["bench_t0"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def after(conn, cursor, statement, params, context, executemany):
        entry = totals.setdefault(" ".join(statement.split())[:90], [0, 0.0])
        entry[0] += 1
        entry[1] += time.perf_counter() - conn.info.pop("bench_t0", time.perf_counter())
    return totals


def run_child(*args) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", *map(str, args)], check=True,
                         capture_output=True, text=True)
    if os.environ.get("EDI_BENCH_PROFILE"):
        Path(os.environ["EDI_BENCH_PROFILE"]).write_text(out.stderr)
    elif os.environ.get("EDI_BENCH_SQL") and out.stderr.strip():
        print(out.stderr, file=sys.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    if "--child" in sys.argv:
        args = sys.argv[sys.argv.index("--child") + 1:]
        if os.environ.get("EDI_BENCH_PROFILE") and args[0] == "e2e":
            import cProfile
            import pstats
            profiler = cProfile.Profile()
            result = profiler.runcall(phase_e2e, *args[1:5], int(args[5]))
            profiler.dump_stats(os.environ["EDI_BENCH_PROFILE"] + ".prof")  # for pstats callers
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(45)
        else:
            result = phase_lxml(args[1]) if args[0] == "lxml" else phase_e2e(*args[1:5], int(args[5]))
            if os.environ.get("EDI_BENCH_SQL") and args[0] == "e2e":
                print("", file=sys.stderr, flush=True)
        print(json.dumps(result))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--layout", choices=("indente", "compact", "compact-sans-agence"), default="indente",
                        help="mise en page du fichier (voir write_file)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="mesures alternées lxml seul / bout en bout ; on retient les médianes")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--workdir", default=None,
                        help="dossier de travail (par défaut un dossier temporaire) ; supprimé à la fin "
                             "s'il a été créé par le banc")
    parser.add_argument("--history", type=int, default=1, choices=range(0, 13), metavar="0-12",
                        help="loyers antérieurs par logement dans l'historique avant la première mesure "
                             "(0 : historique vide, la première mesure est alors la moins chère ; voir seed_tenants)")
    parser.add_argument("--keep", action="store_true",
                        help="garder le dossier de travail (fichiers stockés, clés, PKI de démonstration)")
    options = parser.parse_args()
    if not options.database_url.startswith("postgresql"):
        sys.exit("Ce banc d'essai tourne sur PostgreSQL (--database-url postgresql://…).")
    created = options.workdir is None or not Path(options.workdir).exists()
    workdir = Path(options.workdir or tempfile.mkdtemp(prefix="edi-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        run_bench(options, workdir)
    finally:
        # The stored copies of every file sent (and their ACCUSE) stay in var/storage: 91 to
        # 361 MB per run at 100,000 records. A directory the caller gave and that already
        # existed is never removed.
        if options.keep or not created:
            print(f"Dossier de travail gardé : {workdir}", flush=True)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def run_bench(options, workdir: Path) -> None:
    n = options.records
    print(f"Préparation : {n} locataires, fichiers LOYERS de {n} enregistrements, mise en page "
          f"{options.layout} ({workdir})", flush=True)
    print(f"Charge de la machine avant : {load_average()}", flush=True)
    host_before = host.check()
    print(f"Hôte avant : {host.describe(host_before)}", flush=True)
    info = setup(workdir, options.database_url, n, options.history)
    runs = []
    for run in range(1, options.repeat + 1):
        # Each run sends a new file (new identifier and sequence number, new rents): the same
        # work each time, next to an lxml-only measure of that very file taken just before.
        path = workdir / f"loyers-{n}-{run}.xml"
        warm = workdir / f"chauffe-{n}-{run}.xml"
        write_file(warm, min(n, 10), options.layout, run, file_id=f"CHAUFFE-{n}-{run}", sequence=2 * run - 1)
        write_file(path, n, options.layout, run, sequence=2 * run)
        for signed in (warm, path):
            subprocess.run(["openssl", "cms", "-sign", "-binary", "-md", "sha256", "-outform", "DER",
                            "-in", str(signed), "-signer", info["cert"], "-inkey", info["key"],
                            "-out", str(signed) + ".p7s"], check=True, capture_output=True)
        size_mb = path.stat().st_size / 1e6
        settle(options.database_url)
        lxml = run_child("lxml", path)
        e2e = run_child("e2e", workdir, options.database_url, path, str(path) + ".p7s", info["organisation_id"])
        assert e2e["statut"] == "TRAITE" and e2e["appliques"] == n, e2e
        path.unlink()
        warm.unlink()
        runs.append({"lxml": lxml, "e2e": e2e, "ratio": e2e["seconds"] / lxml["seconds"],
                     "cpu_ratio": e2e["cpu_s"] / lxml["cpu_s"]})
        print(f"  mesure {run} : lxml seul {lxml['seconds']:.2f} s (CPU {lxml['cpu_s']:.2f} s), bout en bout "
              f"{e2e['seconds']:.2f} s (CPU Python {e2e['cpu_s']:.2f} s dont lecture "
              f"{e2e['reader_cpu_s']:.2f} s et application {e2e['applier_cpu_s']:.2f} s, PostgreSQL {e2e['pg_cpu_s']} s), "
              f"rapport {runs[-1]['ratio']:.2f} (CPU lecture / lxml {e2e['reader_cpu_s'] / lxml['cpu_s']:.2f}), "
              f"pic {e2e['peak_mb']:.0f} Mo", flush=True)
    print(f"Charge de la machine après : {load_average()}", flush=True)
    host_after = host.check()
    print(f"Hôte après : {host.describe(host_after)}", flush=True)
    median = statistics.median
    lxml_s = median(r["lxml"]["seconds"] for r in runs)
    e2e_s = median(r["e2e"]["seconds"] for r in runs)
    ratio = median(r["ratio"] for r in runs)
    peak = max(r["e2e"]["peak_mb"] for r in runs)
    print(json.dumps({"records": n, "layout": options.layout, "file_mb": round(size_mb, 1), "runs": runs,
                      "host": {"before": host_before, "after": host_after}},
                     indent=1))
    ratios = sorted(r["ratio"] for r in runs)
    print(f"\n| {n:,} enregistrements ({size_mb:.0f} Mo, {options.layout}) | lxml seul : {lxml_s:.2f} s, "
          f"{runs[-1]['lxml']['peak_mb']:.0f} Mo | bout en bout : {e2e_s:.2f} s ({n / e2e_s:,.0f} enr./s), "
          f"pic {peak:.0f} Mo | rapport médian {ratio:.2f} ({ratios[0]:.2f}–{ratios[-1]:.2f}, {len(runs)} mesures) |")


def load_average() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg()) + " (1, 5, 15 min)"

if __name__ == "__main__":
    main()
