"""The OpenAPI schema documents every catalogue endpoint, with the shapes the API really answers."""

from __future__ import annotations

import pytest

from courses.api import serializers as out
from tests.courses.conftest import ok
from tests.factories import build_course

ENDPOINTS = {
    "/courses": {"get", "post"},
    "/courses/{id}": {"get", "put", "delete"},
    "/courses/details/{id}": {"get"},
    "/courses/lessons": {"post"},
    "/modules": {"post"},
    "/modules/{id}": {"get", "put", "delete"},
    "/modules/course/{course_id}": {"get"},
    "/lessons": {"get", "post"},
    "/lessons/{id}": {"get", "put", "delete"},
    "/lessons/module/{module_id}": {"get"},
    "/lessons/course/{course_id}": {"get"},
}


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from drf_spectacular.generators import SchemaGenerator

    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def test_every_endpoint_is_documented_with_bodies(schema):
    for path, methods in ENDPOINTS.items():
        assert methods <= set(schema["paths"][path]), path
        for method in methods:
            operation = schema["paths"][path][method]
            success = next(code for code in operation["responses"] if code.startswith("2"))
            assert "content" in operation["responses"][success], (path, method)
            if method in {"post", "put"}:
                assert {"multipart/form-data", "application/json"} <= set(operation["requestBody"]["content"])


def _fields(serializer) -> set[str]:
    return set(serializer().fields)


def test_responses_have_exactly_the_documented_fields(admin_client, tenant):
    course = build_course(tenant=tenant, modules=1, lessons_per_module=1)
    module = course.modules.get()
    lesson = module.placements.get().lesson
    course_fields = _fields(out.CourseOutputSerializer)
    lesson_fields = _fields(out.LessonOutputSerializer)
    module_fields = _fields(out.ModuleOutputSerializer)

    assert set(ok(admin_client.get(f"/courses/{course.pk}"))) == course_fields
    details = ok(admin_client.get(f"/courses/details/{course.pk}"))
    assert set(details) == _fields(out.CourseDetailsOutputSerializer)
    assert set(details["modules"][0]) == _fields(out.ModuleWithLessonsOutputSerializer)
    assert set(details["modules"][0]["lessons"][0]) == lesson_fields
    listing = ok(admin_client.get("/courses"))
    assert set(listing) == {"count", "courses"} and set(listing["courses"][0]) == course_fields
    assert set(ok(admin_client.get(f"/modules/{module.pk}"))) == module_fields
    assert set(ok(admin_client.get(f"/modules/course/{course.pk}"))[0]) == module_fields
    lesson_detail = ok(admin_client.get(f"/lessons/{lesson.pk}"))
    assert set(lesson_detail) == _fields(out.LessonDetailOutputSerializer)
    assert set(lesson_detail["placements"][0]) == _fields(out.PlacementOutputSerializer)
    assert set(ok(admin_client.get("/lessons"))[0]) == lesson_fields
    assert set(ok(admin_client.get(f"/lessons/module/{module.pk}"))[0]) == lesson_fields
    assert set(ok(admin_client.get(f"/lessons/course/{course.pk}"))[0]) == lesson_fields
    assert set(ok(admin_client.put(f"/lessons/{lesson.pk}", {"title": "x"}))) == lesson_fields


@pytest.mark.parametrize("path", ["/lessons", "/lessons/module/{module_id}", "/lessons/course/{course_id}"])
def test_lesson_lists_are_documented_as_arrays(schema, path):
    reference = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    result = schema["components"]["schemas"][reference.rsplit("/", 1)[1]]["properties"]["result"]
    assert result == {"type": "array", "items": {"$ref": "#/components/schemas/LessonOutput"}}


@pytest.mark.parametrize("path", ["/courses/{id}", "/courses/details/{id}"])
def test_conditional_course_reads_are_documented(schema, path):
    operation = schema["paths"][path]["get"]
    assert ("If-None-Match", "header") in {(parameter["name"], parameter["in"]) for parameter in operation["parameters"]}
    for status in ("200", "304"):
        assert {"ETag", "Cache-Control"} <= set(operation["responses"][status]["headers"]), status
    assert "content" not in operation["responses"]["304"]  # no body, so no envelope either


def _body_schema(schema, path, method, media):
    ref = schema["paths"][path][method]["requestBody"]["content"][media]["schema"]["$ref"]
    return schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]


@pytest.mark.parametrize("path", ["/lessons", "/lessons/{id}"])
def test_multipart_bodies_document_the_empty_value_that_clears_a_nullable_field(schema, path):
    method = "post" if path == "/lessons" else "put"
    form = _body_schema(schema, path, method, "multipart/form-data")["properties"]["endDate"]
    as_json = _body_schema(schema, path, method, "application/json")["properties"]["endDate"]
    # A form has no null: endDate= clears the date, so the form's schema takes "" (schemathesis
    # reported the cleared date as accepted invalid input while the schema said date-time only).
    assert {"type": "string", "format": "date-time"} in form["anyOf"]
    assert any(option.get("maxLength") == 0 for option in form["anyOf"])
    # JSON says null to clear, and "" where a date belongs is refused.
    assert as_json == {"type": "string", "format": "date-time", "nullable": True}


def test_a_form_empty_value_clears_the_date_and_a_json_empty_string_is_refused(admin_client, placement):
    from courses.models import Lesson

    lesson_url = f"/lessons/{placement.lesson_id}"
    ok(admin_client.put(lesson_url, {"endDate": "2031-01-01T00:00:00Z"}, format="json"))
    ok(admin_client.put(lesson_url, {"endDate": ""}, format="multipart"))
    assert Lesson.objects.get(pk=placement.lesson_id).end_date is None
    refused = admin_client.put(lesson_url, {"endDate": ""}, format="json")
    assert refused.status_code == 400 and "endDate" in refused.json()["result"]["errors"]
