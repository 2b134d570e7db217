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
