"""The figures `make fuzz` prints and judges by: counted from schemathesis' reports and gunicorn's log."""

from __future__ import annotations

import json

from tests.reliability.fuzz import summarize

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="schemathesis">
  <testcase name="GET /courses" />
  <testcase name="POST /modules"><failure type="failure" message="ST201">1. Test Case ID: a

- ST201 Schema-violating request accepted

2. Test Case ID: b

- ST101 Server error
</failure></testcase>
</testsuite></testsuites>
"""


def test_summary_counts_operations_requests_server_errors_and_failures(tmp_path):
    ndjson = tmp_path / "events.ndjson"
    ndjson.write_text("\n".join(json.dumps(event) for event in (
        {"Initialize": {}},
        {"ScenarioFinished": {"recorder": {"label": "GET /courses"}}},
        {"ScenarioFinished": {"recorder": {"label": "GET /courses"}}},
        {"ScenarioFinished": {"recorder": {"label": "POST /modules"}}},
        {"ScenarioFinished": {"recorder": {"label": "Stateful tests"}}},
    )))
    junit = tmp_path / "junit.xml"
    junit.write_text(JUNIT)
    access = tmp_path / "gunicorn.log"
    access.write_text("\n".join([
        '{"logger": "gunicorn.access", "status": 200}',
        '{"logger": "gunicorn.access", "status": 404}',
        '{"logger": "gunicorn.access", "status": 503}',
        '{"levelname": "INFO", "message": "Booting worker"}',
        "[2026-12-03 06:00:00] [1] [INFO] Listening at: http://127.0.0.1:18400",
    ]))

    figures = summarize(ndjson=ndjson, junit=junit, access_log=access)

    assert figures == {
        "operations": 2,
        "requests": 3,
        "server_errors_5xx": 1,
        "failures": {"ST201 Schema-violating request accepted": 1, "ST101 Server error": 1},
    }
