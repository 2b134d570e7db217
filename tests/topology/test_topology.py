"""The three proofs of the topology (issue 15, docs/scaling.md): nothing is sticky; one instance
killed under load loses no acknowledged write; the bench mix through nginx and PgBouncer."""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import threading
import time
import uuid

import psycopg
import pytest

pytestmark = pytest.mark.topology


def _ok(answer: tuple[int, dict | None], status: int = 200) -> dict:
    code, body = answer
    assert code == status, body
    return body["result"]


def _view(client, workload, learner, lesson_id, path, **fields) -> tuple[int, dict | None]:
    course_id = workload["course_id"]
    body = {"userId": learner["user_id"], "collectionId": course_id, "batchId": course_id, "contentId": lesson_id,
            **fields}
    return client.post(path, {"request": body})


# --------------------------------------------------------------------------- 1. nothing is sticky

def _progress(read: dict, lesson_id: str) -> int | None:
    return next((entry["progress"] for entry in read["contents"] if entry["contentId"] == lesson_id), None)


def test_a_write_through_one_instance_is_read_through_the_other_at_once(topology, workload, through):
    app_a, app_b = (app.base_url for app in topology.apps)
    learner = workload["learners"][1]
    writer, reader = through(app_a, learner["token"]), through(app_b, learner["token"])
    # Progress only grows (DECISIONS §4): a lesson this learner has barely opened shows each report.
    seen = _ok(_view(reader, workload, learner, workload["lessons"][1:11], "/v1/view/read"))
    lesson = next(lesson for lesson in workload["lessons"][1:11] if (_progress(seen, lesson) or 0) < 17)
    for progress in (17, 43, 71):
        _ok(_view(writer, workload, learner, lesson, "/v1/view/update", progress=progress))
        assert _progress(_ok(_view(reader, workload, learner, [lesson], "/v1/view/read")), lesson) == progress
        writer, reader = reader, writer


def test_an_authors_change_is_served_by_every_instance_at_once(topology, workload, through):
    """Rendered course trees are cached per process and in Redis under the course's content version;
    an author's change through one instance bumps the version, so no instance serves the old tree."""
    app_a, app_b = (app.base_url for app in topology.apps)
    admin = workload["admin_token"]
    course = workload["course_id"]
    entry_points = [through(url, admin) for url in (app_a, app_b, topology.url)]
    for round_ in range(3):
        for client in entry_points:  # warm every cache with the current tree
            _ok(client.get(f"/courses/details/{course}"))
        title = f"Changed through {'AB'[round_ % 2]} {uuid.uuid4().hex[:8]}"
        _ok(entry_points[round_ % 2].put(f"/courses/{course}", {"title": title}))
        for client in entry_points:
            assert _ok(client.get(f"/courses/details/{course}"))["title"] == title, client.base_url
            assert _ok(client.get(f"/courses/{course}"))["title"] == title, client.base_url


# --------------------------------------------------------------------------- 2. an instance killed under load

LOAD_THREADS = 6


