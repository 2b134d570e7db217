"""POST/GET/PUT/DELETE /courses, GET /courses/details/:id and the catalogue listing."""

from __future__ import annotations

import uuid

import pytest
from django.urls import resolve

from courses.api.views import CourseViewSet
from courses.models import ContentStatus, Course, LessonPlacement, Module
from tests.courses.conftest import COURSE_BODY, failed, image_file, ok
from tests.factories import CourseFactory, LessonFactory, ModuleFactory, PlacementFactory, build_course

# --- create -----------------------------------------------------------------------------------


def test_create_multipart_round_trips_every_field_with_json_types(admin_client):
    body = {
        **COURSE_BODY,
        "image": image_file(),
        "featured": "yes",
        "free": "0",
        "Certificate_term": "PASS_ALL",
        "certificate_id": "sunbird-rc-id",
        "adminApproval": "true",
        "autoEnroll": "no",
        "status": "published",
        "params": '{"level": "beginner", "hours": 3}',
        "type": "ignored",
    }
    result = ok(admin_client.post("/courses", body, format="multipart"), 201)
    assert uuid.UUID(result["courseId"])
    assert result["tenantId"] == str(admin_client.tenant_id)
    assert "tenentId" not in result
    assert result["featured"] is True and result["free"] is False and result["paid"] is True
    assert result["certificate_term"] == "PASS_ALL" and result["certificate_id"] == "sunbird-rc-id"
    assert result["adminApproval"] is True and result["autoEnroll"] is False
    assert result["status"] == "published"
    assert result["params"] == {"level": "beginner", "hours": 3}
    assert result["startDatetime"] == "2024-03-20T00:00:00Z" and result["endDatetime"] == "2024-12-31T23:59:59Z"
    assert result["createdBy"] == str(admin_client.user_id)
    assert result["updatedBy"] is None and result["updatedAt"] is None
    assert result["image"].startswith("http://testserver/media/courses/")


def test_create_json_with_defaults(instructor_client):
    result = ok(instructor_client.post("/courses", COURSE_BODY, format="json"), 201)
    assert result["status"] == "unpublished"
    assert result["free"] is True and result["paid"] is False
    assert result["certificate_term"] == "NA"
    assert result["params"] == {} and result["image"] is None
    assert result["createdBy"] == str(instructor_client.user_id)


def test_created_by_comes_from_the_token_not_the_body(admin_client):
    result = ok(admin_client.post("/courses", {**COURSE_BODY, "createdBy": str(uuid.uuid4())}, format="json"), 201)
    assert result["createdBy"] == str(admin_client.user_id)


def test_paid_is_accepted_as_the_opposite_of_free(admin_client):
    result = ok(admin_client.post("/courses", {**COURSE_BODY, "paid": True}, format="json"), 201)
    assert result["free"] is False
    body = failed(admin_client.post("/courses", {**COURSE_BODY, "paid": True, "free": True}, format="json"), 400)
    assert "paid" in body["result"]["errors"]


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"title": None}, "title", "null"),
        ({"startDatetime": "2024-03-20T00:00:00"}, "startDatetime", "timezone"),
        ({"endDatetime": "2024-03-19T00:00:00Z"}, "endDatetime", "later than"),
        ({"endDatetime": "2024-03-20T00:00:00Z"}, "endDatetime", "later than"),
        ({"params": "{not json"}, "params", "could not be parsed"),
        ({"params": "[1, 2]"}, "params", "JSON object"),
        ({"certificate_term": "SOMETIMES"}, "certificate_term", "COMPLETE_ALL"),
        ({"status": "archived"}, "status", "unpublished, published"),
        ({"featured": "maybe"}, "featured", "boolean"),
        ({"startDatetime": "next tuesday"}, "startDatetime", "ISO-8601"),
    ],
)
def test_create_rejects_bad_input_with_field_errors(admin_client, change, field, fragment):
    body = {**COURSE_BODY, **change}
    body = {key: value for key, value in body.items() if value is not None}
    response = admin_client.post("/courses", body, format="multipart")
    envelope = failed(response, 400, "ERR_VALIDATION")
    assert envelope["id"] == "api.course.create"
    messages = envelope["result"]["errors"][field]
    assert fragment in " ".join(messages) or (fragment == "null" and "required" in messages[0])
    assert envelope["params"]["errmsg"].startswith(f"{field}:")
    assert not Course.objects.exists()


def test_missing_required_fields_are_all_listed(admin_client):
    envelope = failed(admin_client.post("/courses", {}, format="json"), 400, "ERR_VALIDATION")
    assert set(envelope["result"]["errors"]) == {"title", "shortDescription", "description", "startDatetime", "endDatetime"}


def test_learner_cannot_create(learner_client):
    failed(learner_client.post("/courses", COURSE_BODY, format="json"), 403, "ERR_FORBIDDEN")
    assert not Course.objects.exists()


def test_anonymous_gets_401(client, tenant):
    failed(client.get("/courses", HTTP_TENANTID=str(tenant.id)), 401, "ERR_UNAUTHORIZED")


