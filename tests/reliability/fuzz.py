"""`python -m tests.reliability.fuzz [--examples N]`: schemathesis against the live service (`make fuzz`).

Creates a fresh PostgreSQL database (default lms_fuzz on DATABASE_URL's server), migrates it,
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
import re
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree

from tests.reliability import live

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "schemathesis.toml"


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.fuzz", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=100, help="examples per operation and phase (default 100)")
    parser.add_argument("--database", default=os.environ.get("FUZZ_DATABASE", "lms_fuzz"),
                        help="database to (re)create on DATABASE_URL's server (default lms_fuzz, or FUZZ_DATABASE)")
    # One worker: schemathesis' threads call ast.parse concurrently, which CPython 3.11 before 3.11.9
    # does not survive ("AST constructor recursion depth mismatch"), reported as errors of the run.
    parser.add_argument("--workers", default="1", help="schemathesis workers (default 1)")
    parser.add_argument("--seed", type=int, default=None, help="schemathesis random seed (reproduce a run)")
    parser.add_argument("--report-dir", type=Path, default=live.ROOT / "schemathesis-report",
                        help="where the JUnit and NDJSON reports go (default ./schemathesis-report)")
    parser.add_argument("--keep-database", action="store_true", help="do not drop the database afterwards")
    parser.add_argument("extra", nargs="*", help="passed on to `schemathesis run` (after --)")
    return parser.parse_args(argv)


def summarize(*, ndjson: Path, junit: Path, access_log: Path) -> dict:
    """The run's figures: operations tested (schemathesis' events), requests and 5xx answers (gunicorn's
    access log, one JSON line per request), failures by schemathesis code (the JUnit report)."""
    operations = set()
    if ndjson.exists():
        for line in ndjson.read_text().splitlines():
            finished = json.loads(line).get("ScenarioFinished")
            label = (finished or {}).get("recorder", {}).get("label") or ""
            if re.match(r"(GET|POST|PUT|PATCH|DELETE) /", label):  # not the stateful phase's scenarios
                operations.add(label)
    requests = server_errors = 0
    for line in access_log.read_text(errors="replace").splitlines():
        if '"gunicorn.access"' not in line:
            continue
        try:
            status = json.loads(line)["status"]
        except (ValueError, KeyError):
            continue
        requests += 1
        server_errors += status >= 500
    failures: dict[str, int] = {}
    if junit.exists():
        for failure in ElementTree.parse(junit).iter("failure"):
            for code, title in re.findall(r"^- (ST\d+) (.+)$", failure.text or "", flags=re.MULTILINE):
                key = f"{code} {title.strip()}"
                failures[key] = failures.get(key, 0) + 1
    return {"operations": len(operations), "requests": requests, "server_errors_5xx": server_errors,
            "failures": failures}


# Body fields that name objects: most generated values (80 %) are replaced by a seeded id, so the
# operations behind them (placing a lesson, starting an attempt, enrolling in a program) get past 404.
BODY_IDS = {
    "body.course_id": "courses", "body.courseId": "courses", "body.request.collectionId": "courses",
    "body.lesson_id": "lessons", "body.lessonId": "lessons", "body.request.contentId": "lessons", "body.request.contentId[*]": "lessons",
    "body.module_id": "modules", "body.moduleId": "modules",
    "body.user_id": "learners", "body.request.userId": "learners",
    "body.request.programId": "programs",
}


def config_with_ids(fixture: dict, path: Path) -> Path:
    """schemathesis.toml plus dictionaries of the seeded ids bound to the body fields above."""
    dictionaries = {
        "courses": [fixture["course_id"], fixture["spare_course_id"]],
        "lessons": [*fixture["lesson_ids"], fixture["library_lesson_id"]],
        "modules": fixture["module_ids"],
        "learners": fixture["learner_ids"],
        "programs": [fixture["program_id"], "proof-program"],
    }
    lines = [CONFIG.read_text(), "", "[parameters]"]
    lines += [f'"{key}" = {{ dictionary = "{name}", probability = 0.8 }}' for key, name in BODY_IDS.items()]
    for name, values in dictionaries.items():
        lines += ["", f"[dictionaries.{name}]", f"values = {json.dumps(values)}"]
    path.write_text("\n".join(lines) + "\n")
    return path


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
    junit = args.report_dir / "junit.xml"
    junit.unlink(missing_ok=True)
    log_path = args.report_dir / "gunicorn.log"
    log_path.unlink(missing_ok=True)
    try:
        with live.LiveServer(env=env, log_path=log_path, access_log=True) as server:
            print(f"fuzz: gunicorn on {server.base_url}, {args.examples} examples per operation", flush=True)
            fuzz_env = dict(os.environ)
            fuzz_env.update({f"FUZZ_{key.upper()}": value for key, value in fixture.items() if isinstance(value, str)})
            command = [
                str(Path(sys.executable).with_name("schemathesis")), "--config-file",
                str(config_with_ids(fixture, args.report_dir / "schemathesis.toml")), "run",
                f"{server.base_url}/api/schema/?format=json", "--url", server.base_url,
                "--checks", "all", "--max-examples", str(args.examples), "--workers", args.workers,
                "--report", "junit,ndjson", "--report-dir", str(args.report_dir),
                "--report-ndjson-path", str(ndjson), "--report-junit-path", str(junit), "--no-color", "--continue-on-failure",
                *(["--seed", str(args.seed)] if args.seed is not None else []),
                *args.extra,
            ]
            outcome = subprocess.run(command, cwd=live.ROOT, env=fuzz_env)
        figures = summarize(ndjson=ndjson, junit=junit, access_log=log_path)
    finally:
        if not args.keep_database:
            live.drop_database(url)
    figures["seconds"] = round(time.monotonic() - started)
    print("fuzz: " + json.dumps(figures), flush=True)
    if outcome.returncode != 0 or figures["failures"] or figures["server_errors_5xx"]:
        print("fuzz: FAILED: schemathesis reported failures (see above and the report directory).", file=sys.stderr)
        return 1
    if figures["operations"] == 0:
        print("fuzz: FAILED: no operation was tested.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
