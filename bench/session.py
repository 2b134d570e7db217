"""One scale's benchmark session, in its own process (Django binds to one database per process).

`python -m bench.session --scale S --database-url ... --out results.json` prepares the database
(create, migrate, seed unless already seeded), starts gunicorn the production way, checks each
endpoint once, counts its queries in-process, drives wrk (warm-up, then rounds with the floors
interleaved), measures the CSV download's peak RSS, records EXPLAIN plans, and writes raw JSON.
`bench.run` starts one session per scale and builds the report.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import secrets
import statistics
import sys
import time
import traceback
from pathlib import Path
from urllib.parse import urljoin, urlsplit, urlunsplit

from bench.loadgen import HarnessError, ensure_wrk, run_wrk
from bench.scenarios import (
    BY_NAME,
    FLOORS,
    SCENARIOS,
    WRITE_FLOOR,
    WSGI_FLOOR,
    conditional_headers,
    headers_for,
    sample_request,
)
from bench.server import Server, memory_status, request, reset_peak_rss, service_environment

EXPLAINED = ("view_read", "summary_read")


def code_digest() -> str:
    """A digest of the service's Python sources, so a report can tell when S and L measured different code."""
    import hashlib

    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for app in ("lms", "courses", "enrollment", "tracking", "viewer"):
        for path in sorted((root / app).rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --------------------------------------------------------------------------- database

def _server_url(database_url: str, name: str) -> str:
    parts = urlsplit(database_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))


def seed_copy_name(name: str) -> str:
    """The finished seed of database `name`, kept untouched: every run's database is a copy of it."""
    return f"{name}_seed"


def _admin_connection(database_url: str):
    import psycopg

    conninfo = _server_url(database_url, "postgres").replace("postgres://", "postgresql://", 1)
    try:
        return psycopg.connect(conninfo, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        raise HarnessError(
            f"PostgreSQL does not answer at {urlsplit(database_url).netloc}: {error}. "
            "Install and start it (docs/benchmarks.md) or set DATABASE_URL."
        ) from error


def _holds_finished_seed(database_url: str, name: str, *, marker_tenant: str, marker_name: str) -> bool:
    import psycopg

    target = _server_url(database_url, name).replace("postgres://", "postgresql://", 1)
    with psycopg.connect(target, connect_timeout=5) as conn:
        try:
            row = conn.execute("SELECT name FROM lms_tenant WHERE id = %s", [marker_tenant]).fetchone()
        except psycopg.errors.UndefinedTable:
            return False
    return row is not None and row[0] == marker_name


def _copy_database(admin, *, source: str, target: str) -> None:
    from psycopg import sql

    # FILE_COPY copies the files (a checkpoint, then about 2 s for L's 600 MB) instead of
    # WAL-logging every block, PostgreSQL 15's default.
    strategy = sql.SQL(" STRATEGY FILE_COPY") if admin.info.server_version >= 150000 else sql.SQL("")
    admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}{}").format(
        sql.Identifier(target), sql.Identifier(source), strategy))


def prepare_database(*, database_url: str, marker_tenant: str, marker_name: str, reseed: bool) -> bool:
    """Makes the run's database a fresh copy of the finished seed, so that every run measures the same
    data: the write scenarios of earlier runs (view/update adds a consumption row per new learner and
    lesson, attempt starts add attempts) would otherwise grow what later runs' reads count, and runs
    would not compare. Returns True when the database is such a copy; False when it was (re)created
    empty, to be seeded (no finished seed of this scale, or --reseed), after which
    `keep_finished_seed` keeps it."""
    from psycopg import sql

    name = urlsplit(database_url).path.lstrip("/")
    if not name.startswith("lms_bench"):
        raise HarnessError(f"Refusing to seed {name!r}: benchmark databases are named lms_bench*.")
    seed_copy = seed_copy_name(name)
    with _admin_connection(database_url) as admin:
        existing = {row[0] for row in admin.execute(
            "SELECT datname FROM pg_database WHERE datname IN (%s, %s)", [name, seed_copy])}
        keep = (not reseed and seed_copy in existing and _holds_finished_seed(
            database_url, seed_copy, marker_tenant=marker_tenant, marker_name=marker_name))
        for stale in sorted(existing if not keep else existing - {seed_copy}):
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(stale)))
        if keep:
            log(f"copying {name} from its finished seed ({seed_copy})")
            _copy_database(admin, source=seed_copy, target=name)
        else:
            reason = "--reseed" if reseed else "no finished seed of this scale"
            log(f"creating database {name} ({reason})")
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return keep


