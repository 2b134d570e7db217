"""Structured JSON logs carry the request's resmsgid, the same id the envelope returns."""

from __future__ import annotations

import io
import json
import logging

import pytest
from django.conf import settings
from django.utils.module_loading import import_string

pytestmark = pytest.mark.urls("tests.lms.urls_probe")


@pytest.fixture
def json_log():
    """A handler built like the configured console handler (JSON formatter + request-id filter)."""
    formatter_config = settings.LOGGING["formatters"]["json"]
    formatter = import_string(formatter_config["()"])(formatter_config["fmt"])
    request_filter = import_string(settings.LOGGING["filters"]["request_id"]["()"])()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(request_filter)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    finally:
        root.removeHandler(handler)


def test_an_error_log_line_is_json_with_the_responses_resmsgid(admin_client, json_log):
    response = admin_client.get("/probe/crash")

    resmsgid = response.json()["params"]["resmsgid"]
    lines = json_log()
    crash = next(line for line in lines if line["name"] == "lms.api")
    assert crash["levelname"] == "ERROR"
    assert crash["resmsgid"] == resmsgid
    assert "RuntimeError" in crash["exc_info"]  # the traceback goes to the log, never to the client


def test_djangos_own_response_log_carries_the_resmsgid_too(client, db, json_log):
    # django.request logs 4xx/5xx after the middleware has returned; the id still arrives.
    response = client.get("/no/such/path")

    lines = json_log()
    not_found = next(line for line in lines if line["name"] == "django.request")
    assert not_found["resmsgid"] == response.json()["params"]["resmsgid"]
    assert not_found["message"] == "Not Found: /no/such/path"


def test_lines_outside_a_request_say_dash(json_log):
    logging.getLogger("lms.test").warning("background work")

    assert json_log()[-1]["resmsgid"] == "-"
