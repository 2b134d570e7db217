"""The seed plan's arithmetic, the database-name guard, wrk output parsing and the verdicts."""

import json
import stat

import pytest

from bench import plan
from bench.loadgen import run_wrk
from bench.report import summarize, summarize_item
from bench.run import database_url, run_header
from bench.scenarios import BY_NAME


def test_scale_l_has_the_sizes_of_the_issue():
    scale = plan.SCALES["L"]
    direct, programs = plan.heavy_user_plan(scale)
    heavy = len(direct) + programs * plan.PROGRAM_SIZE
    enrollments = scale.learners * scale.enrolments_per_learner + scale.heavy_users * heavy
    assert (scale.courses, scale.modules_per_course, scale.lessons_per_module) == (100, 20, 20)
    assert enrollments == 100_000
    assert enrollments * scale.consumption_per_enrolment == 1_000_000


@pytest.mark.parametrize("name", ["smoke", "S", "L"])
def test_heavy_users_reach_fifty_enrolments_in_distinct_contexts(name):
    scale = plan.SCALES[name]
    direct, programs = plan.heavy_user_plan(scale)
    children = [plan.program_children(program_index=p, course_count=scale.courses) for p in range(programs)]
    assert len(direct) + sum(len(c) for c in children) >= plan.HEAVY_ENROLMENTS
    assert all(len(set(c)) == len(c) for c in children)  # one enrolment per (course, program)


def test_ids_are_stable_per_seed_and_scale():
    scale = plan.SCALES["S"]
    assert plan.learner_id(scale, 7) == plan.learner_id(scale, 7)
    assert plan.learner_id(scale, 7) != plan.learner_id(plan.SCALES["L"], 7)
    assert plan.tenant_id_for(scale, seed=1) != plan.tenant_id_for(scale, seed=2)