def test_an_instance_killed_under_load_loses_no_acknowledged_write(topology, workload, through):
    """A bounded mixed load through nginx (reads, attempt starts, progress reports); one instance's
    master and workers get SIGKILL a third of the way in. nginx retries what could not reach it
    (connection refused) on the other; a request in flight on the killed instance answers 502
    (or, for a read, is retried). Every attempt start acknowledged with 201 must be in the database."""
    seconds = float(os.environ.get("LMS_TOPOLOGY_KILL_SECONDS", "6"))
    learners = workload["learners"]
    course, lesson = workload["course_id"], workload["lessons"][0]
    acknowledged: list[str] = []
    outcomes: list[tuple[float, str, int]] = []  # (time, kind, status or 0 for no answer)
    lock = threading.Lock()
    started = time.monotonic()
    stop_at = started + seconds
    victim = topology.apps[0]

    def load(index: int) -> None:
        rng = random.Random(index)
        learner = learners[index % len(learners)]
        client = through(topology.url, learner["token"])
        while time.monotonic() < stop_at:
            kind = rng.choice(("read", "start", "progress"))
            try:
                if kind == "read":
                    status, body = client.get(f"/courses/{course}")
                elif kind == "start":
                    status, body = client.post(
                        "/lessons/tracking", {"lesson_id": lesson, "course_id": course, "user_id": learner["user_id"]})
                else:
                    status, body = _view(client, workload, learner, rng.choice(workload["lessons"]), "/v1/view/update",
                                         progress=rng.randint(1, 99))
            except (OSError, http.client.HTTPException):
                status, body = 0, None
            with lock:
                outcomes.append((time.monotonic() - started, kind, status))
                if kind == "start" and status == 201:
                    acknowledged.append(body["result"]["id"])

    threads = [threading.Thread(target=load, args=(i,)) for i in range(LOAD_THREADS)]
    for thread in threads:
        thread.start()
    time.sleep(seconds / 3)
    killed_at = time.monotonic() - started
    for pid in [*victim.worker_pids(), victim.process.pid]:
        os.kill(pid, signal.SIGKILL)
    for thread in threads:
        thread.join(timeout=60)

    errors = [(at, kind, status) for at, kind, status in outcomes if not 200 <= status < 300]
    after = [o for o in outcomes if o[0] > killed_at]
    report = {
        "requests": len(outcomes), "after_kill": len(after), "errors": len(errors),
        "errors_by_kind": {k: sum(1 for e in errors if e[1] == k) for k in ("read", "start", "progress")},
        "statuses": sorted({status for _, _, status in errors}), "acknowledged_starts": len(acknowledged),
        "killed_at_s": round(killed_at, 2),
    }
    print(f"\ntopology kill: {json.dumps(report)}")
    (topology.run_dir / "kill-report.json").write_text(json.dumps(report, indent=2))

    with psycopg.connect(topology.settings.direct_url.replace("postgres://", "postgresql://", 1)) as connection:
        stored = {str(row[0]) for row in connection.execute(
            "SELECT id FROM tracking_lessonattempt WHERE id = ANY(%s)", [[uuid.UUID(a) for a in acknowledged]])}
    assert set(acknowledged) <= stored, f"{len(set(acknowledged) - stored)} acknowledged attempts are missing"
    assert len(after) > 2 * LOAD_THREADS, "the other instance did not take the traffic after the kill"
    # Only requests in flight on the killed instance may fail: at most one per client thread, and
    # nothing once nginx has marked the instance down.
    assert len(errors) <= LOAD_THREADS, report
    assert all(at < killed_at + 1.0 for at, _, _ in errors), report
    assert all(status == 0 or status >= 500 for _, _, status in errors), report


# --------------------------------------------------------------------------- 3. the bench mix

BENCH_SCENARIOS = ("drf_hello", "raw_upsert", "course_read", "view_update", "attempt_start", "summary_read")


def test_the_bench_mix_through_nginx_and_pgbouncer(topology):
    """Each scenario of bench/ for a few seconds through nginx -> 2 instances -> PgBouncer, and on one
    gunicorn with as many workers straight to PostgreSQL, in the same run. The figures go to the run
    directory (bench.json) and docs/benchmarks.md; the test asserts correctness (no error answers),
    not a speed-up: on a few cores the hops cost more than the second instance brings."""
    from bench.loadgen import ensure_wrk, run_wrk
    from bench.scenarios import BY_NAME

    seconds = float(os.environ.get("LMS_TOPOLOGY_BENCH_SECONDS", "2"))
    wrk = ensure_wrk()
    data = topology.workload_dir / "data.txt"
    # A fresh topology: the instances that the kill proof stopped start again for the measurement.
    for app in topology.apps:
        if app.process.poll() is not None:
            app.start(ready=lambda a=app: len(a.worker_pids()) >= topology.settings.workers_per_instance)
    single = topology.start_single()
    results: dict[str, dict] = {}
    try:
        for name in BENCH_SCENARIOS:
            script = BY_NAME[name].script
            for base_url in (topology.url, single.base_url):  # warm-up: imports, caches, connections
                run_wrk(wrk=wrk, script=script, base_url=base_url, data_path=data, duration=1, threads=2)
            results[name] = {
                "topology": run_wrk(wrk=wrk, script=script, base_url=topology.url, data_path=data,
                                    duration=seconds, threads=2),
                "single": run_wrk(wrk=wrk, script=script, base_url=single.base_url, data_path=data,
                                  duration=seconds, threads=2),
            }
    finally:
        single.stop()
    (topology.run_dir / "bench.json").write_text(json.dumps(results, indent=2))
    lines = ["| scenario | single: req/s | p50 ms | p99 ms | topology: req/s | p50 ms | p99 ms | ratio |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, pair in results.items():
        one, many = pair["single"], pair["topology"]
        lines.append(f"| {BY_NAME[name].label} | {one['rps']:.0f} | {one['p50_ms']} | {one['p99_ms']} | "
                     f"{many['rps']:.0f} | {many['p50_ms']} | {many['p99_ms']} | {many['rps'] / (one['rps'] or 1):.2f} |")
    print("\n" + "\n".join(lines))
    (topology.run_dir / "bench.md").write_text("\n".join(lines) + "\n")
    for name, pair in results.items():
        for where, run in pair.items():
            assert run["non_2xx"] == 0 and run["socket_errors"] == 0, (name, where, run)
            assert run["requests"] > 0, (name, where)
