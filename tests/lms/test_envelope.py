"""Every response, success or error, on both families, takes the documented envelope (DECISIONS §1)."""

from __future__ import annotations

import logging

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, OperationalError
from django.test import override_settings
from rest_framework import exceptions

from lms.api.envelope import exception_handler
from tests.lms.conftest import assert_lms_envelope, assert_viewer_envelope

pytestmark = pytest.mark.urls("tests.lms.urls_probe")

LMS = "/probe"
VIEWER = "/v1/probe"


# --- success -------------------------------------------------------------------------------


def test_lms_success_wraps_the_bare_result(admin_client):
    response = admin_client.get(f"{LMS}/whoami")

    body = assert_lms_envelope(response, http_status=200, api_id="api.probe.whoami")
    assert body["result"] == {
        "userId": str(admin_client.user_id),
        "tenantId": str(admin_client.tenant_id),
        "roles": ["admin"],
    }


def test_lms_created_repeats_201(admin_client):
    response = admin_client.post(f"{LMS}/whoami", {"title": "Intro", "count": 3}, format="json")

    body = assert_lms_envelope(response, http_status=201, api_id="api.probe.whoami")
    assert body["result"] == {"title": "Intro", "count": 3}


def test_viewer_success_says_ok_and_success(admin_client):
    response = admin_client.get(f"{VIEWER}/whoami")

    body = assert_viewer_envelope(response, http_status=200, api_id="api.probe.viewer.whoami")
    assert body["params"]["msgid"] == body["params"]["resmsgid"]
    assert body["result"]["tenantId"] == str(admin_client.tenant_id)


def test_each_response_has_a_fresh_resmsgid(admin_client):
    first = admin_client.get(f"{LMS}/whoami").json()["params"]["resmsgid"]
    second = admin_client.get(f"{LMS}/whoami").json()["params"]["resmsgid"]

    assert first != second


def test_a_204_from_a_view_is_sent_as_200_with_a_null_result(admin_client):
    response = admin_client.delete(f"{LMS}/delete")

    body = assert_lms_envelope(response, http_status=200, api_id="api.probe.delete")
    assert body["result"] is None


# --- validation ------------------------------------------------------------------------------


def test_lms_validation_lists_field_errors(admin_client):
    response = admin_client.post(f"{LMS}/whoami", {"count": -1}, format="json")

    body = assert_lms_envelope(response, http_status=400, api_id="api.probe.whoami", err="ERR_VALIDATION")
    assert set(body["result"]["errors"]) == {"title", "count"}
    assert body["result"]["errors"]["title"] == ["This field is required."]
    assert body["params"]["errmsg"].startswith("title: This field is required.")
    assert "1 more field errors" in body["params"]["errmsg"]


def test_viewer_missing_field_is_mandatory_parameter_missing(admin_client):
    response = admin_client.post(f"{VIEWER}/whoami", {}, format="json")

    body = assert_viewer_envelope(response, http_status=400, err="MANDATORY_PARAMETER_MISSING")
    assert body["result"]["errors"] == {"title": ["This field is required."]}


def test_viewer_invalid_value_is_a_bad_request(admin_client):
    response = admin_client.post(f"{VIEWER}/whoami", {"title": "x" * 30}, format="json")

    body = assert_viewer_envelope(response, http_status=400, err="ERR_BAD_REQUEST")
    assert list(body["result"]["errors"]) == ["title"]


# --- malformed bodies ------------------------------------------------------------------------


@pytest.mark.parametrize("family", [LMS, VIEWER])
@pytest.mark.parametrize(
    "raw",
    [b'{"title": "unterminated', b"\xff\xfe\xfa not utf-8", b"NaN", b""],
    ids=["truncated", "invalid-utf8", "nan", "empty"],
)
def test_malformed_json_is_400(admin_client, family, raw):
    response = admin_client.generic("POST", f"{family}/whoami", raw, content_type="application/json")

    check = assert_lms_envelope if family == LMS else assert_viewer_envelope
    if raw == b"":
        # An empty body parses as no data at all: the serializer then names the missing field.
        check(response, http_status=400, err="ERR_VALIDATION" if family == LMS else "MANDATORY_PARAMETER_MISSING")
    else:
        body = check(response, http_status=400, err="ERR_BAD_REQUEST")
        assert body["params"]["errmsg"].startswith("The request body could not be parsed")


@pytest.mark.parametrize("family", [LMS, VIEWER])
def test_unsupported_media_type_is_415(admin_client, family):
    response = admin_client.generic("POST", f"{family}/whoami", b"<title/>", content_type="application/xml")

    check = assert_lms_envelope if family == LMS else assert_viewer_envelope
    body = check(response, http_status=415, err="ERR_UNSUPPORTED_MEDIA_TYPE")
    assert "application/json" in body["params"]["errmsg"]


# --- authentication and permission ---------------------------------------------------------------


