"""`python -m bench.run [--smoke] [--scale S|L|S,L] [--duration N]`: the benchmark of issue 6.

Each scale runs in its own process (`bench.session`) against its own database (lms_bench_s,
lms_bench_l, lms_bench_smoke on the PostgreSQL server named by DATABASE_URL, default
postgres://postgres@127.0.0.1:5432); this process collects the sessions into the report:
a table on stdout, bench/results/latest.json, latest.md and explain.md (smoke runs write
under bench/results/tmp/ instead, so they never overwrite a committed run).

Exit status: 0 when the harness ran (budget misses are reported, not fatal; --strict makes
them fatal), 1 when a scenario answered mostly errors, 2 when the harness itself broke.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench import report as reporting

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
WORK = RESULTS / "tmp"
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/"


def database_url(*, target: str, single: bool) -> str:
    """The benchmark database for a target (scale name or smoke). Only databases named lms_bench*
    are ever created, dropped or seeded: DATABASE_URL supplies the server and credentials, and its
    database name only when it is itself an lms_bench* name and one target runs."""
    base = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL") or DEFAULT_SERVER
    parts = urlsplit(base)
    if not parts.scheme.startswith("postgres"):
        parts = urlsplit(DEFAULT_SERVER)
    name = parts.path.lstrip("/")
    if not (single and name.startswith("lms_bench")):
        name = f"lms_bench_{target.lower()}"
    return urlunsplit(("postgres", parts.netloc, f"/{name}", "", ""))


def run_header(generated: str, sessions: list[dict]) -> str:
    """The report's first line: when, on what (CPUs and, once sessions record it, the interpreter,
    which moves every absolute figure), how the server and wrk ran, and the machine's load."""
    config = sessions[0]["config"]
    interpreter = f", {config['python']}" if config.get("python") else ""
    return (
        f"Run {generated} on {config['cpus']} CPUs{interpreter}: gunicorn {config['workers']} workers x "
        f"{config['threads']} threads (gthread, production settings, PostgreSQL); wrk {config['wrk_threads']} "
        f"threads, {config['connections']} connections, {config['rounds']} round(s) of {config['duration_s']:.0f} s "
        f"per scenario after {config['warmup_s']:.0f} s warm-up; floors interleaved. Machine load (1-min "
        "average) before/after each scale: "
        + ", ".join(f"{s['scale']} {s['config'].get('load_before')}/{s['config'].get('load_after')}" for s in sessions)
        + "."
    )


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="every scenario for ~2 s at a tiny scale (CI)")
    parser.add_argument("--scale", default=None, help="S, L or S,L (default S,L)")
    parser.add_argument("--duration", type=float, default=None, help="seconds per measured wrk run (default 10)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds of every scenario (default 3)")
    parser.add_argument("--warmup", type=float, default=None, help="seconds of warm-up per endpoint (default 3)")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: one per CPU, as lms/gunicorn.conf.py)")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker (default 4, as lms/gunicorn.conf.py)")
    parser.add_argument("--only", default="", help="comma-separated scenario names, e.g. view_read,summary_read")
    parser.add_argument("--reseed", action="store_true", help="drop and reseed the benchmark databases")
    parser.add_argument("--profile", type=int, default=0, help="also cProfile N in-process requests per scenario")
    parser.add_argument("--no-memory", action="store_true", help="skip the CSV download memory measurement")
    parser.add_argument("--report-only", action="store_true",
                        help="rebuild the report from the last sessions' raw results (bench/results/tmp/) without running")
    parser.add_argument("--strict", action="store_true", help="exit 1 on a missed budget or a missing endpoint")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.smoke:
        targets = ["smoke"]
        duration, rounds, warmup, segment = args.duration or 2, args.rounds or 1, args.warmup or 0, 99
    else:
        targets = [s.strip().upper() for s in (args.scale or "S,L").split(",") if s.strip()]
        duration, rounds = args.duration or 10, args.rounds or 3
        warmup = 3 if args.warmup is None else args.warmup
        segment = 4
    for target in targets:
        if target not in ("smoke", "S", "L"):
            print(f"bench: unknown scale {target!r}; use S, L or S,L", file=sys.stderr)
            return 2
    WORK.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    sessions = []
    for target in targets:
        out = WORK / f"session-{target.lower()}.json"
        if args.report_only:
            if not out.exists():
                print(f"bench: no raw results for {target} ({out}); run the benchmark first.", file=sys.stderr)
                return 2
            sessions.append(json.loads(out.read_text()))
            continue
        out.unlink(missing_ok=True)
        url = database_url(target=target, single=len(targets) == 1)
        print(f"== bench {target}: {urlsplit(url).netloc}{urlsplit(url).path}, {rounds} round(s) x {duration:.0f}s",
              flush=True)
        command = [
            sys.executable, "-m", "bench.session", "--scale", target, "--database-url", url, "--out", str(out),
            "--work-dir", str(WORK / target.lower()), "--duration", str(duration), "--rounds", str(rounds),
            "--warmup", str(warmup), "--segment", str(segment), "--threads", str(args.threads),
        ]
        if args.workers:
            command += ["--workers", str(args.workers)]
        if args.smoke:
            command += ["--samples", "5"]
        if args.only:
            command += ["--only", args.only]
        if args.reseed:
            command.append("--reseed")
        # The 10,000-row CSV measures the worker, not the data size: once per run, at the first scale.
        if args.no_memory or target != targets[0]:
            command.append("--no-memory")
        if args.profile:
            command += ["--profile", str(args.profile)]
        if subprocess.run(command, cwd=ROOT).returncode != 0 or not out.exists():
            print(f"bench: the {target} session failed (see above).", file=sys.stderr)
            return 2
        sessions.append(json.loads(out.read_text()))

    report = reporting.summarize(sessions)
    report["generated"] = sessions[0].get("started") if args.report_only else time.strftime("%Y-%m-%dT%H:%M:%S%z")
    report["seconds"] = round(time.monotonic() - started, 1)
    context = run_header(report["generated"], sessions)
    # Smoke and partial (--only) runs never overwrite the committed results.
    prefix = "smoke" if args.smoke else ("partial" if args.only else "latest")
    directory = RESULTS if prefix == "latest" else WORK
    (directory / f"{prefix}.json").write_text(json.dumps(report, indent=2, default=str))
    (directory / f"{prefix}.md").write_text(
        reporting.markdown(report, title="Benchmark results" if prefix == "latest" else f"Benchmark ({prefix} run)",
                           context=context)
    )
    (directory / ("explain.md" if prefix == "latest" else f"{prefix}-explain.md")).write_text(
        reporting.explain_markdown(sessions)
    )
    (WORK / f"{prefix}-queries.md").write_text(reporting.queries_markdown(sessions))

    print()
    print(reporting.text_table(report))
    print(f"\nWritten: {directory / (prefix + '.md')} and .json ({report['seconds']:.0f}s in all)")
    missed, bad = reporting.failures(report), reporting.broken(report)
    missing = [f"{scale} {i['label']}" for scale, data in report["scales"].items()
               for i in data["items"] if i["status"] == "missing"]
    if missing:
        print("Missing endpoints (404/405 on every request): " + "; ".join(missing))
    if missed:
        print("Budgets missed: " + "; ".join(missed))
    if bad:
        print("Scenarios answering mostly errors: " + "; ".join(bad), file=sys.stderr)
        return 1
    if args.strict and (missed or missing):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
