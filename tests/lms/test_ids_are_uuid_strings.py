"""Ids are UUID strings (DECISIONS §8): a number, boolean, list or object where an id is expected
is a 400 naming the field, never converted into an id (DRF's UUIDField reads 12345 as
00000000-0000-0000-0000-000000003039), and nothing is written."""

from __future__ import annotations

import uuid

import pytest

from courses.models import Lesson, LessonPlacement, Module
from enrollment.models import Enrollment
from enrollment.services import enrollment_create
from lms.api.fields import StringIdField, UUIDStringField
from tests.factories import build_course
from tracking.models import ContentConsumption, LessonAttempt

pytestmark = pytest.mark.django_db

NOT_STRINGS = [12345, 12.5, True, [str(uuid.UUID(int=1))], {"id": str(uuid.UUID(int=1))}]
NOT_STRING_IDS = pytest.mark.parametrize("value", NOT_STRINGS, ids=["number", "float", "boolean", "list", "object"])


@pytest.fixture
def course(tenant):
    return build_course(tenant=tenant, modules=1, lessons_per_module=1)


@pytest.fixture
def placement(course):
    return course.placements.get()


def field_errors(response, status: int = 400) -> dict[str, list[str]]:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["params"]["status"] == "failed"
    return body["result"]["errors"]


def assert_refused(response, field: str) -> None:
    errors = field_errors(response)
    assert any(key == field or key.startswith(f"{field}.") for key in errors), errors
    assert response.json()["params"]["errmsg"].startswith(field)


# --- the field ---------------------------------------------------------------------------------


@NOT_STRING_IDS
def test_the_field_refuses_every_json_type_but_a_string(value):
    field = UUIDStringField()

    with pytest.raises(Exception) as raised:
        field.run_validation(value)

    assert "UUID string" in str(raised.value)


def test_the_field_accepts_uuid_strings_and_uuid_objects():
    value = uuid.uuid4()

    assert UUIDStringField().run_validation(str(value)) == value
    assert UUIDStringField().run_validation(value) == value


@pytest.mark.parametrize("value", ["12345", "", "3039"])
def test_a_string_that_is_not_a_uuid_is_refused(value):
    with pytest.raises(Exception, match="is not a UUID"):
        UUIDStringField().run_validation(value)


def test_a_string_id_refuses_numbers():
    with pytest.raises(Exception, match="JSON string"):
        StringIdField().run_validation(7)
    assert StringIdField().run_validation("a1") == "a1"


# --- enrollments -------------------------------------------------------------------------------


@NOT_STRING_IDS
def test_enrolling_a_user_id_that_is_not_a_string_is_400(admin_client, course, value):
    response = admin_client.post("/enrollments", {"course_id": str(course.id), "user_id": value}, format="json")

    assert_refused(response, "user_id")
    assert not Enrollment.objects.exists()


def test_the_number_from_the_report_creates_nothing(admin_client, course):
    response = admin_client.post("/enrollments", {"course_id": str(course.id), "user_id": 12345}, format="json")

    assert_refused(response, "user_id")
    assert not Enrollment.objects.filter(user_id=uuid.UUID(int=12345)).exists()


def test_enrolling_with_a_numeric_course_id_is_400(admin_client, course):
    assert_refused(admin_client.post("/enrollments", {"course_id": 1, "user_id": str(uuid.uuid4())}, format="json"),
                   "course_id")


def test_updating_an_enrollment_with_a_numeric_user_id_is_400(admin_client, course, tenant):
    enrollment = enrollment_create(tenant_id=tenant.id, course=course, user_id=uuid.uuid4(), enrolled_by=uuid.uuid4())

    response = admin_client.put(f"/enrollments/{enrollment.id}", {"user_id": 12345}, format="json")

    assert_refused(response, "user_id")


@pytest.mark.parametrize("param", ["user_id", "course_id"])
@pytest.mark.parametrize("path", ["/enrollments", "/lessons/tracking", "/courses/tracking"])
def test_list_filters_that_are_not_uuids_are_400(admin_client, path, param):
    assert_refused(admin_client.get(f"{path}?{param}=12345"), param)


