"""Bearer API requests skip the browser-only middleware section (issue 15); nothing else does.

Sessions, CSRF, django.contrib.auth and messages serve the admin and staff browser sessions. A
request with `Authorization: Bearer` outside /admin/ is judged by its token alone, so it goes
straight past them; a session request is still CSRF-checked and the admin works as before.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.exceptions import ImproperlyConfigured
from django.middleware.csrf import CsrfViewMiddleware, _get_new_csrf_string
from django.test import Client, override_settings
from django.test.client import ClientHandler

from tests.lms.conftest import assert_lms_envelope, bearer_client, claims_for, hs256

pytestmark = pytest.mark.urls("tests.lms.urls_probe")

WHOAMI = "/probe/whoami"
SECTION = (SessionMiddleware, CsrfViewMiddleware, AuthenticationMiddleware, MessageMiddleware)


@pytest.fixture
def section_calls(monkeypatch) -> list[str]:
    """The names of the section's middlewares, each time one runs its request hook."""
    calls: list[str] = []
    for middleware in SECTION:
        real = middleware.process_request

        def spy(self, request, real=real, name=middleware.__name__):
            calls.append(name)
            return real(self, request)

        monkeypatch.setattr(middleware, "process_request", spy)
    return calls


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user("ops", password="pw-not-used-1", is_staff=True, is_superuser=True)


def test_a_bearer_request_skips_the_section_and_keeps_the_other_headers(tenant, section_calls):
    token = hs256(claims_for(tenant_id=tenant.id))

    response = bearer_client(token, tenant.id).get(WHOAMI)

    assert_lms_envelope(response, http_status=200)
    assert section_calls == []
    assert not response.cookies
    assert "Cookie" not in response.get("Vary", "")
    # Security, clickjacking, CORS and request-id headers are set outside the section.
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Request-Id"]


def test_a_refused_bearer_request_skips_the_section_too(tenant, section_calls):
    response = bearer_client("not.a.jwt", tenant.id).get(WHOAMI)

    assert_lms_envelope(response, http_status=401, err="ERR_UNAUTHORIZED")
    assert section_calls == []


def test_a_bearer_request_beside_a_session_cookie_does_not_touch_the_session(client, tenant, staff, section_calls):
    client.force_login(staff)
    token = hs256(claims_for(tenant_id=tenant.id))

    response = client.get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_TENANTID=str(tenant.id))

    assert_lms_envelope(response, http_status=200)
    assert section_calls == []
    assert not response.cookies


@pytest.mark.parametrize("authorization", [None, "Basic dXNlcjpwdw=="], ids=["no-header", "basic"])
def test_a_request_without_a_bearer_token_goes_through_the_section(client, tenant, section_calls, authorization):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    response = client.get(WHOAMI, HTTP_TENANTID=str(tenant.id), **headers)

    assert_lms_envelope(response, http_status=401, err="ERR_UNAUTHORIZED")
    assert sorted(section_calls) == sorted(middleware.__name__ for middleware in SECTION)


def test_a_staff_session_write_without_the_csrf_token_is_refused(tenant, staff, section_calls):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)

    response = client.post(WHOAMI, {"title": "t"}, content_type="application/json", HTTP_TENANTID=str(tenant.id))

    body = assert_lms_envelope(response, http_status=403, err="ERR_FORBIDDEN")
    assert "CSRF" in body["params"]["errmsg"]
    assert "CsrfViewMiddleware" in section_calls


def test_a_staff_session_write_with_the_csrf_token_is_accepted(tenant, staff):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    csrf_token = _get_new_csrf_string()
    client.cookies["csrftoken"] = csrf_token

    response = client.post(
        WHOAMI,
        {"title": "t"},
        content_type="application/json",
        HTTP_TENANTID=str(tenant.id),
        HTTP_X_CSRFTOKEN=csrf_token,
    )

    assert assert_lms_envelope(response, http_status=201)["result"] == {"title": "t", "count": 0}


def test_the_admin_keeps_its_session_and_csrf_even_with_a_bearer_header(client, staff, section_calls):
    token = hs256(claims_for())

    login_page = client.get("/admin/login/", HTTP_AUTHORIZATION=f"Bearer {token}")
    client.force_login(staff)
    index = client.get("/admin/", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert login_page.status_code == 200
    assert "csrftoken" in login_page.cookies
    assert index.status_code == 200
    assert section_calls.count("SessionMiddleware") == 2


def test_an_admin_post_with_a_bearer_header_still_needs_the_csrf_token(staff):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)

    response = client.post("/admin/logout/", HTTP_AUTHORIZATION=f"Bearer {hs256(claims_for())}")

    assert response.status_code == 403
    assert b"CSRF" in response.content


def test_a_section_without_its_end_marker_stops_start_up():
    middleware = ["lms.api.middleware.BrowserOnlySectionStart", "django.contrib.sessions.middleware.SessionMiddleware"]

    with override_settings(MIDDLEWARE=middleware), pytest.raises(ImproperlyConfigured, match="BrowserOnlySectionEnd"):
        ClientHandler().load_middleware()
