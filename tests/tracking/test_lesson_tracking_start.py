"""POST /lessons/tracking: start or resume an attempt, in the order DECISIONS §5 sets."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from rest_framework.test import APIClient

from courses.models import ContentStatus
from courses.services import lesson_archive, lesson_set_status
from enrollment.models import Enrollment
from tests.factories import LessonFactory, ModuleFactory, PlacementFactory, build_course
from tests.tracking.helpers import (
    LESSON_TRACKING,
    enroll,
    err,
    errmsg,
    lessons_of,
    result,
    start,
    start_and_complete,
    update,
)
from tracking.models import ConsumptionStatus, ContentConsumption, CourseTrack, LessonAttempt
from tracking.services import lesson_completion_record

pytestmark = pytest.mark.django_db


def test_start_creates_attempt_one_and_moves_the_track_in_progress(enrolled_learner, course):
    lesson = lessons_of(course)[0]
    response = start(enrolled_learner, lesson)
    assert response.status_code == 201
    body = response.json()
    assert body["id"] == "api.lesson.tracking.start" and body["params"]["status"] == "successful"
    attempt = result(response)
    assert attempt["lesson_id"] == str(lesson.id)
    assert attempt["course_id"] == str(course.id) and attempt["batch_id"] == str(course.id)
    assert attempt["user_id"] == str(enrolled_learner.user_id)
    assert (attempt["attempt"], attempt["status"], attempt["score"], attempt["timeend"]) == (1, "started", 0, None)
    track = CourseTrack.objects.get(enrollment=enrolled_learner.enrollment)
    assert track.status == "in_progress" and track.last_accessed_date is not None
    assert Enrollment.objects.get(pk=enrolled_learner.enrollment.pk).state == 1
    # The viewer sees the lesson in progress in the same context: one truth for both APIs.
    consumption = ContentConsumption.objects.get(user_id=enrolled_learner.user_id, content_id=lesson.id)
    assert (consumption.collection_id, consumption.batch_id, consumption.status) == (
        course.id, course.id, ConsumptionStatus.IN_PROGRESS
    )
    # Both rows were inserted with time-ordered keys (lms.ids), on either start path.
    assert (uuid.UUID(attempt["id"]).version, consumption.id.version) == (7, 7)


def test_server_controlled_fields_in_the_body_are_ignored(enrolled_learner, course):
    lesson = lessons_of(course)[0]
    response = start(
        enrolled_learner, lesson, attempt=7, status="completed", score=99, updatedBy=str(uuid.uuid4()),
        time_spent=500, timestart="2020-01-01T00:00:00Z",
    )
    assert response.status_code == 201
    attempt = result(response)
    assert (attempt["attempt"], attempt["status"], attempt["score"], attempt["time_spent"]) == (1, "started", 0, 0)
    assert not attempt["timestart"].startswith("2020")


def test_without_resume_each_start_is_a_new_attempt(enrolled_learner, course):
    lesson = lessons_of(course)[0]
    numbers = [result(start(enrolled_learner, lesson))["attempt"] for _ in range(3)]
    assert numbers == [1, 2, 3]


def test_resume_returns_the_unfinished_attempt_with_200(enrolled_learner, course):
    lesson = lessons_of(course)[0]
    lesson.resume = True
    lesson.save(update_fields=["resume"])
    first = start(enrolled_learner, lesson)
    again = start(enrolled_learner, lesson)
    assert (first.status_code, again.status_code) == (201, 200)
    assert result(again)["id"] == result(first)["id"]
    update(enrolled_learner, result(first)["id"], status="completed")
    after_completion = start(enrolled_learner, lesson)
    assert after_completion.status_code == 201 and result(after_completion)["attempt"] == 2


def test_attempt_limit_answers_max_attempts(enrolled_learner, course):
    lesson = lessons_of(course)[0]
    lesson.no_of_attempts = 2
    lesson.save(update_fields=["no_of_attempts"])
    start_and_complete(enrolled_learner, lesson)
    start_and_complete(enrolled_learner, lesson)
    response = start(enrolled_learner, lesson)
    assert response.status_code == 400 and err(response) == "ERR_MAX_ATTEMPTS"
    assert result(response) == {"attempts_used": 2, "no_of_attempts": 2}
    assert "attempts" in errmsg(response)
    assert LessonAttempt.objects.filter(lesson=lesson).count() == 2


def test_zero_attempts_means_unlimited(enrolled_learner, course):
    lesson = lessons_of(course)[0]
    assert lesson.no_of_attempts == 0
    for _ in range(4):
        start_and_complete(enrolled_learner, lesson)
    assert start(enrolled_learner, lesson).status_code == 201


def test_resume_wins_over_the_attempt_limit(enrolled_learner, course):
    lesson = lessons_of(course)[0]
    lesson.no_of_attempts, lesson.resume = 1, True
    lesson.save(update_fields=["no_of_attempts", "resume"])
    first = start(enrolled_learner, lesson)
    again = start(enrolled_learner, lesson)
    assert again.status_code == 200 and result(again)["id"] == result(first)["id"]


class TestPrerequisites:
    def test_missing_prerequisites_are_listed(self, enrolled_learner, course):
        first, second, third, _ = lessons_of(course)
        third.eligibility_criteria = [str(first.id), str(second.id)]
        third.save(update_fields=["eligibility_criteria"])
        start_and_complete(enrolled_learner, first)
        response = start(enrolled_learner, third)
        assert response.status_code == 400 and err(response) == "ERR_PREREQUISITES_MISSING"
        assert result(response) == {"missing_lesson_ids": [str(second.id)]}
        assert str(second.id) in errmsg(response)

    def test_start_succeeds_once_prerequisites_are_completed(self, enrolled_learner, course):
        first, second, *_ = lessons_of(course)
        second.eligibility_criteria = str(first.id)  # a single id is accepted too
        second.save(update_fields=["eligibility_criteria"])
        assert start(enrolled_learner, second).status_code == 400
        start_and_complete(enrolled_learner, first)
        assert start(enrolled_learner, second).status_code == 201

    def test_a_prerequisite_completed_through_the_viewer_counts(self, enrolled_learner, course, tenant):
        first, second, *_ = lessons_of(course)
        second.eligibility_criteria = [str(first.id)]
        second.save(update_fields=["eligibility_criteria"])
        lesson_completion_record(
            tenant_id=tenant.id, user_id=enrolled_learner.user_id, course_id=course.id, batch_id=course.id,
            lesson_id=first.id,
        )
        assert start(enrolled_learner, second).status_code == 201

    def test_a_prerequisite_completed_in_another_course_does_not_count(self, enrolled_learner, course, tenant):
        first, second, *_ = lessons_of(course)
        second.eligibility_criteria = [str(first.id)]
        second.save(update_fields=["eligibility_criteria"])
        other_course = build_course(tenant=tenant, modules=1, lessons_per_module=1)
        PlacementFactory(module=other_course.modules.first(), course=other_course, tenant=tenant, lesson=first)
        enroll(other_course, enrolled_learner.user_id)
        start_and_complete(enrolled_learner, first, course_id=str(other_course.id))
        response = start(enrolled_learner, second)
        assert response.status_code == 400 and result(response)["missing_lesson_ids"] == [str(first.id)]

    def test_prerequisites_are_checked_before_resume(self, enrolled_learner, course, tenant):
        first, second, *_ = lessons_of(course)
        second.resume = True
        second.save(update_fields=["resume"])
        unfinished = start(enrolled_learner, second)
        assert unfinished.status_code == 201
        second.eligibility_criteria = [str(first.id)]
        second.save(update_fields=["eligibility_criteria"])
        response = start(enrolled_learner, second)
        assert response.status_code == 400 and err(response) == "ERR_PREREQUISITES_MISSING"


class TestCourseContext:
    def test_several_placements_need_course_id(self, enrolled_learner, course, tenant):
        lesson = lessons_of(course)[0]
        other_course = build_course(tenant=tenant, modules=1, lessons_per_module=0)
        PlacementFactory(module=other_course.modules.first(), course=other_course, tenant=tenant, lesson=lesson)
        response = start(enrolled_learner, lesson)
        assert response.status_code == 400 and err(response) == "ERR_COURSE_REQUIRED"
        assert sorted(result(response)["course_ids"]) == sorted([str(course.id), str(other_course.id)])
        assert "course_id" in errmsg(response)
        chosen = start(enrolled_learner, lesson, course_id=str(course.id))
        assert chosen.status_code == 201 and result(chosen)["course_id"] == str(course.id)

    def test_archived_placements_do_not_count(self, enrolled_learner, course, tenant):
        lesson = lessons_of(course)[0]
        other_course = build_course(tenant=tenant, modules=1, lessons_per_module=0)
        PlacementFactory(
            module=other_course.modules.first(), course=other_course, tenant=tenant, lesson=lesson, archived=True
        )
        assert start(enrolled_learner, lesson).status_code == 201

    def test_course_where_the_lesson_is_not_placed(self, enrolled_learner, course, tenant):
        other_course = build_course(tenant=tenant, modules=1, lessons_per_module=1)
        response = start(enrolled_learner, lessons_of(course)[0], course_id=str(other_course.id))
        assert response.status_code == 400 and err(response) == "ERR_NOT_PLACED"
        assert result(response)["course_ids"] == [str(course.id)]

    def test_lesson_placed_nowhere(self, enrolled_learner, tenant):
        lesson = LessonFactory(tenant=tenant)
        response = start(enrolled_learner, lesson)
        assert response.status_code == 400 and err(response) == "ERR_NOT_PLACED"

    def test_the_direct_enrollment_is_preferred_over_a_program_batch(self, learner_client, course):
        program_id = uuid.uuid4()
        enroll(course, learner_client.user_id, batch_id=program_id)
        assert result(start(learner_client, lessons_of(course)[0]))["batch_id"] == str(program_id)
        enroll(course, learner_client.user_id)
        assert result(start(learner_client, lessons_of(course)[1]))["batch_id"] == str(course.id)


class TestBadInput:
    def test_missing_lesson_id(self, enrolled_learner):
        response = enrolled_learner.post(LESSON_TRACKING, {}, format="json")
        assert response.status_code == 400 and err(response) == "ERR_VALIDATION"
        assert "lesson_id" in result(response)["errors"]

    def test_malformed_ids(self, enrolled_learner, course):
        response = enrolled_learner.post(
            LESSON_TRACKING, {"lesson_id": "nope", "course_id": "also-nope"}, format="json"
        )
        assert response.status_code == 400
        assert set(result(response)["errors"]) == {"lesson_id", "course_id"}

    def test_unknown_lesson(self, enrolled_learner):
        response = start(enrolled_learner, LessonFactory.build(id=uuid.uuid4()))
        assert response.status_code == 404 and err(response) == "ERR_NOT_FOUND"

    def test_archived_lesson_is_not_found(self, enrolled_learner, course, admin_client):
        lesson = lessons_of(course)[0]
        lesson_archive(lesson=lesson, updated_by=None)
        assert start(enrolled_learner, lesson).status_code == 404
        assert start(admin_client, lesson, user_id=str(enrolled_learner.user_id)).status_code == 404

    def test_not_enrolled(self, learner_client, course):
        response = start(learner_client, lessons_of(course)[0])
        assert response.status_code == 400 and err(response) == "ERR_NOT_ENROLLED"
        assert "enroll" in errmsg(response).lower()

    def test_inactive_enrollment_is_not_enrolled(self, learner_client, course):
        enroll(course, learner_client.user_id, active=False)
        response = start(learner_client, lessons_of(course)[0])
        assert response.status_code == 400 and err(response) == "ERR_NOT_ENROLLED"
        assert not LessonAttempt.objects.exists()


class TestPermissions:
    def test_anonymous_is_401(self, tenant, course):
        client = APIClient()
        response = client.post(
            LESSON_TRACKING, {"lesson_id": str(lessons_of(course)[0].id)}, format="json", HTTP_TENANTID=str(tenant.id)
        )
        assert response.status_code == 401

    def test_learner_may_not_start_for_another_user(self, enrolled_learner, course):
        someone = enroll(course).user_id
        response = start(enrolled_learner, lessons_of(course)[0], user_id=str(someone))
        assert response.status_code == 403 and err(response) == "ERR_FORBIDDEN"
        assert not LessonAttempt.objects.exists()

    def test_learner_may_name_themselves(self, enrolled_learner, course):
        response = start(enrolled_learner, lessons_of(course)[0], user_id=str(enrolled_learner.user_id))
        assert response.status_code == 201

    @pytest.mark.parametrize("staff", ["admin_client", "instructor_client"])
    def test_staff_start_for_an_enrolled_learner(self, staff, request, enrolled_learner, course):
        client = request.getfixturevalue(staff)
        response = start(client, lessons_of(course)[0], user_id=str(enrolled_learner.user_id))
        assert response.status_code == 201
        assert result(response)["user_id"] == str(enrolled_learner.user_id)

    def test_staff_may_not_start_for_an_unenrolled_user(self, admin_client, course):
        response = start(admin_client, lessons_of(course)[0], user_id=str(uuid.uuid4()))
        assert response.status_code == 400 and err(response) == "ERR_NOT_ENROLLED"

    def test_nobody_starts_an_attempt_on_an_unpublished_lesson(self, enrolled_learner, admin_client, course):
        # Progress needs released content for every role (DECISIONS §8); the learner cannot even see it.
        lesson = lessons_of(course)[0]
        lesson_set_status(lesson=lesson, status=ContentStatus.UNPUBLISHED, updated_by=None)
        assert start(enrolled_learner, lesson).status_code == 404
        by_staff = start(admin_client, lesson, user_id=str(enrolled_learner.user_id))
        assert by_staff.status_code == 400 and err(by_staff) == "ERR_CONTENT_NOT_IN_COURSE"
        assert "publish" in errmsg(by_staff)
        assert not LessonAttempt.objects.exists()


def test_another_tenant_cannot_see_the_lesson(other_admin_client, enrolled_learner, course):
    response = start(other_admin_client, lessons_of(course)[0], user_id=str(enrolled_learner.user_id))
    assert response.status_code == 404
    assert not LessonAttempt.objects.exists()


def test_a_lesson_only_in_an_unpublished_module_is_not_placed_for_learners(
    enrolled_learner, admin_client, course, tenant
):
    module = ModuleFactory(course=course, tenant=tenant, status=ContentStatus.UNPUBLISHED)
    placement = PlacementFactory(module=module, course=course, tenant=tenant)
    response = start(enrolled_learner, placement.lesson)
    assert response.status_code == 400 and err(response) == "ERR_NOT_PLACED"
    # Staff see the draft placement but may not record progress on it (DECISIONS §8).
    by_staff = start(admin_client, placement.lesson, user_id=str(enrolled_learner.user_id))
    assert by_staff.status_code == 400 and err(by_staff) == "ERR_CONTENT_NOT_IN_COURSE"
    assert not LessonAttempt.objects.exists()


@pytest.mark.parametrize("lessons_per_module", [2, 20])
def test_a_new_attempt_runs_a_constant_number_of_queries(learner_client, tenant, lessons_per_module,
                                                         django_assert_max_num_queries):
    course = build_course(tenant=tenant, modules=2, lessons_per_module=lessons_per_module)
    learner_client.enrollment = enroll(course, learner_client.user_id)
    lessons = lessons_of(course)
    LessonAttempt.objects.all().delete()
    update(learner_client, result(start(learner_client, lessons[0]))["id"], status="completed")

    if connection.vendor == "postgresql":
        # one statement: lesson, released placement, enrollment and track read; counter claimed within
        # the limit; consumption upsert; track access; enrollment state; attempt insert numbered
        expected = 1
    else:
        # SQLite, which has no data-modifying WITH: savepoint; lesson with its placements; enrollment;
        # consumption upsert; track access; counter claimed within the limit; attempt insert;
        # release savepoint
        expected = 8
    with django_assert_max_num_queries(expected):
        response = start(learner_client, lessons[0])

    assert response.status_code == 201 and result(response)["attempt"] == 2