def keep_finished_seed(*, database_url: str) -> None:
    """Copies the just-seeded database to its seed copy (see prepare_database). Closes this
    process's connections first: PostgreSQL copies only a database nobody is connected to."""
    from django.db import connections

    connections.close_all()
    name = urlsplit(database_url).path.lstrip("/")
    with _admin_connection(database_url) as admin:
        log(f"keeping the finished seed as {seed_copy_name(name)}")
        _copy_database(admin, source=name, target=seed_copy_name(name))


# --------------------------------------------------------------------------- in-process checks

class InProcess:
    """The endpoints called in this process through Django's test client, to count queries,
    record EXPLAIN plans and profile; the numbers are the same code paths the server runs."""

    def __init__(self, workload):
        from django.test import Client

        self.workload = workload
        self.client = Client(SERVER_NAME="127.0.0.1")

    def call_sample(self, name: str, rng: random.Random):
        method, path, body, token = sample_request(name, self.workload, rng)
        headers = conditional_headers(name, self.workload, path)
        return self.call(method, path, body, token, headers=headers)

    def call(self, method: str, path: str, body, token: str, *, headers: dict[str, str] | None = None):
        extra = {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_TENANTID": self.workload.tenant_id}
        extra.update({f"HTTP_{key.upper().replace('-', '_')}": value for key, value in (headers or {}).items()})
        if body is None:
            return self.client.generic(method, path, **extra)
        return self.client.generic(method, path, data=json.dumps(body), content_type="application/json", **extra)

    def queries(self, name: str, rng: random.Random, *, samples: int, budget_s: float = 10.0) -> dict:
        """Queries per request (the most any of three requests made, with the first one's SQL), and the
        median latency of up to `samples` sequential requests on an otherwise idle server, each
        read timed on its second sending (warm per-process caches, as under load), each write on its first."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        self.call_sample(name, rng)  # warm: tenant cache, lazy imports
        # The timed requests are sent once untimed first. A server under load has long since cached
        # each course's lessons at its version and stored each token's directory claims; a single
        # cold pass over L's 100 courses and 2,000 users measured those first sightings instead
        # (summary/read read 2.35x S unloaded while its loaded p50 was 0.79x S).
        # A write is timed on its first sending: sent twice, a completing view/end or an attempt start
        # would measure the already-completed or resume path instead of the scenario's own.
        requests = [(sample_request(name, self.workload, rng)) for _ in range(max(3, samples))]
        writes = name == WRITE_FLOOR or BY_NAME[name].baseline == WRITE_FLOOR
        warm_until = time.monotonic() + budget_s / 2
        for number, (method, path, body, token) in enumerate([] if writes else requests):
            if number >= 3 and time.monotonic() > warm_until:
                break
            self.call(method, path, body, token, headers=conditional_headers(name, self.workload, path))
        counts, statements, status, timings = [], [], None, []
        deadline = time.monotonic() + budget_s
        for method, path, body, token in requests:
            if len(timings) >= 3 and time.monotonic() > deadline:
                break
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = self.call(method, path, body, token, headers=conditional_headers(name, self.workload, path))
                timings.append((time.perf_counter() - started) * 1000)
            status = response.status_code
            if len(counts) < 3:
                counts.append(len(captured.captured_queries))
            if not statements:
                statements = [q["sql"] for q in captured.captured_queries]
        return {"status": status, "queries": max(counts), "sql": statements,
                "unloaded_ms": round(statistics.median(timings), 2), "unloaded_samples": len(timings)}

    def explain(self, name: str, rng: random.Random) -> list[dict]:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        self.call_sample(name, rng)
        with CaptureQueriesContext(connection) as captured:
            response = self.call_sample(name, rng)
        plans = []
        for query in captured.captured_queries:
            text = query["sql"]
            if not text.lstrip().upper().startswith(("SELECT", "WITH")):
                plans.append({"sql": text, "plan": None})
                continue
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, SUMMARY ON) {text}")
                plan = "\n".join(row[0] for row in cursor.fetchall())
            plans.append({"sql": text, "plan": plan})
        return [{"status": response.status_code}] + plans

    def profile(self, name: str, rng: random.Random, requests: int, out: Path) -> None:
        import cProfile
        import io
        import pstats

        self.call_sample(name, rng)
        profiler = cProfile.Profile()
        samples = [sample_request(name, self.workload, rng) for _ in range(requests)]
        profiler.enable()
        for method, path, body, token in samples:
            self.call(method, path, body, token, headers=conditional_headers(name, self.workload, path))
        profiler.disable()
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        text.write(f"# {name}: {requests} in-process requests\n\n## by cumulative time\n")
        stats.sort_stats("cumulative").print_stats(35)
        text.write("\n## by own time\n")
        stats.sort_stats("tottime").print_stats(25)
        out.write_text(text.getvalue())


# --------------------------------------------------------------------------- checks against the server

def cancel_server_queries() -> int:
    """Cancels every query the server is running on the benchmark database (a request that would
    otherwise keep a worker thread and a CPU busy for minutes after its client gave up)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend' AND state = 'active' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def preflight(server: Server, workload, name: str, rng: random.Random, *, timeout: float) -> dict:
    """One request against the live server: does the endpoint exist, does it answer 2xx, how long
    does one request take on an idle server."""
    method, path, body, token = sample_request(name, workload, rng)
    headers = {**headers_for(workload, token), **conditional_headers(name, workload, path)}
    started = time.perf_counter()
    try:
        status, parsed, raw = request(server.base_url, method, path, headers=headers, body=body, timeout=timeout)
    except TimeoutError:
        cancel_server_queries()
        wait_until_idle(server, limit=60)
        return {"method": method, "path": path, "status": None, "err": None, "missing": False, "sample": None,
                "elapsed_ms": None, "errmsg": f"one request took longer than {timeout:.0f}s (cancelled)"}
    elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    params = (parsed or {}).get("params") or {}
    errmsg = params.get("errmsg")
    missing = status == 405 or (status == 404 and str(errmsg or "").startswith("No endpoint at"))
    return {"method": method, "path": path, "status": status, "err": params.get("err"), "errmsg": errmsg,
            "missing": missing, "elapsed_ms": elapsed_ms,
            "sample": raw[:300].decode(errors="replace") if status >= 400 else None}


def schedule(names: list[str], segment: int) -> list[list[str]]:
    """Segments of at most `segment` scenarios sharing one baseline floor, in the given order; the floors a
    segment needs are measured just before and just after it."""
    segments: list[list[str]] = []
    for name in names:
        if segments and len(segments[-1]) < segment and \
                BY_NAME[segments[-1][0]].baseline == BY_NAME[name].baseline:
            segments[-1].append(name)
        else:
            segments.append([name])
    return segments


def _open_server_sockets(port: int) -> int:
    """Server-side TCP sockets on the port still open (ESTABLISHED or CLOSE_WAIT): a request wrk
    abandoned stays in CLOSE_WAIT until gunicorn has finished it and closed the socket."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] in ("01", "08"):
                count += 1
    return count


def wait_until_idle(server: Server, *, limit: float = 120.0) -> float:
    """Waits until the server has finished the requests wrk left queued when it stopped.

    wrk stops after its duration but the server still works off up to 16 accepted requests; a
    slow scenario would otherwise eat into the next measurement. Past `limit` the server's
    running queries are cancelled. Returns the seconds waited."""
    started = time.monotonic()
    while _open_server_sockets(server.port):
        if time.monotonic() - started > limit:
            log(f"  the server is still busy after {limit:.0f}s; cancelling its queries")
            cancel_server_queries()
            limit += 30
        time.sleep(0.05)
    return round(time.monotonic() - started, 1)


FLOOR_ORDER = [f.name for f in FLOORS]


def session_config(args) -> dict:
    """How this session runs, as the report's header shows it (`bench.run.run_header`)."""
    return {"workers": args.workers, "threads": args.threads, "connections": 16,
            "wrk_threads": args.wrk_threads, "duration_s": args.duration,
            "warmup_s": args.warmup, "rounds": args.rounds, "cpus": os.cpu_count(),
            # The interpreter the server runs (gunicorn starts from this one, bench.gunicorn_process):
            # an optimized build serves every request faster, floors included (docs/benchmarks.md).
            "python": f"{platform.python_implementation()} {platform.python_version()}",
            "load_before": round(os.getloadavg()[0], 1)}


def drive(*, servers: dict[str, Server], wrk: str, data_path: Path, args, names: list[str]) -> dict[str, dict]:
    """The reads, then the writes: for each, a warm-up, then rounds. Each round opens and closes with
    every floor, in adjacent pairs (wsgi-hello then drf-hello then db-hello, and back), so each
    floor's ratio to its own baseline is taken between neighbours; between segments only the floors
    of the segments on either side run. A scenario's floor_rps is the mean of its baseline measured
    just before and just after its segment."""
    app = servers["app"]
    results: dict[str, dict] = {name: {"runs": [], "floor_rps": []} for name in [*FLOOR_ORDER, *names]}

    def measure(name: str, duration: float) -> dict:
        server = servers.get(name, app)
        run = run_wrk(wrk=wrk, script=BY_NAME[name].script, base_url=server.base_url, data_path=data_path,
                      duration=duration, threads=args.wrk_threads)
        run["drain_s"] = wait_until_idle(server)
        if run["drain_s"] > 2:
            log(f"  {name}: the server needed {run['drain_s']:.0f}s to finish the requests queued at the end")
        return run

    def measure_floors(floors: list[str]) -> dict[str, dict]:
        measured = {f: measure(f, args.duration) for f in floors}
        for floor, run in measured.items():
            baseline = BY_NAME[floor].baseline
            if baseline in measured:  # a floor with a baseline is compared with its neighbour of the same group
                run["floor_rps"] = measured[baseline]["ok_rps"]
                run["floor_p50_ms"] = measured[baseline]["p50_ms"]
                results[floor]["runs"].append(run)
            elif baseline is None:
                results[floor]["runs"].append(run)
        return measured

    def play_rounds(phase: str, phase_names: list[str]) -> None:
        segments = schedule(phase_names, args.segment)
        for round_number in range(1, args.rounds + 1):
            log(f"{phase}, round {round_number}/{args.rounds}: {len(phase_names)} scenarios x {args.duration:.0f}s, "
                "floors interleaved")
            latest = measure_floors(FLOOR_ORDER)
            for index, segment in enumerate(segments):
                runs = {name: measure(name, args.duration) for name in segment}
                if index + 1 < len(segments):
                    needed = {BY_NAME[n].baseline for n in segment + segments[index + 1]}
                    after = measure_floors([f for f in FLOOR_ORDER if f in needed])
                else:
                    after = measure_floors(list(reversed(FLOOR_ORDER)))
                for name, run in runs.items():
                    floor = BY_NAME[name].baseline
                    before_run, after_run = latest[floor], after[floor]
                    run["floor_rps"] = round((before_run["ok_rps"] + after_run["ok_rps"]) / 2, 1)
                    run["floor_p50_ms"] = round((before_run["p50_ms"] + after_run["p50_ms"]) / 2, 2)
                    results[name]["runs"].append(run)
                latest = {**latest, **after}

    # The reads' rounds all run before any write scenario (each phase with its own warm-up), so every
    # read measures the data as seeded: the writes grow it (view/update inserts a consumption row per
    # new learner and lesson, attempt starts add attempts), and with reads and writes alternating in
    # each round, the report's rounds in one run fell from 231 to 140 req/s at S as its course grew.
    reads = [name for name in names if BY_NAME[name].baseline != WRITE_FLOOR]
    writes = [name for name in names if BY_NAME[name].baseline == WRITE_FLOOR]
    for phase, phase_names, warm in (("reads", reads, [*FLOOR_ORDER, *reads]), ("writes", writes, writes)):
        if not phase_names:
            continue
        if args.warmup > 0:
            log(f"warm-up ({phase}): {args.warmup:.0f}s per endpoint")
            for name in warm:
                measure(name, args.warmup)
        play_rounds(phase, phase_names)
    return results


def capture_etags(server: Server, workload, *, timeout: float) -> dict[str, str]:
    """The ETag a learner's GET /courses/:id answers for each course ({} when the service sends none;
    a course that does not answer 200 is left out, and the 304 scenario draws from the others)."""
    _, token = workload.users[0]
    etags = {}
    for course_id, _ in workload.courses:
        answered: dict[str, str] = {}
        status, _, _ = request(server.base_url, "GET", f"/courses/{course_id}", headers=headers_for(workload, token),
                               timeout=timeout, response_headers=answered)
        if status == 200 and answered.get("ETag"):
            etags[course_id] = answered["ETag"]
    return etags


def wsgi_hello_body(server: Server, workload, work_dir: Path, *, timeout: float) -> Path:
    """One drf-hello answer's bytes, for the bare WSGI ceiling to answer verbatim."""
    _, token = workload.users[0]
    status, _, raw = request(server.base_url, "GET", "/bench/drf-hello", headers=headers_for(workload, token),
                             timeout=timeout)
    if status != 200:
        raise HarnessError(f"GET /bench/drf-hello answered {status}; cannot copy its body for wsgi-hello")
    path = work_dir / "wsgi-hello-body.json"
    path.write_bytes(raw)
    return path


def measure_csv_memory(*, env: dict, workload, args, log_path: Path) -> dict:
    """Peak RSS of the single worker before and after streaming the CSV summary download."""
    user_id, token, rows = workload.csv_user
    small_id, small_token = workload.small_csv_user
    with Server(env=env, workers=1, threads=args.threads, log_path=log_path) as server:
        worker = server.worker_pids()[0]

        def download(uid: str, tok: str) -> dict:
            headers = headers_for(workload, tok)
            started = time.monotonic()
            status, parsed, raw = request(server.base_url, "GET", f"/v1/viewer/summary/download/{uid}?format=csv",
                                          headers=headers, timeout=args.request_timeout)
            if status != 200:
                params = (parsed or {}).get("params") or {}
                return {"status": status, "errmsg": params.get("errmsg"),
                        "missing": status == 404 and str(params.get("errmsg") or "").startswith("No endpoint at")}
            url = ((parsed or {}).get("result") or {}).get("url")
            if not url:
                return {"status": status, "errmsg": "no result.url in the download response", "missing": False}
            file_status, _, body = request(server.base_url, "GET", urljoin(server.base_url + "/", url),
                                           headers=headers, timeout=120)
            return {"status": file_status, "bytes": len(body), "rows": max(0, body.count(b"\n") - 1),
                    "seconds": round(time.monotonic() - started, 2), "missing": False,
                    "errmsg": None if file_status == 200 else body[:200].decode(errors="replace")}

        warm = download(small_id, small_token)
        before = memory_status(worker)
        reset = reset_peak_rss(worker)
        after_reset = memory_status(worker)
        result = download(user_id, token)
        after = memory_status(worker)
    baseline = after_reset["VmHWM"] if reset else before["VmHWM"]
    added_mb = round(max(0, after["VmHWM"] - baseline) / 1024, 1)
    return {"enrolments": rows, "warm": warm, "download": result, "rss_before_mb": round(before["VmRSS"] / 1024, 1),
            "peak_before_mb": round(baseline / 1024, 1), "peak_after_mb": round(after["VmHWM"] / 1024, 1),
            "added_mb": added_mb, "peak_reset": reset}


# --------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--work-dir", type=Path, required=True)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--segment", type=int, default=4)
    # The server's own default (lms/gunicorn.conf.py): one worker per CPU this process may use.
    parser.add_argument("--workers", type=int, default=min(len(os.sched_getaffinity(0)), 16))
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--profile", type=int, default=0, help="profile N in-process requests per scenario")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--no-memory", dest="memory", action="store_false")
    parser.add_argument("--max-unloaded-ms", type=float, default=2000,
                        help="an endpoint slower than this for one request on an idle server is not loaded")
    parser.add_argument("--request-timeout", type=float, default=60)
    parser.add_argument("--samples", type=int, default=50, help="sequential in-process requests timed per endpoint")
    args = parser.parse_args(argv)

    env = service_environment(database_url=args.database_url, secret_key=secrets.token_urlsafe(50),
                              jwt_secret=secrets.token_urlsafe(48))
    os.environ.update(env)
    for key in [k for k in os.environ if k not in env]:
        if key.startswith("LMS_"):
            del os.environ[key]

    from bench import plan

    scale = plan.SCALES[args.scale]
    seed_value = args.seed if args.seed is not None else plan.SEED
    work_dir = args.work_dir
    work_dir.mkdir(parents=True, exist_ok=True)
    wrk = ensure_wrk()
    output: dict = {"scale": scale.name, "seed": seed_value, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    "config": session_config(args)}
    started = time.monotonic()
    kept = prepare_database(
        database_url=args.database_url, marker_tenant=str(plan.tenant_id_for(scale, seed_value)),
        marker_name=plan.tenant_marker(scale, seed_value), reseed=args.reseed,
    )

    import django

    django.setup()
    from django.core.management import call_command

    log("migrating")
    call_command("migrate", interactive=False, verbosity=0)
    from django.conf import settings

    if not Path(settings.STATIC_ROOT).exists():
        log("collecting static files (production storage)")
        call_command("collectstatic", interactive=False, verbosity=0)
    from bench import seed as seeding

    if kept and seeding.is_seeded(scale, seed_value):
        log(f"scale {scale.name}: a fresh copy of the finished seed (seed {seed_value})")
        output["seed_report"] = {"reused": True}
    else:
        log(f"seeding scale {scale.name} (seed {seed_value})")
        report = seeding.seed_database(scale=scale, seed=seed_value, log=log)
        output["seed_report"] = {**report.__dict__, "reused": False}
        keep_finished_seed(database_url=args.database_url)
    output["setup_seconds"] = round(time.monotonic() - started, 1)

    from bench.scenarios import build_workload

    workload = build_workload(scale=scale, seed=seed_value)
    data_path, _ = workload.write(work_dir)
    output["workload"] = json.loads((work_dir / "data.json").read_text())
    wanted = [s.name for s in SCENARIOS if not args.only or s.name in args.only.split(",")]

    rng = random.Random(seed_value)
    in_process = InProcess(workload)
    output["items"] = {}
    output["code_digest"] = code_digest()
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(
            Server(env=env, workers=args.workers, threads=args.threads, log_path=work_dir / "gunicorn.log")
        )
        log(f"gunicorn on {server.base_url}: {args.workers} workers x {args.threads} threads")
        body_path = wsgi_hello_body(server, workload, work_dir, timeout=args.request_timeout)
        ceiling = stack.enter_context(
            Server(env={**env, "BENCH_WSGI_HELLO_BODY": str(body_path)}, workers=args.workers, threads=args.threads,
                   log_path=work_dir / "gunicorn-wsgi-hello.log", app="bench.wsgi_hello:application")
        )
        servers = {"app": server, WSGI_FLOOR: ceiling}
        if "course_read_304" in wanted:
            workload.etags = capture_etags(server, workload, timeout=args.request_timeout)
            workload.write(work_dir)
            log(f"  {len(workload.etags)} course ETags captured for course_read_304")
        for name in [f.name for f in FLOORS] + wanted:
            check = preflight(servers.get(name, server), workload, name, rng, timeout=args.request_timeout)
            if name == "course_read_304" and not workload.etags:
                check.update(missing=True, errmsg="GET /courses/:id sends no ETag")
            item = output["items"][name] = {"preflight": check}
            elapsed = check["elapsed_ms"]
            # Loading an endpoint whose single request takes seconds would queue 16 of them and leave the
            # server busy long after wrk stops; it is reported as too slow instead, with its latency.
            item["too_slow"] = not check["missing"] and (elapsed is None or elapsed > args.max_unloaded_ms)
            if name == WSGI_FLOOR:
                item.update(queries=0, unloaded_ms=elapsed)  # not Django: nothing to count in-process
            elif not check["missing"] and not item["too_slow"]:
                counted = in_process.queries(name, rng, samples=args.samples)
                item.update(queries=counted["queries"], sql=counted["sql"], in_process_status=counted["status"],
                            unloaded_ms=counted["unloaded_ms"], unloaded_samples=counted["unloaded_samples"])
            else:
                item["unloaded_ms"] = elapsed
            state = "missing" if check["missing"] else ("too slow" if item["too_slow"] else check["status"])
            log(f"  {name:16s} {check['method']:4s} {check['path'][:60]:60s} -> {state}, "
                f"{item.get('queries', '?')} queries, {item['unloaded_ms']} ms unloaded")
        measurable = [n for n in wanted if not output["items"][n]["preflight"]["missing"]
                      and not output["items"][n]["too_slow"]]
        results = drive(servers=servers, wrk=wrk, data_path=data_path, args=args, names=measurable)
        for name, measured in results.items():
            output["items"][name].update(measured)

    if args.memory:
        log("memory: CSV summary download on a single worker")
        try:
            output["memory"] = measure_csv_memory(env=env, workload=workload, args=args,
                                                  log_path=work_dir / "gunicorn-memory.log")
        except Exception as error:  # the measurement is reported, never fatal
            output["memory"] = {"error": f"{type(error).__name__}: {error}"}

    output["explain"] = {}
    for name in EXPLAINED:
        if name in wanted and not output["items"][name]["preflight"]["missing"]:
            try:
                output["explain"][name] = in_process.explain(name, rng)
            except Exception as error:
                output["explain"][name] = [{"status": None, "error": f"{type(error).__name__}: {error}"}]
    if args.profile:
        for name in wanted:
            if not output["items"][name]["preflight"]["missing"]:
                in_process.profile(name, rng, args.profile, work_dir / f"profile-{name}.txt")
    output["config"]["load_after"] = round(os.getloadavg()[0], 1)
    if code_digest() != output["code_digest"]:
        output["code_changed"] = True
        log("WARNING: the service's code changed while this scale was measured")
    output["seconds"] = round(time.monotonic() - started, 1)
    args.out.write_text(json.dumps(output, indent=2, default=str))
    log(f"scale {scale.name} done in {output['seconds']:.0f}s")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except HarnessError as error:
        print(f"bench: {error}", file=sys.stderr)
        sys.exit(2)
    except Exception:
        traceback.print_exc()
        sys.exit(2)
