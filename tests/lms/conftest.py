"""Helpers for the foundation tests: envelope assertions and hand-made tokens."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
import uuid

import jwt
import pytest
from django.conf import settings
from rest_framework.test import APIClient

from lms.api.authentication import verification_keys, verified_tokens


def assert_iso_utc(value: str) -> None:
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.utcoffset() == dt.timedelta(0), value


def assert_lms_envelope(response, *, http_status: int, api_id: str | None = None, err: str | None = None) -> dict:
    """The LMS envelope (DECISIONS §1) with the given outcome; returns the parsed body."""
    assert response.status_code == http_status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"id", "ver", "ts", "params", "responseCode", "result"}
    assert body["ver"] == "1.0"
    assert body["responseCode"] == http_status and isinstance(body["responseCode"], int)
    assert_iso_utc(body["ts"])
    params = body["params"]
    assert set(params) == {"resmsgid", "status", "err", "errmsg"}
    assert uuid.UUID(params["resmsgid"])
    assert response["X-Request-Id"] == params["resmsgid"]
    if http_status < 400:
        assert params["status"] == "successful" and params["err"] is None and params["errmsg"] is None
    else:
        assert params["status"] == "failed"
        assert params["err"] == err, params
        assert params["errmsg"] and "Traceback" not in params["errmsg"]
    if api_id is not None:
        assert body["id"] == api_id
    return body


_VIEWER_CODES = {400: "CLIENT_ERROR", 401: "UNAUTHORIZED", 403: "UNAUTHORIZED", 404: "RESOURCE_NOT_FOUND"}


def assert_viewer_envelope(response, *, http_status: int, api_id: str | None = None, err: str | None = None) -> dict:
    """The viewer envelope (DECISIONS §1): string responseCode, `success`/`failed`, msgid."""
    assert response.status_code == http_status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"id", "ver", "ts", "params", "responseCode", "result"}
    assert body["ver"] == "v1"
    assert_iso_utc(body["ts"])
    params = body["params"]
    assert set(params) == {"resmsgid", "msgid", "status", "err", "errmsg"}
    assert uuid.UUID(params["resmsgid"])
    assert response["X-Request-Id"] == params["resmsgid"]
    if http_status < 400:
        assert body["responseCode"] == "OK"
        assert params["status"] == "success" and params["err"] is None
    else:
        expected = _VIEWER_CODES.get(http_status, "SERVER_ERROR" if http_status >= 500 else "CLIENT_ERROR")
        assert body["responseCode"] == expected
        assert params["status"] == "failed"
        assert params["err"] == err, params
        assert params["errmsg"] and "Traceback" not in params["errmsg"]
        assert isinstance(body["result"], dict)
    if api_id is not None:
        assert body["id"] == api_id
    return body


def b64url(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def claims_for(*, user_id=None, tenant_id=None, roles=("admin",), ttl: int = 600, **extra) -> dict:
    now = int(time.time())
    claims = {"sub": str(user_id or uuid.uuid4()), "iat": now, "exp": now + ttl, **extra}
    if roles is not None:
        claims["roles"] = list(roles)
    if tenant_id is not None:
        claims["tenant_id"] = str(tenant_id)
    return claims


def hs256(claims: dict, secret: str | None = None, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, secret or settings.LMS_JWT_SECRET, algorithm=algorithm)


def bearer_client(token: str | None, tenant_id=None) -> APIClient:
    client = APIClient()
    headers = {}
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    if tenant_id is not None:
        headers["HTTP_TENANTID"] = str(tenant_id)
    client.credentials(**headers)
    return client


@pytest.fixture(autouse=True)
def _fresh_verification_keys():
    # Keys and verified tokens are cached per process; a test that changes them must not leak into the next.
    verification_keys.cache_clear()
    verified_tokens.clear()
    yield
    verification_keys.cache_clear()
    verified_tokens.clear()
