"""POST /v1/view/read: per context, across contexts, carry-forward, and never across users."""

from __future__ import annotations

import uuid

import pytest

from lms.models import Tenant
from tests.factories import build_course
from tests.viewer.conftest import enrol, lesson_ids, wrapped
from tracking.models import CourseTrack
from tracking.services import lesson_completion_record

pytestmark = pytest.mark.django_db


def _post(client, path, **fields):
    return client.post(path, wrapped(**fields), format="json")


def read(client, content_ids, **context):
    response = _post(client, "/v1/view/read", contentId=list(content_ids), **context)
    assert response.status_code == 200, response.json()
    return response.json()["result"]


def by_id(result) -> dict[str, dict]:
    return {content["contentId"]: content for content in result["contents"]}


def test_read_in_a_context_returns_every_requested_content_in_order(learner_client, course, enrolled):
    first, second, third = lesson_ids(course)[:3]
    _post(learner_client, "/v1/view/start", contentId=first, collectionId=course.id)
    _post(learner_client, "/v1/view/update", contentId=first, collectionId=course.id, progress=45)
    _post(learner_client, "/v1/view/end", contentId=second, collectionId=course.id)

    result = read(learner_client, [third, first, second, first], collectionId=course.id)

    assert (result["userId"], result["collectionId"], result["batchId"]) == (
        str(learner_client.user_id), str(course.id), str(course.id)
    )
    assert [content["identifier"] for content in result["contents"]] == [str(third), str(first), str(second)]
    contents = by_id(result)
    assert {key: contents[str(first)][key] for key in ("progress", "status", "viewCount")} == {
        "progress": 45, "status": 1, "viewCount": 1,
    }
    assert contents[str(first)]["lastAccessedTime"] > 0
    assert (contents[str(second)]["status"], contents[str(second)]["progress"]) == (2, 100)
    assert contents[str(third)] == {
        "identifier": str(third), "contentId": str(third), "progress": 0, "status": 0, "score": None,
        "max_score": None, "viewCount": 0, "lastAccessedTime": None,
    }


def test_read_without_context_takes_the_highest_status_and_progress_of_the_users_contexts(
    learner_client, course, enrolled
):
    lesson = lesson_ids(course)[0]
    _post(learner_client, "/v1/view/update", contentId=lesson, collectionId=course.id, progress=70)
    _post(learner_client, "/v1/view/update", contentId=lesson, progress=20)  # standalone context
    _post(learner_client, "/v1/view/start", contentId=lesson)

    content = read(learner_client, [lesson])["contents"][0]

    assert (content["progress"], content["status"], content["viewCount"]) == (70, 1, 1)

    _post(learner_client, "/v1/view/end", contentId=lesson)
    content = read(learner_client, [lesson])["contents"][0]
    assert (content["progress"], content["status"]) == (100, 2)


def test_cross_context_read_never_returns_another_users_rows(client_for, tenant):
    alice, bob = client_for(tenant, "learner"), client_for(tenant, "learner")
    lesson = uuid.uuid4()
    _post(bob, "/v1/view/end", contentId=lesson)
    _post(bob, "/v1/view/update", contentId=(other := uuid.uuid4()), progress=90)
    _post(alice, "/v1/view/update", contentId=lesson, progress=10)

    contents = by_id(read(alice, [lesson, other]))

    assert (contents[str(lesson)]["status"], contents[str(lesson)]["progress"]) == (1, 10)
    assert (contents[str(other)]["status"], contents[str(other)]["progress"], contents[str(other)]["viewCount"]) == (
        0, 0, 0
    )
    bob_view = by_id(read(bob, [lesson, other]))
    assert (bob_view[str(lesson)]["status"], bob_view[str(other)]["progress"]) == (2, 90)


# --- Scenarios 2 and 3: strict vs carry-forward --------------------------------------------------


def test_strict_tenant_does_not_carry_completion_into_a_course_context(learner_client, course, enrolled):
    lesson = lesson_ids(course)[0]
    _post(learner_client, "/v1/view/end", contentId=lesson)  # completed standalone

    in_course = read(learner_client, [lesson], collectionId=course.id)["contents"][0]

    assert (in_course["status"], in_course["progress"]) == (0, 0)


def test_carry_tenant_reads_completion_from_any_context_but_writes_stay_in_theirs(
    learner_client, course, enrolled, tenant
):
    tenant.carry_forward = Tenant.CarryForward.CARRY
    tenant.save(update_fields=["carry_forward"])
    lesson = lesson_ids(course)[0]
    _post(learner_client, "/v1/view/end", contentId=lesson)  # completed standalone

    in_course = read(learner_client, [lesson], collectionId=course.id)["contents"][0]

    assert (in_course["status"], in_course["progress"], in_course["viewCount"]) == (2, 100, 0)
    from tracking.models import ContentConsumption

    assert not ContentConsumption.objects.filter(collection_id=course.id).exists()


