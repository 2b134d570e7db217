"""The headers of an API answer, pinned, through the test client and through the server's own
WSGI handler (lms.wsgi): the per-request fast paths of issue 15 (the bearer skip of the browser
section, CORS without `request.headers`, the route-shape memo) must not drop or change one.
"""

from __future__ import annotations

import io
import sys
import uuid

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import override_settings
from django.urls import get_resolver

from lms.api.handler import LmsWSGIHandler, RouteShapeMemo
from tests.lms.conftest import assert_lms_envelope, bearer_client, claims_for, hs256

pytestmark = pytest.mark.urls("tests.lms.urls_probe")

WHOAMI = "/probe/whoami"
LOCAL_ORIGIN = "http://localhost:3000"

# Every header of a bearer GET answered 200 by a DRF view, with its value (X-Request-Id: a fresh UUID).
API_HEADERS = {
    "Content-Type": "application/json; charset=utf-8",
    "Allow": "GET, POST, HEAD, OPTIONS",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Vary": "origin",
}
# What a browser on an allowed origin gets on top (DECISIONS §8): its origin back, the exposed headers
# (django-cors-headers names them in lower case).
CORS_HEADERS = {
    "access-control-allow-origin": LOCAL_ORIGIN,
    "access-control-expose-headers": "X-Request-Id, X-Total-Count, Retry-After, ETag",
}


def _environ(path: str, *, token: str, tenant_id, **extra) -> dict:
    """What gunicorn hands the application for a GET (bench.floor.measure builds the same)."""
    return {
        "REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": path, "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1", "SERVER_NAME": "testserver", "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "testserver",
        "HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_TENANTID": str(tenant_id),
        "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
        **extra,
    }


