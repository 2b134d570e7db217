"""`python -m tests.reliability.fuzz [--examples N]`: schemathesis against the live service (`make fuzz`).

Creates a fresh PostgreSQL database (default lms_proof_fuzz on DATABASE_URL's server), migrates it,
seeds a tenant with a course, modules, lessons, an enrolled learner and an open attempt
(tests/reliability/seed.py), mints an admin token, starts gunicorn with production settings and runs
`schemathesis run <schema> --checks all` on every operation (tests/reliability/schemathesis.toml pins
the path ids to the seeded objects). Exits 1 unless schemathesis found nothing: no server error, no
response outside the schema (body, status code, content type, headers), no request outside the
schema accepted. Prints the figures docs/reliability.md records.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.reliability import live

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "schemathesis.toml"


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.fuzz", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=100, help="examples per operation and phase (default 100)")
    parser.add_argument("--database", default=os.environ.get("FUZZ_DATABASE", "lms_proof_fuzz"),
                        help="database to (re)create on DATABASE_URL's server (default lms_proof_fuzz)")
    parser.add_argument("--workers", default="2", help="schemathesis workers (default 2)")
    parser.add_argument("--seed", type=int, default=None, help="schemathesis random seed (reproduce a run)")
    parser.add_argument("--report-dir", type=Path, default=live.ROOT / "schemathesis-report",
                        help="where the JUnit and NDJSON reports go (default ./schemathesis-report)")
    parser.add_argument("--keep-database", action="store_true", help="do not drop the database afterwards")
    parser.add_argument("extra", nargs="*", help="passed on to `schemathesis run` (after --)")
    return parser.parse_args(argv)


def summarize(ndjson: Path) -> dict:
    """Operations, requests and failures by check, from schemathesis' NDJSON event stream."""
    operations, requests, failures = set(), 0, {}
    for line in ndjson.read_text().splitlines():
        event = json.loads(line)
        if "ScenarioFinished" not in event:
            continue
        finished = event["ScenarioFinished"]
        label = finished.get("label")
        if label:
            operations.add(label)
        recorder = finished.get("recorder") or {}
        for interaction in (recorder.get("interactions") or {}).values():
            if interaction.get("response") is not None:
                requests += 1
        for checks in (recorder.get("checks") or {}).values():
            for check in checks:
                if check.get("status") == "FAILURE":
                    failures[check["name"]] = failures.get(check["name"], 0) + 1
    return {"operations": len(operations), "requests": requests, "failures": failures}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    url = live.database_url(args.database)
    started = time.monotonic()
    print(f"fuzz: fresh database {live.database_name(url)}", flush=True)
    live.recreate_database(url)
    env = live.service_environment(database_url=url)
    live.manage(env, "migrate", "--noinput")
    fixture = live.seed(env)
    args.report_dir.mkdir(parents=True, exist_ok=True)
    ndjson = args.report_dir / "events.ndjson"
    log_path = args.report_dir / "gunicorn.log"
    log_path.unlink(missing_ok=True)
    try:
        with live.LiveServer(env=env, log_path=log_path) as server:
            print(f"fuzz: gunicorn on {server.base_url}, {args.examples} examples per operation", flush=True)
            fuzz_env = dict(os.environ)
            fuzz_env.update({f"FUZZ_{key.upper()}": value for key, value in fixture.items() if isinstance(value, str)})
            command = [
                str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(CONFIG), "run",
                f"{server.base_url}/api/schema/?format=json", "--url", server.base_url,
                "--checks", "all", "--max-examples", str(args.examples), "--workers", args.workers,
                "--report", "junit,ndjson", "--report-dir", str(args.report_dir),
                "--report-ndjson-path", str(ndjson), "--no-color", "--continue-on-failure",
                *(["--seed", str(args.seed)] if args.seed is not None else []),
                *args.extra,
            ]
            outcome = subprocess.run(command, cwd=live.ROOT, env=fuzz_env)
        figures = summarize(ndjson) if ndjson.exists() else {"operations": 0, "requests": 0, "failures": {}}
        server_errors = sum(
            1 for line in log_path.read_text(errors="replace").splitlines() if '"levelname": "ERROR"' in line
        )
    finally:
        if not args.keep_database:
            live.drop_database(url)
    figures["server_error_log_lines"] = server_errors
    figures["seconds"] = round(time.monotonic() - started)
    print("fuzz: " + json.dumps(figures), flush=True)
    if outcome.returncode != 0 or figures["failures"]:
        print("fuzz: FAILED: schemathesis reported failures (see above and the report directory).", file=sys.stderr)
        return 1
    if figures["operations"] == 0:
        print("fuzz: FAILED: no operation was tested.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
