"""Every answer is JSON, whatever the method and path (DECISIONS §8), with CSRF enforced.

Django's test client skips CSRF checks by default, which hid the HTML "CSRF verification failed"
page that unrouted writes used to get; every client here enforces them. The same answers over
real HTTP are in test_edge_live.py.
"""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from tests.lms.conftest import assert_lms_envelope, assert_viewer_envelope

PASSWORD = "a-long-staff-password"

UNROUTED_WRITES = [
    ("POST", "/courses/"),
    ("PUT", "/courses/123"),
    ("DELETE", "/lessons/abc"),
    ("POST", "/nope"),
    ("PATCH", "/enrollments/not-a-uuid"),
    ("PUT", "/v1/view/nope"),
    ("PROPFIND", "/courses/"),
]


@pytest.fixture
def csrf_client() -> Client:
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def staff_session(db, tenant) -> Client:
    """A staff user, admin of `tenant`, logged in to the admin: the API authenticates it by session cookie."""
    from lms.models import TenantMembership

    user = get_user_model().objects.create_user("staff", "staff@example.invalid", PASSWORD, is_staff=True)
    TenantMembership.objects.create(tenant=tenant, user=user, role=TenantMembership.Role.ADMIN)
    client = Client(enforce_csrf_checks=True)
    assert client.login(username="staff", password=PASSWORD)
    return client


def _check(response, *, http_status: int, err: str, api_id: str | None = None) -> dict:
    check = assert_viewer_envelope if response.wsgi_request.path.startswith("/v1/") else assert_lms_envelope
    return check(response, http_status=http_status, err=err, api_id=api_id)


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), UNROUTED_WRITES)
def test_a_write_to_no_route_is_a_404_envelope_not_the_csrf_page(csrf_client, method, path):
    response = csrf_client.generic(method, path, b'{"title": "x"}', content_type="application/json")

    body = _check(response, http_status=404, err="ERR_NOT_FOUND")
    assert path in body["params"]["errmsg"]


@pytest.mark.parametrize(("method", "path"), UNROUTED_WRITES)
def test_a_write_to_no_route_with_a_session_cookie_is_a_404_envelope(staff_session, method, path):
    response = staff_session.generic(method, path, b"{}", content_type="application/json")

    _check(response, http_status=404, err="ERR_NOT_FOUND")


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_health_answers_other_methods_with_a_405_envelope_and_allow(csrf_client, method):
    response = csrf_client.generic(method, "/health")

    body = _check(response, http_status=405, err="ERR_METHOD_NOT_ALLOWED", api_id="api.health")
    assert response["Allow"] == "GET, HEAD"
    assert "use GET, HEAD" in body["params"]["errmsg"]


@pytest.mark.django_db
def test_health_answers_head(csrf_client):
    response = csrf_client.head("/health")

    assert response.status_code == 200
    assert response.content == b""


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_a_write_to_media_is_a_405_envelope(csrf_client, method):
    (settings.MEDIA_ROOT / "images").mkdir(parents=True)
    (settings.MEDIA_ROOT / "images" / "a.png").write_bytes(b"not really a png")

    response = csrf_client.generic(method, f"{settings.MEDIA_URL}images/a.png")

    _check(response, http_status=405, err="ERR_METHOD_NOT_ALLOWED", api_id="api.media")
    assert response["Allow"] == "GET, HEAD"
    assert (settings.MEDIA_ROOT / "images" / "a.png").exists()


@pytest.mark.django_db
def test_media_still_serves_its_files(csrf_client):
    (settings.MEDIA_ROOT / "a.txt").parent.mkdir(parents=True, exist_ok=True)
    (settings.MEDIA_ROOT / "a.txt").write_bytes(b"hello")

    response = csrf_client.get(f"{settings.MEDIA_URL}a.txt")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"hello"


def test_a_session_write_to_the_api_without_its_csrf_token_is_a_403_envelope(staff_session, tenant):
    response = staff_session.post(
        "/courses", {"title": "T"}, content_type="application/json", HTTP_TENANTID=str(tenant.id)
    )

    body = _check(response, http_status=403, err="ERR_FORBIDDEN")
    assert "CSRF" in body["params"]["errmsg"]


def test_a_session_write_with_its_csrf_token_passes_the_check(staff_session, tenant):
    staff_session.get("/admin/")  # its logout form sets the csrftoken cookie
    token = staff_session.cookies["csrftoken"].value

    response = staff_session.post(
        "/modules", {}, content_type="application/json", HTTP_TENANTID=str(tenant.id), HTTP_X_CSRFTOKEN=token
    )

    # Past the CSRF check and the permissions: the body itself is what is refused.
    _check(response, http_status=400, err="ERR_VALIDATION")


@pytest.mark.django_db
def test_a_bearer_token_call_is_not_csrf_checked(csrf_client, tenant):
    from lms.api.authentication import mint_token

    token = mint_token(user_id=uuid.uuid4(), tenant_id=tenant.id, roles=["admin"])

    response = csrf_client.post(
        "/modules", {}, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_TENANTID=str(tenant.id),
    )

    _check(response, http_status=400, err="ERR_VALIDATION")


@pytest.mark.urls("tests.lms.urls_edge_probe")
@pytest.mark.django_db
def test_a_csrf_failure_on_an_api_path_is_a_403_envelope(csrf_client):
    assert settings.CSRF_FAILURE_VIEW == "lms.urls.csrf_failure"

    response = csrf_client.post("/probe/plain-write")

    body = _check(response, http_status=403, err="ERR_FORBIDDEN")
    assert "CSRF verification failed" in body["params"]["errmsg"]
    assert "X-CSRFToken" in body["params"]["errmsg"]


@pytest.mark.django_db
def test_the_admin_keeps_its_csrf_protection(csrf_client):
    get_user_model().objects.create_superuser("root", "root@example.invalid", PASSWORD)

    refused = csrf_client.post("/admin/login/", {"username": "root", "password": PASSWORD})

    assert refused.status_code == 403
    assert refused["Content-Type"].startswith("text/html")  # the admin is an HTML app
    assert "_auth_user_id" not in csrf_client.session
    csrf_client.get("/admin/login/")
    token = csrf_client.cookies["csrftoken"].value
    accepted = csrf_client.post(
        "/admin/login/", {"username": "root", "password": PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert accepted.status_code == 302
    assert "_auth_user_id" in csrf_client.session


@pytest.mark.parametrize(
    ("path", "api_id"),
    [
        ("/courses", "api.course.list"),
        ("/courses/{id}", "api.course.get"),
        ("/enrollments", "api.enrollment.list"),
        ("/lessons/tracking/{id}", "api.lesson.tracking.update"),
    ],
)
def test_a_405_names_the_route_not_api_unknown(admin_client, path, api_id):
    response = admin_client.patch(path.format(id=uuid.uuid4()), {}, format="json")

    body = _check(response, http_status=405, err="ERR_METHOD_NOT_ALLOWED", api_id=api_id)
    assert "PATCH is not allowed" in body["params"]["errmsg"]


def test_a_405_on_a_viewer_route_names_the_route(admin_client):
    response = admin_client.get("/v1/view/start")

    _check(response, http_status=405, err="ERR_METHOD_NOT_ALLOWED", api_id="api.view.start")