@pytest.fixture
def keep_the_test_connection():
    """As Django's test client does: the handler's close_old_connections would close the connection that
    holds the test's transaction (PostgreSQL then answers 503 to the next query)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _serve(handler, environ) -> tuple[str, dict[str, str], bytes]:
    answered = {}

    def start_response(status, headers, exc_info=None):
        answered.update(status=status, headers=headers)

    result = handler(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        result.close()
    names = [name for name, _ in answered["headers"]]
    assert len(names) == len(set(names)), f"a header is sent twice: {names}"
    return answered["status"], dict(answered["headers"]), body


def _without_request_id(headers) -> dict[str, str]:
    headers = dict(headers)
    uuid.UUID(headers.pop("X-Request-Id"))
    return headers


@pytest.fixture
def token(tenant) -> str:
    return hs256(claims_for(tenant_id=tenant.id, roles=["learner"]))


def test_a_bearer_api_answer_carries_exactly_these_headers(tenant, token):
    response = bearer_client(token, tenant.id).get(WHOAMI)

    assert_lms_envelope(response, http_status=200)
    assert _without_request_id(response.headers) == {**API_HEADERS, "Content-Length": str(len(response.content))}
    assert response.json()["params"]["resmsgid"] == response["X-Request-Id"]


def test_an_allowed_origin_gets_the_cors_headers_as_well(tenant, token):
    response = bearer_client(token, tenant.id).get(WHOAMI, HTTP_ORIGIN=LOCAL_ORIGIN)

    assert response.status_code == 200
    assert _without_request_id(response.headers) == {
        **API_HEADERS, **CORS_HEADERS, "Content-Length": str(len(response.content)),
    }


@pytest.mark.parametrize("origin", ["https://evil.example", ""])
def test_another_origin_gets_only_the_vary(tenant, token, origin):
    response = bearer_client(token, tenant.id).get(WHOAMI, HTTP_ORIGIN=origin)

    assert response.status_code == 200
    assert _without_request_id(response.headers) == {**API_HEADERS, "Content-Length": str(len(response.content))}


def test_an_error_answer_keeps_the_security_cors_and_request_id_headers(tenant):
    response = bearer_client("not.a.jwt", tenant.id).get(WHOAMI, HTTP_ORIGIN=LOCAL_ORIGIN)

    assert_lms_envelope(response, http_status=401, err="ERR_UNAUTHORIZED")
    headers = _without_request_id(response.headers)
    assert headers["WWW-Authenticate"] == 'Bearer realm="lms"'
    for name, value in {**API_HEADERS, **CORS_HEADERS}.items():
        if name != "Content-Type":
            assert headers[name] == value, name


@override_settings(SECURE_HSTS_SECONDS=31536000, SECURE_HSTS_INCLUDE_SUBDOMAINS=True, SECURE_HSTS_PRELOAD=True)
def test_a_secure_answer_carries_hsts(tenant, token):
    response = bearer_client(token, tenant.id).get(WHOAMI, secure=True)

    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


def test_the_servers_handler_answers_with_the_same_headers_and_body(tenant, token, keep_the_test_connection):
    handler = LmsWSGIHandler()

    for origin in ({}, {"HTTP_ORIGIN": LOCAL_ORIGIN}):
        status, headers, body = _serve(handler, _environ(WHOAMI, token=token, tenant_id=tenant.id, **origin))
        expected = {**API_HEADERS, **(CORS_HEADERS if origin else {}), "Content-Length": str(len(body))}
        assert status == "200 OK"
        assert _without_request_id(headers) == expected
        assert b'"status":"successful"' in body


def test_the_servers_handler_answers_unknown_paths_and_path_arguments_as_django_does(
    tenant, token, keep_the_test_connection
):
    handler = LmsWSGIHandler()

    status, headers, body = _serve(handler, _environ("/probe/nowhere", token=token, tenant_id=tenant.id))
    assert status == "404 Not Found"
    assert b'"ERR_NOT_FOUND"' in body
    status, _, body = _serve(handler, _environ(f"/probe/tenants/{tenant.id}", token=token, tenant_id=tenant.id))
    assert status == "200 OK"
    assert str(tenant.id).encode() in body
    # The 404 is not remembered; the UUID path is, by its shape (tests below), never by its own text.
    assert set(handler.routes._matches) <= {WHOAMI}
    assert set(handler.routes._uuid_routes) == {"/probe/tenants/<uuid>"}


def test_the_literal_route_memo_gives_what_django_resolves():
    resolver = get_resolver()
    memo = RouteShapeMemo()

    for _ in range(2):  # the second time from the memo
        for path in ("/probe/whoami", "/health", "/probe/tenants"):
            remembered, resolved = memo.resolve(resolver, path), resolver.resolve(path)
            assert (remembered.func, remembered.args, remembered.kwargs, remembered.url_name, remembered.route,
                    remembered.view_name, remembered.namespaces) == (
                resolved.func, resolved.args, resolved.kwargs, resolved.url_name, resolved.route,
                resolved.view_name, resolved.namespaces)
    assert set(memo._matches) == {"/probe/whoami", "/health", "/probe/tenants"}


def test_the_literal_route_memo_holds_no_path_with_arguments_or_a_catch_all():
    resolver = get_resolver()
    memo = RouteShapeMemo()

    tenant_id = uuid.uuid4()
    assert memo.resolve(resolver, f"/probe/tenants/{tenant_id}").kwargs == {"pk": tenant_id}
    assert memo.resolve(resolver, "/no/such/route").func is resolver.resolve("/no/such/route").func
    assert memo._matches == {}


def test_each_request_gets_its_own_kwargs():
    resolver = get_resolver()
    memo = RouteShapeMemo()
    memo.resolve(resolver, WHOAMI)

    first = memo.resolve(resolver, WHOAMI)
    first.kwargs["changed_by_a_view"] = True

    assert memo.resolve(resolver, WHOAMI).kwargs == {}


def test_the_memo_follows_a_changed_urlconf():
    memo = RouteShapeMemo()
    assert memo.resolve(get_resolver(), WHOAMI).route == "probe/whoami"

    with override_settings(ROOT_URLCONF="lms.urls"):
        # lms.urls has no probe: the JSON 404 catch-all answers it, and the memo forgot the probe's match.
        assert memo.resolve(get_resolver(), WHOAMI).route == r"^(?!admin/|static/).*$"
        assert memo._matches == {}


def _same_match(remembered, resolved) -> bool:
    fields = ("func", "args", "kwargs", "captured_kwargs", "url_name", "route", "view_name", "namespaces")
    return all(getattr(remembered, name) == getattr(resolved, name) for name in fields)


def test_a_uuid_route_is_remembered_once_by_its_shape_and_converts_each_paths_own_ids():
    resolver = get_resolver()
    memo = RouteShapeMemo()

    tenant_ids = [uuid.uuid4() for _ in range(50)]
    for tenant_id in tenant_ids:  # all but the first from the memo
        path = f"/probe/tenants/{tenant_id}"
        remembered = memo.resolve(resolver, path)
        assert _same_match(remembered, resolver.resolve(path))
        assert remembered.kwargs == {"pk": tenant_id}
    # Bounded by the URLconf: one entry for the route, whatever the ids clients send.
    assert list(memo._uuid_routes) == ["/probe/tenants/<uuid>"]
    assert memo._matches == {}


def test_each_request_of_a_uuid_route_gets_its_own_kwargs():
    resolver = get_resolver()
    memo = RouteShapeMemo()
    tenant_id = uuid.uuid4()
    memo.resolve(resolver, f"/probe/tenants/{tenant_id}")

    memo.resolve(resolver, f"/probe/tenants/{tenant_id}").kwargs["changed_by_a_view"] = True

    assert memo.resolve(resolver, f"/probe/tenants/{tenant_id}").kwargs == {"pk": tenant_id}


@pytest.mark.parametrize(
    "path",
    [
        f"/probe/tenants/{uuid.uuid4()}/nowhere",  # the catch-all: a regular expression
        f"/probe/tenants/{str(uuid.uuid4()).upper()}",  # not what `<uuid:…>` takes: the catch-all too
        f"/probe/tenants/{uuid.uuid4()}/",
    ],
)
def test_a_path_that_resolves_to_the_404_catch_all_is_not_remembered(path):
    resolver = get_resolver()
    memo = RouteShapeMemo()

    for _ in range(2):
        assert memo.resolve(resolver, path).route == r"^(?!admin/|static/).*$"
    assert memo._uuid_routes == {} and memo._matches == {}


def test_a_client_sending_the_placeholder_gets_what_django_resolves():
    resolver = get_resolver()
    memo = RouteShapeMemo()
    memo.resolve(resolver, f"/probe/tenants/{uuid.uuid4()}")

    for path in ("/probe/tenants/<uuid>", "/probe/tenants/%3Cuuid%3E"):
        assert _same_match(memo.resolve(resolver, path), resolver.resolve(path))


def _resolver(*patterns):
    from django.urls.resolvers import RegexPattern, URLResolver

    return URLResolver(RegexPattern(r"^/"), list(patterns))


def _view(request, **kwargs):
    return None


def _other_view(request, **kwargs):
    return None


def test_a_route_behind_a_pattern_that_tells_uuids_apart_is_not_remembered():
    from django.urls import path, re_path

    # Paths of one shape resolve to two views here: the memo must not answer the second from the first.
    resolver = _resolver(re_path(r"^things/0[0-9a-f-]{35}$", _other_view), path("things/<uuid:pk>", _view))
    memo = RouteShapeMemo()
    zero, other = uuid.UUID("0" + uuid.uuid4().hex[1:]), uuid.UUID("f" + uuid.uuid4().hex[1:])

    assert memo.resolve(resolver, f"/things/{other}").func is _view
    assert memo.resolve(resolver, f"/things/{zero}").func is _other_view
    assert memo._uuid_routes == {}


@pytest.mark.parametrize(
    "patterns",
    [
        # An int prefix matches the leading digits of some UUIDs only.
        lambda path, include: [path("<int:n>", include([path("/x", _other_view)])), path("<uuid:pk>/x", _view)],
        # A literal of hex digits may be the start of a UUID.
        lambda path, include: [path("abc", include([path("<str:rest>/x", _other_view)])), path("<uuid:pk>/x", _view)],
    ],
)
def test_a_route_behind_a_pattern_that_may_match_part_of_a_uuid_is_not_remembered(patterns):
    from django.urls import include, path

    resolver = _resolver(*patterns(path, include))
    memo = RouteShapeMemo()

    assert memo.resolve(resolver, f"/{uuid.uuid4()}/x").func in (_view, _other_view)
    assert memo._uuid_routes == {}


def test_a_str_argument_is_client_text_and_is_not_remembered():
    from django.urls import path

    resolver = _resolver(path("things/<str:name>", _view), path("things/<str:name>/<uuid:pk>", _view))
    memo = RouteShapeMemo()

    assert memo.resolve(resolver, "/things/anything").kwargs == {"name": "anything"}
    assert memo.resolve(resolver, f"/things/{uuid.uuid4()}").func is _view  # a UUID a str takes: kept as text
    assert memo.resolve(resolver, f"/things/a/{uuid.uuid4()}").func is _view
    assert memo._uuid_routes == {} and memo._matches == {}


def test_routes_after_uniform_patterns_of_another_kind_are_remembered():
    from django.urls import include, path

    resolver = _resolver(
        path("things/<slug:name>/x", _other_view),
        path("things/", include([path("<uuid:pk>/<uuid:part>", _view)])),
    )
    memo = RouteShapeMemo()

    for _ in range(3):
        pk, part = uuid.uuid4(), uuid.uuid4()
        match = memo.resolve(resolver, f"/things/{pk}/{part}")
        assert (match.func, match.kwargs, match.route) == (_view, {"pk": pk, "part": part}, "things/<uuid:pk>/<uuid:part>")
    assert list(memo._uuid_routes) == ["/things/<uuid>/<uuid>"]


def test_the_uuid_route_memo_follows_a_changed_urlconf():
    memo = RouteShapeMemo()
    tenant_id = uuid.uuid4()
    assert memo.resolve(get_resolver(), f"/probe/tenants/{tenant_id}").route == "probe/tenants/<uuid:pk>"

    with override_settings(ROOT_URLCONF="lms.urls"):
        assert memo.resolve(get_resolver(), f"/probe/tenants/{tenant_id}").route == r"^(?!admin/|static/).*$"
        assert memo._uuid_routes == {}


def test_a_route_whose_shape_cannot_be_kept_is_checked_once(monkeypatch):
    from django.urls import path, re_path

    from lms.api import handler

    resolver = _resolver(re_path(r"^things/0", _other_view), path("things/<uuid:pk>", _view))
    memo = RouteShapeMemo()
    checks = []
    monkeypatch.setattr(handler, "_uuid_route", lambda *args: checks.append(args) or None)

    for _ in range(3):
        pk = uuid.UUID("f" + uuid.uuid4().hex[1:])
        assert memo.resolve(resolver, f"/things/{pk}").kwargs == {"pk": pk}
    assert len(checks) == 1
    assert memo._routes_not_kept == {"things/<uuid:pk>"} and memo._uuid_routes == {}