# --- read -------------------------------------------------------------------------------------


def test_get_course(admin_client, course):
    result = ok(admin_client.get(f"/courses/{course.pk}"))
    assert result["courseId"] == str(course.pk) and result["title"] == course.title
    assert admin_client.get(f"/courses/{course.pk}").json()["id"] == "api.course.get"


def test_learner_reads_published_but_not_drafts(learner_client, admin_client, course, draft_course):
    ok(learner_client.get(f"/courses/{course.pk}"))
    failed(learner_client.get(f"/courses/{draft_course.pk}"), 404, "ERR_NOT_FOUND")
    failed(learner_client.get(f"/courses/details/{draft_course.pk}"), 404)
    ok(admin_client.get(f"/courses/{draft_course.pk}"))


def test_unknown_and_other_tenants_course_answer_404(admin_client, other_admin_client, course):
    failed(admin_client.get(f"/courses/{uuid.uuid4()}"), 404)
    failed(other_admin_client.get(f"/courses/{course.pk}"), 404)
    failed(other_admin_client.get(f"/courses/details/{course.pk}"), 404)
    failed(other_admin_client.put(f"/courses/{course.pk}", {"title": "Stolen"}, format="json"), 404)
    failed(other_admin_client.delete(f"/courses/{course.pk}"), 404)
    course.refresh_from_db()
    assert course.title != "Stolen" and course.status == ContentStatus.PUBLISHED


def test_details_lists_modules_and_lessons_in_order(learner_client, tenant):
    course = CourseFactory(tenant=tenant)
    second = ModuleFactory(course=course, tenant=tenant, ordering=2, title="Second")
    first = ModuleFactory(course=course, tenant=tenant, ordering=1, title="First")
    ModuleFactory(course=course, tenant=tenant, ordering=3, status=ContentStatus.UNPUBLISHED, title="Draft module")
    b = PlacementFactory(module=first, course=course, tenant=tenant, ordering=2, lesson__title="B")
    a = PlacementFactory(module=first, course=course, tenant=tenant, ordering=1, lesson__title="A")
    PlacementFactory(module=first, course=course, tenant=tenant, ordering=3, lesson__status=ContentStatus.UNPUBLISHED)
    PlacementFactory(module=second, course=course, tenant=tenant, ordering=1, archived=True)
    result = ok(learner_client.get(f"/courses/details/{course.pk}"))
    assert [m["title"] for m in result["modules"]] == ["First", "Second"]
    lessons = result["modules"][0]["lessons"]
    assert [lesson["lessonId"] for lesson in lessons] == [str(a.lesson_id), str(b.lesson_id)]
    assert lessons[0]["ordering"] == 1 and lessons[0]["moduleId"] == str(first.pk)
    assert lessons[0]["courseId"] == str(course.pk)
    assert result["modules"][1]["lessons"] == []


def test_author_details_include_drafts_but_not_archived(admin_client, tenant):
    course = CourseFactory(tenant=tenant, status=ContentStatus.UNPUBLISHED)
    ModuleFactory(course=course, tenant=tenant, ordering=1, status=ContentStatus.UNPUBLISHED)
    ModuleFactory(course=course, tenant=tenant, ordering=2, status=ContentStatus.ARCHIVED)
    result = ok(admin_client.get(f"/courses/details/{course.pk}"))
    assert [m["status"] for m in result["modules"]] == ["unpublished"]


# --- list -------------------------------------------------------------------------------------


def test_list_is_paginated_and_filtered(admin_client, tenant, other_tenant):
    CourseFactory.create_batch(3, tenant=tenant, featured=True, free=False, title="Python basics")
    CourseFactory(tenant=tenant, status=ContentStatus.UNPUBLISHED, title="Draft Rust")
    CourseFactory(tenant=tenant, status=ContentStatus.ARCHIVED, title="Old Python")
    CourseFactory(tenant=other_tenant, title="Python elsewhere")
    result = ok(admin_client.get("/courses", {"limit": 2}))
    assert result["count"] == 4 and len(result["courses"]) == 2
    assert len(ok(admin_client.get("/courses", {"limit": 2, "page": 2}))["courses"]) == 2
    assert ok(admin_client.get("/courses", {"status": "unpublished"}))["count"] == 1
    assert ok(admin_client.get("/courses", {"featured": "true"}))["count"] == 3
    assert ok(admin_client.get("/courses", {"free": "false"}))["count"] == 3
    assert ok(admin_client.get("/courses", {"q": "python"}))["count"] == 3
    assert ok(admin_client.get("/courses", {"title": "rust"}))["count"] == 1
    assert admin_client.get("/courses").json()["id"] == "api.course.list"


def test_learner_lists_published_only(learner_client, tenant):
    CourseFactory(tenant=tenant)
    CourseFactory(tenant=tenant, status=ContentStatus.UNPUBLISHED)
    assert ok(learner_client.get("/courses"))["count"] == 1
    assert ok(learner_client.get("/courses", {"status": "unpublished"}))["count"] == 0


