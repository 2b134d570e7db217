"""The edge over real HTTP, against gunicorn started the production way (tests/live.py).

These bugs lived outside DRF (the CSRF middleware, gunicorn's settings), where Django's test
client does not reach: only a real server shows them.
"""

from __future__ import annotations

import uuid

import pytest

from lms.api.authentication import mint_token
from tests.live import live_gunicorn, live_tenant  # noqa: F401  (pytest fixtures)

pytestmark = [pytest.mark.live, pytest.mark.django_db]


def _assert_envelope(response, *, status: int, err: str) -> dict:
    assert response.status == status, response.body[:300]
    assert response.header("Content-Type").startswith("application/json"), response.header("Content-Type")
    body = response.json()
    assert body["params"]["err"] == err
    assert body["params"]["status"] == "failed"
    assert body["params"]["resmsgid"] == response.header("X-Request-Id")
    return body


@pytest.mark.parametrize(
    ("method", "path", "status", "err"),
    [
        ("POST", "/courses/", 404, "ERR_NOT_FOUND"),
        ("PUT", "/courses/123", 404, "ERR_NOT_FOUND"),
        ("DELETE", "/lessons/abc", 404, "ERR_NOT_FOUND"),
        ("POST", "/nope", 404, "ERR_NOT_FOUND"),
        ("POST", "/health", 405, "ERR_METHOD_NOT_ALLOWED"),
        ("DELETE", "/health", 405, "ERR_METHOD_NOT_ALLOWED"),
        ("POST", "/media/images/a.png", 405, "ERR_METHOD_NOT_ALLOWED"),
        ("PUT", "/v1/view/nope", 404, "ERR_NOT_FOUND"),
    ],
)
def test_writes_to_no_route_answer_json_over_http(live_gunicorn, method, path, status, err):  # noqa: F811
    # A browser-like write: form body and a stale session cookie, no CSRF token.
    response = live_gunicorn.request(
        method,
        path,
        body=b"a=1",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": "sessionid=stale; csrftoken=x"},
    )

    body = _assert_envelope(response, status=status, err=err)
    assert "CSRF" not in body["params"]["errmsg"]
    if status == 405:
        assert response.header("Allow") == "GET, HEAD"
        assert body["id"] in ("api.health", "api.media")


def test_health_answers_get_and_head_over_http(live_gunicorn):  # noqa: F811
    assert live_gunicorn.request("GET", "/health").json() == {"status": "ok"}
    head = live_gunicorn.request("HEAD", "/health")
    assert head.status == 200 and head.body == b""


def test_a_deeply_nested_body_is_a_400_over_http(live_gunicorn, live_tenant):  # noqa: F811
    tenant_id = live_tenant
    token = mint_token(user_id=uuid.uuid4(), tenant_id=tenant_id, roles=["admin"])
    raw = b'{"request": ' + b"[" * 1100 + b"]" * 1100 + b"}"

    response = live_gunicorn.request(
        "POST",
        "/v1/view/start",
        body=raw,
        headers={"Authorization": f"Bearer {token}", "tenantid": str(tenant_id), "Content-Type": "application/json"},
    )

    body = _assert_envelope(response, status=400, err="ERR_BAD_REQUEST")
    assert "nested deeper than 32 levels" in body["params"]["errmsg"]


def test_a_preflight_needs_no_token_over_http(live_gunicorn):  # noqa: F811
    response = live_gunicorn.request(
        "OPTIONS",
        "/courses",
        headers={
            "Origin": "http://localhost:5173",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,tenantid",
        },
    )

    assert response.status == 200
    assert response.header("Access-Control-Allow-Origin") == "http://localhost:5173"
    assert "tenantid" in response.header("Access-Control-Allow-Headers")


def test_the_docs_assets_are_served_over_http(live_gunicorn):  # noqa: F811
    page = live_gunicorn.request("GET", "/api/docs/")

    assert page.status == 200 and b"/static/drf_spectacular_sidecar/" in page.body
    bundle = live_gunicorn.request("GET", "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert bundle.status == 200 and len(bundle.body) > 100_000


def test_the_server_opens_no_shared_control_socket(live_gunicorn):  # noqa: F811
    # gunicorn >= 25.1 would create $HOME/.gunicorn/gunicorn.ctl, one path for every instance.
    assert live_gunicorn.request("GET", "/health").status == 200
    assert not (live_gunicorn.home / ".gunicorn").exists()


def test_the_server_reaches_the_test_database(live_gunicorn, live_tenant):  # noqa: F811
    tenant_id = live_tenant
    token = mint_token(user_id=uuid.uuid4(), tenant_id=tenant_id, roles=["admin"])
    headers = {"Authorization": f"Bearer {token}", "tenantid": str(tenant_id)}

    created = live_gunicorn.request("POST", "/courses", body={
            "title": "Live course",
            "shortDescription": "Short",
            "description": "Long",
            "startDatetime": "2026-01-01T00:00:00Z",
            "endDatetime": "2027-01-01T00:00:00Z",
        }, headers=headers)

    assert created.status == 201, created.body[:300]
    course_id = created.json()["result"]["courseId"]
    connection = live_gunicorn.connect()
    try:
        cursor = connection.cursor()
        placeholder = "?" if live_gunicorn.database_url.startswith("sqlite") else "%s"
        # SQLite keeps a UUID as 32 hex digits; PostgreSQL reads them as a uuid too.
        cursor.execute(f"SELECT title FROM courses_course WHERE id = {placeholder}", [course_id.replace("-", "")])
        row = cursor.fetchone()
    finally:
        connection.close()
    assert row == ("Live course",)


def test_forget_tenant_removes_the_tenants_rows(live_gunicorn):  # noqa: F811
    tenant_id = uuid.uuid4()
    token = mint_token(user_id=uuid.uuid4(), tenant_id=tenant_id, roles=["admin"])
    headers = {"Authorization": f"Bearer {token}", "tenantid": str(tenant_id)}
    assert live_gunicorn.request("GET", "/courses", headers=headers).status == 200  # provisions the tenant

    live_gunicorn.forget_tenant(tenant_id)

    connection = live_gunicorn.connect()
    try:
        cursor = connection.cursor()
        placeholder = "?" if live_gunicorn.database_url.startswith("sqlite") else "%s"
        cursor.execute(f"SELECT count(*) FROM lms_tenant WHERE id = {placeholder}", [tenant_id.hex])
        assert cursor.fetchone() == (0,)
    finally:
        connection.close()


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
@pytest.mark.parametrize("path", ["/no-such-route", "/courses/search"])
def test_every_method_on_a_known_and_an_unknown_path_answers_json_over_http(live_gunicorn, live_tenant, method, path):  # noqa: F811
    # The WSGI handler sends the request signals and builds the WSGI headers itself (lms/api/handler.py):
    # whatever the method and route, gunicorn gets a JSON answer in the envelope, never an HTML page.
    token = mint_token(user_id=uuid.uuid4(), tenant_id=live_tenant, roles=["learner"], ttl_seconds=600)
    response = live_gunicorn.request(
        method, path, body=b"{}" if method in ("POST", "PUT", "PATCH") else None,
        headers={"Authorization": f"Bearer {token}", "tenantid": str(live_tenant), "Content-Type": "application/json"},
    )
    assert response.status < 500, response.body[:300]
    assert response.header("Content-Type").startswith("application/json"), (method, path, response.header("Content-Type"))
    if method == "HEAD":
        assert response.body == b""
        return
    body = response.json()
    assert body["params"]["resmsgid"] == response.header("X-Request-Id")
    assert body["params"]["status"] == ("successful" if response.status < 400 else "failed")