@pytest.mark.parametrize("family", [LMS, VIEWER])
def test_missing_token_is_401(client, tenant, family):
    response = client.get(f"{family}/whoami", HTTP_TENANTID=str(tenant.id))

    check = assert_lms_envelope if family == LMS else assert_viewer_envelope
    body = check(response, http_status=401, err="ERR_UNAUTHORIZED")
    assert "Bearer" in body["params"]["errmsg"]
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("family", [LMS, VIEWER])
def test_invalid_token_is_401(client, tenant, family):
    response = client.get(f"{family}/whoami", HTTP_AUTHORIZATION="Bearer not.a.jwt", HTTP_TENANTID=str(tenant.id))

    check = assert_lms_envelope if family == LMS else assert_viewer_envelope
    check(response, http_status=401, err="ERR_UNAUTHORIZED")


@pytest.mark.parametrize("family", [LMS, VIEWER])
def test_learner_on_an_authors_only_endpoint_is_403(learner_client, family):
    response = learner_client.get(f"{family}/authors")

    check = assert_lms_envelope if family == LMS else assert_viewer_envelope
    body = check(response, http_status=403, err="ERR_FORBIDDEN")
    assert body["params"]["errmsg"] == "Only admins and instructors may do this."


@pytest.mark.parametrize("family", [LMS, VIEWER])
def test_instructor_passes_the_authors_only_endpoint(instructor_client, family):
    response = instructor_client.get(f"{family}/authors")

    assert response.status_code == 200
    assert response.json()["result"]["roles"] == ["instructor"]


# --- 404 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
@pytest.mark.parametrize(
    ("path", "check"),
    [("/no/such/endpoint", assert_lms_envelope), ("/v1/no/such/endpoint", assert_viewer_envelope)],
    ids=["lms", "viewer"],
)
def test_unknown_path_is_a_json_404(client, db, debug, path, check):
    with override_settings(DEBUG=debug):
        response = client.post(path, {"a": 1}, format="json")

    body = check(response, http_status=404, err="ERR_NOT_FOUND")
    assert path in body["params"]["errmsg"]
    assert b"<html" not in response.content.lower()


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
@pytest.mark.parametrize("family", [LMS, VIEWER])
def test_http404_in_a_drf_view_is_the_envelope(admin_client, debug, family):
    with override_settings(DEBUG=debug):
        response = admin_client.get(f"{family}/missing")

    check = assert_lms_envelope if family == LMS else assert_viewer_envelope
    body = check(response, http_status=404, err="ERR_NOT_FOUND")
    assert "secret-object-name" not in response.content.decode()
    assert body["params"]["errmsg"] == "The requested resource was not found in this tenant."


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
def test_missing_media_file_is_a_json_404(client, db, debug):
    # Plain Django views (media serving) raise Http404 too; never Django's HTML page.
    with override_settings(DEBUG=debug):
        response = client.get("/media/nope/missing.png")

    assert_lms_envelope(response, http_status=404, err="ERR_NOT_FOUND")


def test_another_tenants_object_is_404(admin_client, other_tenant):
    own = admin_client.get(f"{LMS}/tenants/{admin_client.tenant_id}")
    foreign = admin_client.get(f"{LMS}/tenants/{other_tenant.id}")

    assert_lms_envelope(own, http_status=200, api_id="api.probe.tenant.read")
    assert_lms_envelope(foreign, http_status=404, api_id="api.probe.tenant.read", err="ERR_NOT_FOUND")


def test_list_endpoint_result_is_an_array_scoped_to_the_tenant(admin_client, other_tenant):
    body = assert_lms_envelope(admin_client.get(f"{LMS}/tenants"), http_status=200, api_id="api.probe.tenant.list")

    assert [row["id"] for row in body["result"]] == [str(admin_client.tenant_id)]


def test_bad_pagination_is_400_with_field_errors(admin_client):
    response = admin_client.get(f"{LMS}/tenants", {"page": 0, "limit": 101})

    body = assert_lms_envelope(response, http_status=400, err="ERR_VALIDATION")
    assert set(body["result"]["errors"]) == {"page", "limit"}


# --- 405 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("family", [LMS, VIEWER])
def test_wrong_method_is_405_naming_the_allowed_ones(admin_client, family):
    response = admin_client.get(f"{family}/post-only")

    check = assert_lms_envelope if family == LMS else assert_viewer_envelope
    body = check(response, http_status=405, err="ERR_METHOD_NOT_ALLOWED")
    assert body["params"]["errmsg"] == "GET is not allowed on this endpoint; use POST."
    assert "POST" in response["Allow"]


# --- 413 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("family", "check"), [(LMS, assert_lms_envelope), (VIEWER, assert_viewer_envelope)])
def test_body_over_the_request_limit_is_413_before_parsing(admin_client, settings, family, check):
    settings.LMS_MAX_BODY_BYTES = 1000

    response = admin_client.post(f"{family}/whoami", {"title": "x" * 2000}, format="json")

    body = check(response, http_status=413, err="ERR_PAYLOAD_TOO_LARGE")
    assert "the limit is 1000 bytes" in body["params"]["errmsg"]