# Present but empty is not "no filter": read as absent it would widen the list to every user's rows.
@pytest.mark.parametrize(
    "query",
    ["/enrollments?user_id=", "/enrollments?course_id=", "/lessons/tracking?user_id=", "/lessons/tracking?lesson_id=",
     "/lessons/tracking?course_id=", "/courses/tracking?user_id=", "/courses/tracking?course_id=", "/lessons?courseId=",
     "/lessons?moduleId="],
)
def test_an_empty_id_filter_is_400_not_no_filter(admin_client, query):
    param = query.rsplit("?", 1)[1].rstrip("=")

    errors = field_errors(admin_client.get(query))

    (message,) = errors[param]
    assert param in message and "leave it out" in message


@pytest.mark.parametrize("path", ["/enrollments", "/lessons/tracking", "/courses/tracking", "/lessons"])
def test_lists_without_id_filters_still_answer(admin_client, path):
    assert admin_client.get(path).status_code == 200


def test_lesson_tracking_list_refuses_a_lesson_id_that_is_not_a_uuid(admin_client):
    assert_refused(admin_client.get("/lessons/tracking?lesson_id=12345"), "lesson_id")


@pytest.mark.parametrize("param", ["courseId", "moduleId"])
def test_the_lesson_library_filters_refuse_ids_that_are_not_uuids(admin_client, param):
    response = admin_client.get(f"/lessons?{param}=12345")

    assert response.status_code == 400, response.content
    assert param in response.json()["result"]["errors"]


# --- catalogue ---------------------------------------------------------------------------------


@NOT_STRING_IDS
def test_a_module_for_a_course_id_that_is_not_a_string_is_400(admin_client, value):
    response = admin_client.post("/modules", {"title": "M", "description": "D", "courseId": value}, format="json")

    assert_refused(response, "courseId")
    assert not Module.objects.exists()


def test_moving_a_module_to_a_numeric_course_is_400(admin_client, course):
    module = course.modules.get()

    assert_refused(admin_client.put(f"/modules/{module.id}", {"courseId": 7}, format="json"), "courseId")


@pytest.mark.parametrize(
    "field, value",
    [
        ("courseId", 12345),
        ("moduleId", 12345),
        ("mediaId", 12345),
        ("eligibilityCriteria", [12345]),
        ("eligibilityCriteria", 12345),
        ("eligibilityCriteria", [True]),
    ],
)
def test_lesson_ids_that_are_not_strings_are_400(admin_client, course, field, value):
    module = course.modules.get()
    body = {"title": "L", "description": "D", "courseId": str(course.id), "moduleId": str(module.id), field: value}
    before = Lesson.objects.count()

    assert_refused(admin_client.post("/lessons", body, format="json"), field)
    assert Lesson.objects.count() == before


def test_updating_a_lesson_with_a_numeric_prerequisite_is_400(admin_client, placement):
    response = admin_client.put(f"/lessons/{placement.lesson_id}", {"eligibilityCriteria": [1]}, format="json")

    assert_refused(response, "eligibilityCriteria")


@pytest.mark.parametrize("field", ["courseId", "moduleId", "lessonId"])
def test_a_placement_with_a_numeric_id_is_400(admin_client, course, tenant, field):
    lesson = Lesson.objects.create(tenant=tenant, title="Loose", description="D")
    body = {"courseId": str(course.id), "moduleId": str(course.modules.get().id), "lessonId": str(lesson.id)}
    body[field] = 12345

    assert_refused(admin_client.post("/courses/lessons", body, format="json"), field)
    assert not LessonPlacement.objects.filter(lesson=lesson).exists()


# Multipart carries every value as text, so a number arrives as "12345": still not a UUID string.
@pytest.mark.parametrize("field", ["courseId", "moduleId", "mediaId", "eligibilityCriteria"])
def test_multipart_lesson_ids_that_are_numbers_are_400(admin_client, course, field):
    module = course.modules.get()
    body = {"title": "L", "description": "D", "courseId": str(course.id), "moduleId": str(module.id), field: "12345"}
    before = Lesson.objects.count()

    assert_refused(admin_client.post("/lessons", body, format="multipart"), field)
    assert Lesson.objects.count() == before