def test_carry_never_carries_another_users_completion(client_for, tenant, course):
    tenant.carry_forward = Tenant.CarryForward.CARRY
    tenant.save(update_fields=["carry_forward"])
    alice, bob = client_for(tenant, "learner"), client_for(tenant, "learner")
    enrol(course, alice.user_id)
    lesson = lesson_ids(course)[0]
    _post(bob, "/v1/view/end", contentId=lesson)

    assert read(alice, [lesson], collectionId=course.id)["contents"][0]["status"] == 0


# --- One truth, both directions -----------------------------------------------------------------


def test_a_lesson_completed_through_lesson_tracking_reads_completed_here(learner_client, course, enrolled, tenant):
    lesson = lesson_ids(course)[1]
    lesson_completion_record(
        tenant_id=tenant.id, user_id=learner_client.user_id, course_id=course.id, batch_id=course.id, lesson_id=lesson
    )

    in_course = read(learner_client, [lesson], collectionId=course.id)["contents"][0]
    anywhere = read(learner_client, [lesson])["contents"][0]

    assert (in_course["status"], in_course["progress"]) == (2, 100)
    assert anywhere["status"] == 2


def test_a_lesson_completed_through_view_end_is_completed_for_the_course_track(learner_client, course, enrolled):
    lesson = lesson_ids(course)[1]

    _post(learner_client, "/v1/view/end", contentId=lesson, collectionId=course.id)

    assert CourseTrack.objects.get(enrollment=enrolled).completed_lessons == 1


# --- Bad input, permissions, tenants --------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_fields", "err"),
    [
        ({}, "MANDATORY_PARAMETER_MISSING"),
        ({"contentId": []}, "ERR_BAD_REQUEST"),
        ({"contentId": "not-a-list"}, "ERR_BAD_REQUEST"),
        ({"contentId": ["nope"]}, "ERR_BAD_REQUEST"),
        ({"contentId": [str(uuid.uuid4()) for _ in range(101)]}, "ERR_BAD_REQUEST"),
        ({"contentId": [str(uuid.uuid4())], "batchId": str(uuid.uuid4())}, "ERR_BAD_REQUEST"),
    ],
)
def test_read_rejects_bad_input(learner_client, request_fields, err):
    response = learner_client.post("/v1/view/read", {"request": request_fields}, format="json")

    assert response.status_code == 400
    assert (response.json()["responseCode"], response.json()["params"]["err"]) == ("CLIENT_ERROR", err)


def test_learner_may_not_read_another_user(learner_client):
    response = _post(learner_client, "/v1/view/read", contentId=[uuid.uuid4()], userId=uuid.uuid4())

    assert response.status_code == 403


def test_staff_read_a_learner_and_other_tenants_see_nothing(
    instructor_client, other_admin_client, learner_client, course, enrolled
):
    lesson = lesson_ids(course)[0]
    _post(learner_client, "/v1/view/end", contentId=lesson, collectionId=course.id)

    staff_view = read(instructor_client, [lesson], userId=learner_client.user_id)["contents"][0]
    other_tenant_view = read(other_admin_client, [lesson], userId=learner_client.user_id)["contents"][0]

    assert staff_view["status"] == 2
    assert (other_tenant_view["status"], other_tenant_view["viewCount"]) == (0, 0)


# --- Constant queries -------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [2, 40])
@pytest.mark.parametrize("with_context", [False, True])
def test_read_runs_a_constant_number_of_queries(learner_client, tenant, size, with_context, django_assert_num_queries):
    course = build_course(tenant=tenant, modules=1, lessons_per_module=size)
    enrol(course, learner_client.user_id)
    lessons = lesson_ids(course)
    for lesson in lessons:
        _post(learner_client, "/v1/view/end", contentId=lesson, collectionId=course.id)
        _post(learner_client, "/v1/view/update", contentId=lesson, progress=10)
    context = {"collectionId": course.id} if with_context else {}

    # With a context: tenant carry setting, consumption aggregate, best attempts.
    # Without: consumption aggregate, best attempts.
    with django_assert_num_queries(3 if with_context else 2):
        result = read(learner_client, lessons, **context)

    assert len(result["contents"]) == size
    assert all(content["status"] == 2 for content in result["contents"])