@pytest.mark.parametrize(("family", "check"), [(LMS, assert_lms_envelope), (VIEWER, assert_viewer_envelope)])
def test_multipart_field_over_the_upload_memory_limit_is_413(admin_client, settings, family, check):
    # Django raises RequestDataTooBig while DRF parses the form; it must not become a 400 or 500.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = admin_client.post(f"{family}/upload", {"note": "x" * 5000}, format="multipart")

    check(response, http_status=413, err="ERR_PAYLOAD_TOO_LARGE")


def test_json_body_over_the_upload_memory_limit_is_413(admin_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = admin_client.post(f"{LMS}/upload", {"note": "x" * 5000}, format="json")

    assert_lms_envelope(response, http_status=413, err="ERR_PAYLOAD_TOO_LARGE")


def test_multipart_under_the_limits_is_accepted(admin_client):
    response = admin_client.post(f"{LMS}/upload", {"note": "hello world"}, format="multipart")

    assert assert_lms_envelope(response, http_status=201)["result"] == {"note": "hello worl"}


def test_too_many_form_fields_is_400(admin_client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5

    response = admin_client.post(f"{LMS}/upload", {f"f{i}": "v" for i in range(10)}, format="multipart")

    assert_lms_envelope(response, http_status=400, err="ERR_BAD_REQUEST")


# --- 500 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("family", "check"), [(LMS, assert_lms_envelope), (VIEWER, assert_viewer_envelope)])
def test_unexpected_exception_is_500_without_details_and_is_logged(admin_client, caplog, family, check):
    with caplog.at_level(logging.ERROR, logger="lms.api"):
        response = admin_client.get(f"{family}/crash")

    body = check(response, http_status=500, err="ERR_INTERNAL")
    text = response.content.decode()
    assert "secret-internal-detail" not in text and "Traceback" not in text and "RuntimeError" not in text
    assert "resmsgid" in body["params"]["errmsg"]
    logged = [r for r in caplog.records if r.name == "lms.api" and r.levelno == logging.ERROR]
    assert len(logged) == 1
    assert logged[0].exc_info[0] is RuntimeError
    assert "CrashView" in logged[0].getMessage()


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
def test_unexpected_exception_stays_json_with_debug_on(admin_client, debug):
    with override_settings(DEBUG=debug):
        response = admin_client.get(f"{LMS}/crash")

    assert_lms_envelope(response, http_status=500, err="ERR_INTERNAL")


# --- the exception handler itself ---------------------------------------------------------------


class _BrokenView:
    """A view whose id lookup blows up: the handler must still answer."""

    @property
    def action(self):
        raise RuntimeError("broken view")


@pytest.mark.parametrize(
    ("exc", "status", "err"),
    [
        (exceptions.ValidationError({}), 400, "ERR_VALIDATION"),
        (exceptions.ValidationError("plain message"), 400, "ERR_VALIDATION"),
        (DjangoValidationError({}), 400, "ERR_VALIDATION"),
        (DjangoValidationError("model rule"), 400, "ERR_VALIDATION"),
        (exceptions.APIException(), 500, "ERR_INTERNAL"),
        (exceptions.Throttled(wait=3), 429, "ERR_RATE_LIMITED"),
        (KeyError("x"), 500, "ERR_INTERNAL"),
        (IntegrityError("duplicate key"), 409, "ERR_CONFLICT"),
        (OperationalError("server closed the connection"), 503, "ERR_UNAVAILABLE"),
    ],
)
def test_exception_handler_answers_odd_exceptions_without_context(exc, status, err):
    response = exception_handler(exc, {})

    assert response.status_code == status
    assert response.data["params"]["err"] == err
    assert response.data["params"]["errmsg"]


def test_exception_handler_survives_a_broken_view(caplog):
    response = exception_handler(exceptions.NotFound(), {"view": _BrokenView(), "request": None})

    assert response.status_code == 500
    assert response.data["params"]["err"] == "ERR_INTERNAL"
    assert any("failed to describe" in r.getMessage() for r in caplog.records)


def test_an_unavailable_database_tells_the_client_when_to_retry():
    response = exception_handler(OperationalError("server closed the connection"), {})

    assert (response.status_code, response["Retry-After"]) == (503, "5")


def test_an_unavailable_database_is_logged_once_as_a_warning_without_a_traceback(
    admin_client, monkeypatch, caplog
):
    from courses.api.views import CourseViewSet

    def outage(self, request):  # what psycopg raises when the server goes away mid-request
        raise OperationalError("terminating connection due to administrator command\nSSL SYSCALL error")

    monkeypatch.setattr(CourseViewSet, "list", outage)

    with caplog.at_level(logging.INFO):
        response = admin_client.get("/courses")

    assert (response.status_code, response["Retry-After"]) == (503, "5")
    assert response.json()["params"]["err"] == "ERR_UNAVAILABLE"
    about_it = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(about_it) == 1, [r.getMessage() for r in about_it]
    (record,) = about_it
    assert record.levelno == logging.WARNING and record.exc_info is None
    assert record.getMessage() == (
        "Database unavailable in CourseViewSet: OperationalError: terminating connection due to administrator command"
    )
