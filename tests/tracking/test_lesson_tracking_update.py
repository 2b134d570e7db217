"""PUT /lessons/tracking/:id: progress, completion, finality and time_spent (DECISIONS §5)."""

from __future__ import annotations

import uuid

import pytest

from enrollment.models import Enrollment
from tests.tracking.helpers import LESSON_TRACKING, enroll, err, errmsg, lessons_of, result, start, update
from tracking.models import ConsumptionStatus, ContentConsumption, CourseTrack, LessonAttempt

pytestmark = pytest.mark.django_db


@pytest.fixture
def attempt_id(enrolled_learner, course):
    return result(start(enrolled_learner, lessons_of(course)[0]))["id"]


def test_progress_is_stored_and_updated_by_comes_from_the_token(enrolled_learner, attempt_id, course):
    response = update(
        enrolled_learner, attempt_id, score=40, total_content=10, current_position=4, time_spent=120,
        updatedBy=str(uuid.uuid4()), timeend="2020-01-01T00:00:00Z", attempt=9,
    )
    assert response.status_code == 200
    assert response.json()["id"] == "api.lesson.tracking.update"
    attempt = result(response)
    assert (attempt["status"], attempt["score"], attempt["current_position"], attempt["time_spent"]) == (
        "started", 40, 4, 120
    )
    assert attempt["attempt"] == 1 and attempt["timeend"] is None
    assert attempt["updatedBy"] == str(enrolled_learner.user_id) and attempt["updatedAt"]
    consumption = ContentConsumption.objects.get(content_id=lessons_of(course)[0].id)
    assert (consumption.status, consumption.progress) == (ConsumptionStatus.IN_PROGRESS, 40)


def test_status_completed_completes_and_recounts_the_track(enrolled_learner, attempt_id):
    response = update(enrolled_learner, attempt_id, status="completed", score=80)
    assert response.status_code == 200
    attempt = result(response)
    assert attempt["status"] == "completed" and attempt["timeend"] is not None
    track = CourseTrack.objects.get(enrollment=enrolled_learner.enrollment)
    assert (track.completed_lessons, track.no_of_lessons, track.status) == (1, 4, "in_progress")
    assert track.last_accessed_date is not None


def test_position_reaching_total_completes(enrolled_learner, attempt_id):
    attempt = result(update(enrolled_learner, attempt_id, total_content=5, current_position=5))
    assert attempt["status"] == "completed"
    assert CourseTrack.objects.get(enrollment=enrolled_learner.enrollment).completed_lessons == 1


def test_position_without_total_does_not_complete(enrolled_learner, attempt_id):
    attempt = result(update(enrolled_learner, attempt_id, total_content=0, current_position=0, status="incomplete"))
    assert attempt["status"] == "incomplete"
    assert CourseTrack.objects.get(enrollment=enrolled_learner.enrollment).completed_lessons == 0


def test_empty_body_completes_nothing(enrolled_learner, attempt_id):
    response = update(enrolled_learner, attempt_id)
    assert response.status_code == 200 and result(response)["status"] == "started"
    assert LessonAttempt.objects.get(pk=attempt_id).timeend is None


def test_a_completed_attempt_is_final(enrolled_learner, attempt_id):
    update(enrolled_learner, attempt_id, status="completed", score=50)
    for body in ({"score": 100}, {}, {"status": "started"}):
        response = update(enrolled_learner, attempt_id, **body)
        assert response.status_code == 409 and err(response) == "ERR_ATTEMPT_COMPLETED"
        assert "new attempt" in errmsg(response)
    assert LessonAttempt.objects.get(pk=attempt_id).score == 50


def test_time_spent_may_not_go_down(enrolled_learner, attempt_id):
    assert update(enrolled_learner, attempt_id, time_spent=300).status_code == 200
    assert update(enrolled_learner, attempt_id, time_spent=300).status_code == 200
    response = update(enrolled_learner, attempt_id, time_spent=299)
    assert response.status_code == 400 and err(response) == "ERR_TIME_SPENT_DECREASED"
    assert result(response)["errors"] == {"time_spent": ["Must be at least 300."]}
    assert LessonAttempt.objects.get(pk=attempt_id).time_spent == 300