def test_multipart_module_course_id_that_is_a_number_is_400(admin_client):
    response = admin_client.post("/modules", {"title": "M", "description": "D", "courseId": "12345"},
                                 format="multipart")

    assert_refused(response, "courseId")


# --- lesson tracking ---------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["lesson_id", "course_id", "user_id"])
def test_starting_an_attempt_with_a_numeric_id_is_400(admin_client, placement, field):
    enrollment_create(
        tenant_id=placement.tenant_id, course=placement.course, user_id=admin_client.user_id,
        enrolled_by=admin_client.user_id,
    )
    body = {"lesson_id": str(placement.lesson_id), "course_id": str(placement.course_id),
            "user_id": str(admin_client.user_id)}
    body[field] = 12345

    assert_refused(admin_client.post("/lessons/tracking", body, format="json"), field)
    assert not LessonAttempt.objects.exists()


# --- viewer ------------------------------------------------------------------------------------


def viewer_body(placement, user_id, **changes) -> dict:
    fields = {"userId": str(user_id), "contentId": str(placement.lesson_id),
              "collectionId": str(placement.course_id), "batchId": str(placement.course_id)}
    return {"request": {**fields, **changes}}


@pytest.mark.parametrize("path", ["/v1/view/start", "/v1/view/end", "/v1/view/update"])
@pytest.mark.parametrize("field", ["userId", "contentId", "collectionId", "batchId"])
def test_viewer_writes_refuse_numeric_ids(learner_client, placement, path, field):
    enrollment_create(tenant_id=placement.tenant_id, course=placement.course, user_id=learner_client.user_id,
                      enrolled_by=learner_client.user_id)
    body = viewer_body(placement, learner_client.user_id, **{field: 12345, "progress": 10})

    response = learner_client.post(path, body, format="json")

    assert_refused(response, field)
    assert response.json()["responseCode"] == "CLIENT_ERROR"
    assert not ContentConsumption.objects.exists()


@NOT_STRING_IDS
def test_viewer_read_refuses_content_ids_that_are_not_strings(learner_client, placement, value):
    body = {"request": {"contentId": [str(placement.lesson_id), value]}}

    assert_refused(learner_client.post("/v1/view/read", body, format="json"), "contentId")


def test_assessment_refuses_a_numeric_attempt_id(learner_client, placement):
    enrollment_create(tenant_id=placement.tenant_id, course=placement.course, user_id=learner_client.user_id,
                      enrolled_by=learner_client.user_id)
    attempt = {"attemptId": 7, "assessmentTs": 1_700_000_000_000,
               "events": [{"questionId": "q1", "score": 1, "max_score": 1}]}
    body = viewer_body(placement, learner_client.user_id, assessments=[attempt])

    assert_refused(learner_client.post("/v1/assessment/submit", body, format="json"), "assessments")
    assert not ContentConsumption.objects.exists()


@pytest.mark.parametrize("field", ["userId", "collectionId", "batchId"])
def test_summary_read_refuses_numeric_ids(learner_client, placement, field):
    body = {"request": {"userId": str(learner_client.user_id), "collectionId": str(placement.course_id), field: 1}}

    assert_refused(learner_client.post("/v1/viewer/summary/read", body, format="json"), field)


def test_summary_delete_refuses_a_numeric_collection_id(learner_client):
    response = learner_client.delete(
        f"/v1/viewer/summary/delete/{learner_client.user_id}", {"request": {"collectionId": 12345}}, format="json"
    )

    assert_refused(response, "collectionId")


@pytest.mark.parametrize("field, value", [("programId", 12345), ("userId", 12345)])
def test_program_enrol_refuses_numeric_ids(learner_client, field, value):
    body = {"request": {"programId": "starter", field: value}}

    assert_refused(learner_client.post("/v1/program/enrol", body, format="json"), field)