def test_only_lms_bench_databases_are_used(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://app:pw@db.internal:5433/lms")
    assert database_url(target="S", single=True) == "postgres://app:pw@db.internal:5433/lms_bench_s"
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/lms_bench_smoke")
    assert database_url(target="smoke", single=True).endswith("/lms_bench_smoke")
    assert database_url(target="L", single=False).endswith("/lms_bench_l")
    monkeypatch.setenv("DATABASE_URL", "sqlite:///db.sqlite3")
    assert database_url(target="S", single=True) == "postgres://postgres@127.0.0.1:5432/lms_bench_s"


def test_run_wrk_reads_the_done_line(tmp_path):
    done = {"requests": 2000, "duration_us": 2_000_000, "bytes": 1, "statuses": {"200": 1990, "404": 10},
            "errors": {"connect": 0, "read": 0, "write": 0, "status": 10, "timeout": 0},
            "latency_us": {"p50": 4000, "p75": 5000, "p90": 6000, "p99": 9000, "max": 20000, "mean": 4100.0,
                           "stdev": 900.0}}
    fake = tmp_path / "wrk"
    fake.write_text(f"#!/bin/sh\necho 'Running 2s test'\necho 'BENCH_JSON {json.dumps(done)}'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    run = run_wrk(wrk=str(fake), script=BY_NAME["drf_hello"].script, base_url="http://127.0.0.1:1",
                  data_path=tmp_path / "data.txt", duration=2, threads=2)
    assert (run["rps"], run["ok_rps"], run["p50_ms"], run["p99_ms"], run["non_2xx"]) == (1000.0, 995.0, 4.0, 9.0, 10)


def _run(ok_rps, floor_rps, p50, p99, statuses=None, floor_p50=5.0):
    statuses = statuses or {"200": int(ok_rps * 10)}
    requests = sum(statuses.values())
    ok = sum(v for k, v in statuses.items() if k.startswith("2"))
    return {"requests": requests, "ok_rps": ok_rps, "floor_rps": floor_rps, "p50_ms": p50, "p99_ms": p99,
            "statuses": statuses, "non_2xx": requests - ok, "floor_p50_ms": floor_p50}


def test_verdicts_take_medians_and_compare_with_the_floor():
    item = {"preflight": {"status": 200, "missing": False}, "queries": 2,
            "runs": [_run(500, 1000, 10, 20), _run(700, 1000, 10, 40), _run(650, 1000, 12, 30)]}
    summary = summarize_item("course_search", item)  # budget 0.5x db-hello
    assert summary["ratio"] == 0.65 and summary["checks"] == {"ratio": True, "tail": True}
    assert summary["baseline"] == "db_hello"
    slow = summarize_item("course_read", {**item, "runs": [_run(100, 1000, 10, 50)]})
    assert slow["checks"] == {"ratio": False, "tail": False}


def test_every_item_names_the_floor_its_ratio_is_taken_against():
    # Issue 15: the reads against db-hello, drf-hello against the bare WSGI ceiling, writes against raw-upsert.
    assert BY_NAME["drf_hello"].baseline == "wsgi_hello" and BY_NAME["drf_hello"].budget == 0.5
    assert BY_NAME["course_read"].baseline == "db_hello" and BY_NAME["view_update"].baseline == "raw_upsert"
    assert BY_NAME["wsgi_hello"].baseline is None and BY_NAME["raw_upsert"].baseline is None
    floor = summarize_item("drf_hello", {"preflight": {"status": 200}, "runs": [_run(2000, 5000, 5, 20)]})
    assert (floor["ratio"], floor["checks"], floor["baseline"]) == (0.4, {"ratio": False}, "wsgi_hello")
    ceiling = summarize_item("wsgi_hello", {"preflight": {"status": 200}, "runs": [_run(5000, None, 2, 6)]})
    assert (ceiling["ratio"], ceiling["checks"], ceiling["baseline"]) == (None, {}, None)


def test_segments_share_one_baseline_so_each_is_measured_between_its_own_floor():
    from bench.session import schedule

    names = ["course_read", "course_details", "course_report", "view_update", "attempt_start", "summary_read"]
    assert schedule(names, 2) == [["course_read", "course_details"], ["course_report"],
                                  ["view_update", "attempt_start"], ["summary_read"]]


def test_every_read_is_measured_before_any_write_grows_the_data(monkeypatch):
    """Warm-ups included: a read scenario never runs after a write scenario in the same run."""
    import argparse

    from bench import session

    measured: list[str] = []

    def fake_wrk(*, script, **_):
        measured.append(next(s.name for s in BY_NAME.values() if s.script == script))
        return {"ok_rps": 1000.0, "p50_ms": 1.0}

    monkeypatch.setattr(session, "run_wrk", fake_wrk)
    monkeypatch.setattr(session, "wait_until_idle", lambda server: 0.0)
    names = ["course_read", "view_update", "course_report", "attempt_start", "summary_read"]
    args = argparse.Namespace(wrk_threads=1, duration=1, warmup=1, rounds=2, segment=4)

    results = session.drive(servers={"app": type("S", (), {"base_url": "http://x"})()}, wrk="wrk",
                            data_path=None, args=args, names=names)

    scenarios = [name for name in measured if not BY_NAME[name].floor]
    writes_from = scenarios.index("view_update")
    assert set(scenarios[:writes_from]) == {"course_read", "course_report", "summary_read"}
    assert set(scenarios[writes_from:]) == {"view_update", "attempt_start"}
    # Warm-up and two rounds of each, every run with its baseline floor's rate around it.
    assert all(scenarios.count(name) == 3 for name in names)
    assert all(len(results[name]["runs"]) == 2 and results[name]["runs"][0]["floor_rps"] == 1000.0 for name in names)


def test_missing_and_failing_endpoints_are_told_apart():
    missing = summarize_item("view_read", {"preflight": {"status": 404, "missing": True, "errmsg": "No endpoint"}})
    assert missing["status"] == "missing"
    failing = summarize_item("view_read", {"preflight": {"status": 500, "missing": False},
                                           "runs": [_run(0, 1000, 5, 9, {"500": 900, "200": 100})]})
    assert failing["status"] == "errors" and failing["checks"]["errors"] is False


def test_scale_budget_compares_the_median_single_request_at_l_with_s():
    def session(scale, unloaded_ms, p50, floor_p50):
        run = _run(10, 20, p50, p50, floor_p50=floor_p50)
        item = {"preflight": {"status": 200}, "runs": [run], "unloaded_ms": unloaded_ms}
        return {"scale": scale, "items": {"view_read": item}}

    report = summarize([session("S", 5.0, 10.0, 5.0), session("L", 7.0, 14.0, 7.0)])
    check = next(c for c in report["scale_checks"] if c["name"] == "view_read")
    assert (check["factor"], check["pass"]) == (1.4, False)
    # The loaded p50s are reported beside it, raw and in units of the floor's p50 of the same run.
    assert (check["loaded_raw_factor"], check["loaded_floor_factor"]) == (1.4, 1.0)
    report = summarize([session("S", 5.0, 10.0, 5.0), session("L", 5.5, 14.0, 5.0)])
    assert next(c for c in report["scale_checks"] if c["name"] == "view_read")["pass"] is True


def test_an_endpoint_too_slow_to_load_fails_with_its_latency():
    item = {"preflight": {"status": 200, "missing": False, "elapsed_ms": 7600.0}, "too_slow": True,
            "unloaded_ms": 7600.0}
    summary = summarize_item("summary_list", item)
    assert summary["status"] == "too slow" and summary["checks"] == {"too slow": False}
    assert "7,600 ms" in summary["note"]


def test_the_header_names_the_interpreter_a_run_was_served_by():
    # Absolute figures are comparable only between runs on the same interpreter build: each session
    # records the one its server runs, and the report's first line names it.
    import argparse
    import platform

    from bench.session import session_config

    args = argparse.Namespace(workers=2, threads=4, wrk_threads=2, duration=10.0, warmup=3.0, rounds=3)
    config = session_config(args)
    assert config["python"] == f"{platform.python_implementation()} {platform.python_version()}"

    sessions = [{"scale": "S", "config": {**config, "load_after": 1.0}}]
    header = run_header("2026-12-04T23:38:01+0000", sessions)
    assert header.startswith(f"Run 2026-12-04T23:38:01+0000 on {config['cpus']} CPUs, {config['python']}: gunicorn 2 ")
    # A session recorded before the interpreter was kept (`--report-only` over an old run) still reports.
    del sessions[0]["config"]["python"]
    assert run_header("then", sessions).startswith(f"Run then on {config['cpus']} CPUs: gunicorn 2 workers x 4 threads")