def test_completing_every_lesson_completes_the_course(enrolled_learner, course):
    for lesson in lessons_of(course):
        update(enrolled_learner, result(start(enrolled_learner, lesson))["id"], status="completed")
    track = CourseTrack.objects.get(enrollment=enrolled_learner.enrollment)
    assert (track.completed_lessons, track.status) == (4, "completed") and track.timeend is not None
    assert Enrollment.objects.get(pk=enrolled_learner.enrollment.pk).state == 2


class TestBadInput:
    @pytest.mark.parametrize(
        "body, field",
        [
            ({"status": "done"}, "status"),
            ({"score": -1}, "score"),
            ({"score": "lots"}, "score"),
            ({"total_content": -3}, "total_content"),
            ({"current_position": 2**31}, "current_position"),
            ({"time_spent": "an hour"}, "time_spent"),
        ],
    )
    def test_field_errors(self, enrolled_learner, attempt_id, body, field):
        response = update(enrolled_learner, attempt_id, **body)
        assert response.status_code == 400 and err(response) == "ERR_VALIDATION"
        assert field in result(response)["errors"]
        assert LessonAttempt.objects.get(pk=attempt_id).status == "started"

    def test_score_above_total_marks(self, enrolled_learner, attempt_id, course):
        lesson = lessons_of(course)[0]
        lesson.total_marks = 50
        lesson.save(update_fields=["total_marks"])
        response = update(enrolled_learner, attempt_id, score=51, status="completed")
        assert response.status_code == 400 and "totalMarks" in errmsg(response)
        assert LessonAttempt.objects.get(pk=attempt_id).status == "started"

    def test_unknown_attempt(self, enrolled_learner):
        response = update(enrolled_learner, uuid.uuid4(), status="completed")
        assert response.status_code == 404 and err(response) == "ERR_NOT_FOUND"

    def test_malformed_id_is_a_json_404(self, enrolled_learner):
        response = enrolled_learner.put(f"{LESSON_TRACKING}/not-a-uuid", {}, format="json")
        assert response.status_code == 404 and response.json()["params"]["status"] == "failed"


class TestPermissions:
    def test_another_learner_of_the_tenant_is_forbidden(self, attempt_id, client_for, tenant, course):
        other = client_for(tenant, "learner")
        enroll(course, other.user_id)
        response = update(other, attempt_id, status="completed")
        assert response.status_code == 403 and err(response) == "ERR_FORBIDDEN"
        assert LessonAttempt.objects.get(pk=attempt_id).status == "started"

    @pytest.mark.parametrize("staff", ["admin_client", "instructor_client"])
    def test_staff_may_update_and_are_recorded(self, staff, request, attempt_id):
        client = request.getfixturevalue(staff)
        attempt = result(update(client, attempt_id, status="completed"))
        assert attempt["status"] == "completed" and attempt["updatedBy"] == str(client.user_id)

    def test_another_tenant_gets_404(self, attempt_id, other_admin_client):
        response = update(other_admin_client, attempt_id, status="completed")
        assert response.status_code == 404
        assert LessonAttempt.objects.get(pk=attempt_id).status == "started"


def test_a_deactivated_learner_can_no_longer_progress_or_complete(enrolled_learner, attempt_id, admin_client):
    enrollment = enrolled_learner.enrollment
    admin_client.delete(f"/enrollments/{enrollment.pk}")

    completing = update(enrolled_learner, attempt_id, status="completed")
    progressing = update(enrolled_learner, attempt_id, total_content=10, current_position=4)

    for response in (completing, progressing):
        assert response.status_code == 400
        assert err(response) == "ERR_NOT_ENROLLED"
        assert "active enrollment" in errmsg(response)
    attempt = LessonAttempt.objects.get(pk=attempt_id)
    assert (attempt.status, attempt.current_position) == ("started", 0)
    assert CourseTrack.objects.get(enrollment=enrollment).completed_lessons == 0

    admin_client.put(f"/enrollments/{enrollment.pk}", {"active": True}, format="json")

    assert result(update(enrolled_learner, attempt_id, status="completed"))["status"] == "completed"
    assert CourseTrack.objects.get(enrollment=enrollment).completed_lessons == 1


