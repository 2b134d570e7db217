"""Browsers on other origins (DECISIONS §8): CORS through django-cors-headers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

BASE_DIR = Path(__file__).resolve().parents[2]


def _preflight(client: Client, path: str, origin: str, method: str = "POST"):
    return client.options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type, tenantid",
    )


@pytest.mark.django_db
@pytest.mark.parametrize("origin", ["http://localhost:3000", "http://127.0.0.1:5173", "http://localhost"])
@pytest.mark.parametrize("path", ["/courses", "/lessons/tracking", "/v1/view/start", "/enrollments"])
def test_a_preflight_from_a_local_origin_needs_no_token(client, origin, path):
    response = _preflight(client, path, origin)

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == origin
    allowed_headers = {h.strip() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "tenantid", "if-none-match"} <= allowed_headers
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in response  # bearer tokens, never cookies


@pytest.mark.django_db
@pytest.mark.parametrize("origin", ["https://evil.example", "http://localhost.evil.example", "https://localhost:3000"])
def test_other_origins_get_no_cors_headers(client, origin):
    response = _preflight(client, "/courses", origin)

    assert "Access-Control-Allow-Origin" not in response


def test_an_answer_to_a_local_origin_exposes_the_request_id(admin_client):
    response = admin_client.get("/courses", HTTP_ORIGIN="http://localhost:8080")

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "http://localhost:8080"
    exposed = {h.strip().lower() for h in response["Access-Control-Expose-Headers"].split(",")}
    assert {"x-request-id", "x-total-count", "retry-after", "etag"} <= exposed


def test_an_error_answer_carries_cors_headers_too(client, db):
    response = client.get("/courses", HTTP_ORIGIN="http://localhost:8080")

    assert response.status_code == 401
    assert response["Access-Control-Allow-Origin"] == "http://localhost:8080"


def test_the_configured_origins_replace_the_local_default(client, db, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    settings.CORS_ALLOWED_ORIGIN_REGEXES = []

    assert _preflight(client, "/courses", "https://app.example.com")["Access-Control-Allow-Origin"] == (
        "https://app.example.com"
    )
    assert "Access-Control-Allow-Origin" not in _preflight(client, "/courses", "http://localhost:3000")


def test_the_admin_is_not_opened_to_other_origins(client, db):
    response = _preflight(client, "/admin/login/", "http://localhost:3000")

    assert "Access-Control-Allow-Origin" not in response


def _cors_settings(**env) -> dict:
    """CORS settings as a fresh process reads them from the environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LMS_", "DJANGO_", "DATABASE_URL"))}
    base.update({"DJANGO_SETTINGS_MODULE": "lms.settings", **env})
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.CORS_ALLOWED_ORIGINS, s.CORS_ALLOWED_ORIGIN_REGEXES]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=base, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    origins, regexes = json.loads(result.stdout.strip().splitlines()[-1])
    return {"origins": origins, "regexes": regexes}


def test_cors_settings_from_the_environment(tmp_path):
    production = {
        "LMS_ENV": "production",
        "SECRET_KEY": "x" * 50,
        "ALLOWED_HOSTS": "lms.example.com",
        "LMS_JWT_SECRET": "y" * 40,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
    }

    assert _cors_settings(LMS_ENV="development") == {
        "origins": [],
        "regexes": [r"^http://localhost(:\d+)?$", r"^http://127\.0\.0\.1(:\d+)?$"],
    }
    assert _cors_settings(**production) == {"origins": [], "regexes": []}
    assert _cors_settings(**production, LMS_CORS_ALLOWED_ORIGINS="https://a.example.com,https://b.example.com") == {
        "origins": ["https://a.example.com", "https://b.example.com"],
        "regexes": [],
    }