@pytest.mark.parametrize(
    "query", [{"status": "archived"}, {"featured": "maybe"}, {"page": "0"}, {"limit": "101"}, {"limit": "x"}]
)
def test_list_rejects_bad_query_values(admin_client, query):
    failed(admin_client.get("/courses", query), 400)


# --- update -----------------------------------------------------------------------------------


def test_partial_update_changes_only_what_is_sent(admin_client, course):
    result = ok(
        admin_client.put(
            f"/courses/{course.pk}",
            {"title": "Renamed", "featured": "1", "type": "true", "params": '{"x": 1}'},
            format="multipart",
        )
    )
    assert result["title"] == "Renamed" and result["featured"] is True and result["params"] == {"x": 1}
    assert result["shortDescription"] == course.short_description
    assert result["updatedBy"] == str(admin_client.user_id) and result["updatedAt"] is not None
    assert admin_client.put(f"/courses/{course.pk}", {}, format="json").json()["id"] == "api.course.update"
    version = Course.objects.get(pk=course.pk).content_version
    assert version > course.content_version


def test_update_checks_schedule_against_stored_values(admin_client, course):
    body = failed(
        admin_client.put(f"/courses/{course.pk}", {"endDatetime": "2000-01-01T00:00:00Z"}, format="json"), 400
    )
    assert "endDatetime" in body["result"]["errors"]
    failed(admin_client.put(f"/courses/{course.pk}", {"startDatetime": "2024-01-01T00:00:00"}, format="json"), 400)


def test_learner_cannot_update_or_delete(learner_client, course):
    failed(learner_client.put(f"/courses/{course.pk}", {"title": "x"}, format="json"), 403)
    failed(learner_client.delete(f"/courses/{course.pk}"), 403)


def test_update_can_publish(admin_client, draft_course):
    assert ok(admin_client.put(f"/courses/{draft_course.pk}", {"status": "published"}))["status"] == "published"


# --- delete -----------------------------------------------------------------------------------


def test_delete_archives_course_modules_and_placements(admin_client, tenant):
    course = build_course(tenant=tenant, modules=2, lessons_per_module=2)
    response = admin_client.delete(f"/courses/{course.pk}")
    assert ok(response) is None
    assert response.json()["id"] == "api.course.delete"
    course.refresh_from_db()
    assert course.status == ContentStatus.ARCHIVED
    assert set(Module.objects.filter(course=course).values_list("status", flat=True)) == {ContentStatus.ARCHIVED}
    assert not LessonPlacement.objects.filter(course=course, archived=False).exists()
    # Kept in the database, invisible to the API for everybody.
    assert LessonPlacement.objects.filter(course=course).count() == 4
    failed(admin_client.get(f"/courses/{course.pk}"), 404)
    failed(admin_client.get(f"/courses/details/{course.pk}"), 404)
    failed(admin_client.put(f"/courses/{course.pk}", {"title": "x"}), 404)
    failed(admin_client.delete(f"/courses/{course.pk}"), 404)
    assert ok(admin_client.get("/courses"))["count"] == 0


def test_lessons_survive_their_course_being_archived(admin_client, tenant):
    course = build_course(tenant=tenant, modules=1, lessons_per_module=1)
    lesson = LessonPlacement.objects.get(course=course).lesson
    admin_client.delete(f"/courses/{course.pk}")
    assert ok(admin_client.get(f"/lessons/{lesson.pk}"))["placements"] == []


# --- routing ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/courses/tracking", "/courses/tracking/" + str(uuid.uuid4()), "/courses/lessons/x"])
def test_other_apps_paths_never_reach_the_course_routes(path):
    match = resolve(path)
    assert getattr(match.func, "cls", None) is not CourseViewSet


def test_non_uuid_course_id_is_a_json_404(admin_client):
    failed(admin_client.get("/courses/not-a-uuid"), 404)


def test_lesson_factory_other_tenant_isolated(other_admin_client, tenant):
    lesson = LessonFactory(tenant=tenant)
    failed(other_admin_client.get(f"/lessons/{lesson.pk}"), 404)


def test_details_follow_every_content_write_through_the_api(admin_client, tenant):
    course = CourseFactory(tenant=tenant)
    module = ModuleFactory(course=course, tenant=tenant, ordering=1)
    placement = PlacementFactory(module=module, course=course, tenant=tenant, ordering=1, lesson__title="Before")
    assert ok(admin_client.get(f"/courses/details/{course.pk}"))["modules"][0]["lessons"][0]["title"] == "Before"
    ok(admin_client.put(f"/lessons/{placement.lesson_id}", {"title": "After"}, format="json"))
    ok(admin_client.put(f"/modules/{module.pk}", {"title": "Renamed"}, format="json"))
    result = ok(admin_client.get(f"/courses/details/{course.pk}"))
    assert result["modules"][0]["title"] == "Renamed"
    assert result["modules"][0]["lessons"][0]["title"] == "After"