def test_staff_cannot_complete_the_attempt_of_a_pending_enrollment(admin_client, course):
    enrollment = enroll(course)
    attempt = result(start(admin_client, lessons_of(course)[0], user_id=str(enrollment.user_id)))
    Enrollment.objects.filter(pk=enrollment.pk).update(active=False)

    response = update(admin_client, attempt["id"], status="completed")

    assert (response.status_code, err(response)) == (400, "ERR_NOT_ENROLLED")
    assert LessonAttempt.objects.get(pk=attempt["id"]).status == "started"


# --- The hot path ------------------------------------------------------------------------------


@pytest.mark.postgres
def test_a_progress_report_is_one_statement_on_postgresql(enrolled_learner, attempt_id, course, django_assert_max_num_queries):
    # attempt update with every rule in its WHERE clause, consumption upsert and track access, as one WITH statement
    with django_assert_max_num_queries(1):
        response = update(enrolled_learner, attempt_id, total_content=10, current_position=3, time_spent=30)

    assert response.status_code == 200
    assert (result(response)["current_position"], result(response)["time_spent"]) == (3, 30)
    consumption = ContentConsumption.objects.get(content_id=lessons_of(course)[0].id)
    assert (consumption.status, consumption.progress) == (ConsumptionStatus.IN_PROGRESS, 30)
    track = CourseTrack.objects.get(enrollment=enrolled_learner.enrollment)
    assert track.last_accessed_date == LessonAttempt.objects.get(pk=attempt_id).updated_at


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"time_spent": 5}, "ERR_TIME_SPENT_DECREASED"),
        ({"score": 1000}, "ERR_VALIDATION"),
    ],
)
def test_a_report_breaking_a_rule_changes_nothing(enrolled_learner, attempt_id, course, body, code):
    Lesson = type(lessons_of(course)[0])
    Lesson.objects.filter(pk=lessons_of(course)[0].pk).update(total_marks=100)
    assert update(enrolled_learner, attempt_id, time_spent=60, current_position=2, total_content=10).status_code == 200

    response = update(enrolled_learner, attempt_id, current_position=7, **body)

    assert response.status_code == 400 and err(response) == code
    attempt = LessonAttempt.objects.get(pk=attempt_id)
    assert (attempt.current_position, attempt.time_spent) == (2, 60)
    assert ContentConsumption.objects.get(content_id=lessons_of(course)[0].id).progress == 20


def test_a_report_that_reaches_the_end_still_completes_and_recounts(enrolled_learner, attempt_id):
    assert update(enrolled_learner, attempt_id, total_content=4, current_position=1).status_code == 200

    attempt = result(update(enrolled_learner, attempt_id, current_position=4))

    assert attempt["status"] == "completed" and attempt["timeend"] is not None
    assert CourseTrack.objects.get(enrollment=enrolled_learner.enrollment).completed_lessons == 1


def test_a_position_near_the_integer_limit_is_a_percentage_not_an_overflow(enrolled_learner, attempt_id, course):
    # position x 100 passes 2^31: the percentage is worked out in 64 bits on every path
    response = update(enrolled_learner, attempt_id, total_content=2**31 - 1, current_position=2**30)

    assert response.status_code == 200 and result(response)["current_position"] == 2**30
    assert ContentConsumption.objects.get(content_id=lessons_of(course)[0].id).progress == 50


def test_a_completion_records_the_access_on_the_track_it_recounts(enrolled_learner, attempt_id):
    response = update(enrolled_learner, attempt_id, status="completed")

    attempt = LessonAttempt.objects.get(pk=attempt_id)
    track = CourseTrack.objects.get(enrollment=enrolled_learner.enrollment)
    assert response.status_code == 200 and attempt.timeend is not None
    assert (track.last_accessed_date, track.completed_lessons) == (attempt.timeend, 1)
