"""The schema says what the server does (issue 10): every error status a client can meet is
documented, and the bounds and body types the server enforces are in the schema too."""

from __future__ import annotations

import uuid

import pytest

from enrollment.services import enrollment_create
from tests.factories import build_course
from tests.lms.conftest import assert_lms_envelope, assert_viewer_envelope

METHODS = ("get", "post", "put", "patch", "delete")
VIEWER_POSTS = ("/v1/view/start", "/v1/view/update", "/v1/view/end", "/v1/view/read", "/v1/assessment/submit",
                "/v1/viewer/summary/read", "/v1/program/enrol")


@pytest.fixture
def schema(client, db) -> dict:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def operations(schema):
    for path, item in schema["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def test_every_operation_documents_every_error_status_in_its_envelope(schema):
    for path, method, operation in operations(schema):
        family = "ViewerErrorResponse" if path.startswith("/v1/") else "LmsErrorResponse"
        for status in ("400", "401", "403", "404", "405", "413", "415", "429", "500", "503"):
            response = operation["responses"].get(status)
            assert response, f"{method.upper()} {path} does not document {status}"
            body = response["content"]["application/json"]["schema"]
            assert body == {"$ref": f"#/components/schemas/{family}"}, (method, path, status)
        for status in ("429", "503"):
            assert operation["responses"][status]["headers"]["Retry-After"]["required"] is True, (method, path)
        if method != "get":
            assert "409" in operation["responses"], f"{method.upper()} {path} does not document 409"


def test_placing_a_lesson_documents_its_conflict(schema):
    assert "already placed" in schema["paths"]["/courses/lessons"]["post"]["responses"]["409"]["description"]


def test_page_and_limit_have_their_bounds_in_the_schema(schema):
    seen = 0
    for path, _method, operation in operations(schema):
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query" and parameter["name"] in ("page", "limit"):
                seen += 1
                assert parameter["schema"]["minimum"] == 1, (path, parameter)
                assert parameter["schema"]["maximum"] == (100 if parameter["name"] == "limit" else 1_000_000)
    assert seen >= 14


@pytest.mark.parametrize("query", ["page=0", "page=1000001", "limit=0", "limit=101", "page=-1", "limit=x"])
@pytest.mark.parametrize("path", ["/courses", "/enrollments", "/lessons", "/lessons/tracking", "/courses/tracking"])
def test_out_of_range_pages_are_400(admin_client, path, query):
    body = assert_lms_envelope(admin_client.get(f"{path}?{query}"), http_status=400, err="ERR_VALIDATION")
    assert query.split("=")[0] in body["params"]["errmsg"]


def test_bodies_that_are_never_files_advertise_json_only(schema):
    for path in VIEWER_POSTS:
        assert list(schema["paths"][path]["post"]["requestBody"]["content"]) == ["application/json"], path
    for path, method in JSON_ONLY_WRITES:
        assert list(schema["paths"][path][method]["requestBody"]["content"]) == ["application/json"], path


# A form cannot say null (an empty value read as "absent" or null): no-file writes take JSON only.
JSON_ONLY_WRITES = (("/enrollments", "post"), ("/enrollments/{id}", "put"), ("/lessons/tracking", "post"),
                    ("/lessons/tracking/{id}", "put"), ("/courses/tracking/{id}", "put"))


@pytest.mark.parametrize("path,method", JSON_ONLY_WRITES)
def test_no_file_writes_refuse_form_bodies_with_415(admin_client, tenant, path, method):
    enrollment = enrollment_create(
        tenant_id=tenant.id, course=build_course(tenant=tenant), user_id=uuid.uuid4(), enrolled_by=None
    )
    url = path.replace("{id}", str(enrollment.pk))  # the other PUTs parse the body before the lookup
    response = getattr(admin_client, method)(url, data="active=", content_type="application/x-www-form-urlencoded")
    body = assert_lms_envelope(response, http_status=415, err="ERR_UNSUPPORTED_MEDIA_TYPE")
    assert body["params"]["errmsg"].endswith("Send application/json.")


@pytest.mark.parametrize("path", VIEWER_POSTS)
def test_viewer_posts_refuse_form_bodies_with_415(admin_client, path):
    response = admin_client.post(path, data="request=x", content_type="application/x-www-form-urlencoded")
    body = assert_viewer_envelope(response, http_status=415, err="ERR_UNSUPPORTED_MEDIA_TYPE")
    assert body["params"]["errmsg"].endswith("Send application/json.")


def test_lists_that_must_not_be_empty_say_so(schema):
    components = schema["components"]["schemas"]
    assert components["ViewReadRequest"]["properties"]["contentId"]["minItems"] == 1
    assert components["AssessmentSubmitRequest"]["properties"]["assessments"]["minItems"] == 1


def test_lessons_of_a_course_or_module_document_no_filters_they_ignore(schema):
    for path in ("/lessons/course/{course_id}", "/lessons/module/{module_id}"):
        names = {p["name"] for p in schema["paths"][path]["get"]["parameters"] if p["in"] == "query"}
        assert names == {"page", "limit"}, path


def test_empty_query_strings_are_documented_as_refused(schema):
    for path, _method, operation in operations(schema):
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query" and parameter["schema"].get("type") == "string":
                assert parameter["schema"].get("minLength") == 1 or "enum" in parameter["schema"], (path, parameter)


@pytest.mark.parametrize("path", ["/enrollments?user_id=", "/lessons/tracking?user_id=", "/courses/tracking?user_id=",
                                  "/lessons?moduleId=", "/courses?q="])
def test_an_empty_query_parameter_is_400_not_ignored(admin_client, path):
    body = assert_lms_envelope(admin_client.get(path), http_status=400, err="ERR_VALIDATION")
    name = path.split("?")[1].rstrip("=")
    assert body["params"]["errmsg"] == f"{name}: `{name}` is empty; give it a value or leave it out."
    assert name in body["result"]["errors"]


def test_an_empty_download_format_is_400_not_csv(learner_client):
    response = learner_client.get(f"/v1/viewer/summary/download/{learner_client.user_id}?format=")
    body = assert_viewer_envelope(response, http_status=400, err="ERR_BAD_REQUEST")
    assert "format" in body["params"]["errmsg"]


def test_the_bare_all_flag_is_documented_as_allowed_empty(schema):
    parameters = schema["paths"]["/v1/viewer/summary/delete/{user_id}"]["delete"]["parameters"]
    assert next(p for p in parameters if p["name"] == "all")["allowEmptyValue"] is True


def test_a_filled_query_parameter_still_filters(admin_client, tenant):
    build_course(tenant=tenant, title="Findable")
    body = assert_lms_envelope(admin_client.get("/courses?q=Findable"), http_status=200)
    assert body["result"]["count"] == 1


def test_a_415_names_the_types_the_endpoint_takes(admin_client):
    response = admin_client.post("/courses", data="x", content_type="text/plain")
    body = assert_lms_envelope(response, http_status=415, err="ERR_UNSUPPORTED_MEDIA_TYPE")
    assert body["params"]["errmsg"].endswith("Send application/json or multipart/form-data or "
                                             "application/x-www-form-urlencoded.")
