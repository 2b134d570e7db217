"""POST /enrollments: who may enroll whom, the self-enrollment rules, duplicates, the course track."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from enrollment.models import Enrollment
from lms.models import Tenant
from tests.enrollment.helpers import err, errmsg, result
from tests.factories import build_course
from tracking.consumption import consumption_record_completion
from tracking.models import CourseTrack, CourseTrackStatus

URL = "/enrollments"

pytestmark = pytest.mark.django_db


def test_staff_enrolls_a_learner_with_the_documented_fields(admin_client, course):
    learner_id = uuid.uuid4()
    response = admin_client.post(URL, {"course_id": str(course.id), "user_id": str(learner_id), "params": {"a": 1}})

    assert response.status_code == 201
    body = response.json()
    assert (body["id"], body["responseCode"], body["params"]["status"]) == ("api.enrollment.create", 201, "successful")
    data = body["result"]
    assert data["course_id"] == str(course.id)
    assert data["user_id"] == str(learner_id)
    assert data["tenantId"] == str(course.tenant_id)
    assert data["batch_id"] == str(course.id)
    assert data["enrolled_by"] == str(admin_client.user_id)
    assert (data["state"], data["active"], data["unlimited_plan"]) == (0, True, False)
    assert (data["before_expiry_mail"], data["after_expiry_mail"], data["params"]) == (False, False, {"a": 1})
    assert dt.datetime.fromisoformat(data["end_time"]) == course.end_datetime


def test_enrolling_creates_the_course_track_with_the_lessons_counted(instructor_client, course):
    response = instructor_client.post(URL, {"course_id": str(course.id), "user_id": str(uuid.uuid4())})

    assert response.status_code == 201
    track = CourseTrack.objects.get(enrollment_id=result(response)["id"])
    assert (track.no_of_lessons, track.completed_lessons, track.status) == (4, 0, CourseTrackStatus.NOT_STARTED)
    assert track.timestart is not None and track.batch_id == course.id


def test_unlimited_plan_has_no_end_time(admin_client, course):
    response = admin_client.post(
        URL, {"course_id": str(course.id), "user_id": str(uuid.uuid4()), "unlimited_plan": True}
    )

    assert response.status_code == 201
    assert (result(response)["unlimited_plan"], result(response)["end_time"]) == (True, None)


def test_end_time_is_a_snapshot_that_later_course_edits_do_not_move(admin_client, course):
    response = admin_client.post(URL, {"course_id": str(course.id), "user_id": str(uuid.uuid4())})
    original_end = course.end_datetime
    course.end_datetime = original_end + dt.timedelta(days=30)
    course.save(update_fields=["end_datetime"])

    assert Enrollment.objects.get(pk=result(response)["id"]).end_time == original_end


def test_enrolled_by_comes_from_the_token_not_the_body(admin_client, course):
    response = admin_client.post(
        URL, {"course_id": str(course.id), "user_id": str(uuid.uuid4()), "enrolled_by": str(uuid.uuid4())}
    )

    assert result(response)["enrolled_by"] == str(admin_client.user_id)


def test_staff_may_record_that_the_reminder_mails_went_out(admin_client, course):
    response = admin_client.post(
        URL,
        {"course_id": str(course.id), "user_id": str(uuid.uuid4()), "before_expiry_mail": True, "after_expiry_mail": True},
    )

    assert (result(response)["before_expiry_mail"], result(response)["after_expiry_mail"]) == (True, True)


def test_staff_enrolls_into_an_unpublished_course(admin_client, unpublished_course):
    response = admin_client.post(URL, {"course_id": str(unpublished_course.id), "user_id": str(uuid.uuid4())})

    assert response.status_code == 201


def test_enrolling_twice_answers_409_with_the_existing_id(admin_client, course):
    body = {"course_id": str(course.id), "user_id": str(uuid.uuid4())}
    first = admin_client.post(URL, body)
    second = admin_client.post(URL, body)

    assert second.status_code == 409
    assert err(second) == "ERR_ALREADY_ENROLLED"
    assert result(second) == {"id": result(first)["id"]}
    assert Enrollment.objects.count() == 1 and CourseTrack.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"user_id": "00000000-0000-0000-0000-000000000001"}, "course_id"),
        ({"course_id": "not-a-uuid", "user_id": "00000000-0000-0000-0000-000000000001"}, "course_id"),
        ({"course_id": "COURSE"}, "user_id"),
        ({"course_id": "COURSE", "user_id": "00000000-0000-0000-0000-000000000001", "params": [1]}, "params"),
        ({"course_id": "COURSE", "user_id": "00000000-0000-0000-0000-000000000001", "unlimited_plan": "maybe"},
         "unlimited_plan"),
    ],
)
def test_bad_input_answers_400_naming_the_field(admin_client, course, body, field):
    body = {key: str(course.id) if value == "COURSE" else value for key, value in body.items()}
    response = admin_client.post(URL, body)

    assert response.status_code == 400
    assert err(response) == "ERR_VALIDATION"
    assert field in result(response)["errors"]
    assert errmsg(response).startswith(field)


def test_unknown_course_answers_404(admin_client):
    response = admin_client.post(URL, {"course_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4())})

    assert response.status_code == 404
    assert err(response) == "ERR_COURSE_NOT_FOUND"


def test_archived_course_answers_404(admin_client, archived_course):
    response = admin_client.post(URL, {"course_id": str(archived_course.id), "user_id": str(uuid.uuid4())})

    assert response.status_code == 404


def test_another_tenants_course_answers_404(other_admin_client, course):
    response = other_admin_client.post(URL, {"course_id": str(course.id), "user_id": str(uuid.uuid4())})

    assert response.status_code == 404
    assert not Enrollment.objects.exists()


def test_a_learner_of_another_tenant_gets_404_for_this_tenants_course(client_for, other_tenant, auto_enroll_course):
    learner = client_for(other_tenant, "learner")

    response = learner.post(URL, {"course_id": str(auto_enroll_course.id), "user_id": str(learner.user_id)})

    assert response.status_code == 404
    assert not Enrollment.objects.exists()


def test_a_learner_naming_another_tenant_in_the_header_gets_403(client_for, other_tenant, tenant, auto_enroll_course):
    learner = client_for(other_tenant, "learner")
    learner.credentials(HTTP_AUTHORIZATION=learner._credentials["HTTP_AUTHORIZATION"], HTTP_TENANTID=str(tenant.id))

    response = learner.post(URL, {"course_id": str(auto_enroll_course.id), "user_id": str(learner.user_id)})

    assert response.status_code == 403
    assert err(response) == "ERR_TENANT_MISMATCH"


def test_without_a_token_answers_401(client, course):
    response = client.post(URL, {"course_id": str(course.id), "user_id": str(uuid.uuid4())}, content_type="application/json")

    assert response.status_code == 401


class TestLearnerSelfEnrollment:
    def test_auto_enroll_course_enrolls_active(self, learner_client, auto_enroll_course):
        response = learner_client.post(
            URL, {"course_id": str(auto_enroll_course.id), "user_id": str(learner_client.user_id)}
        )

        assert response.status_code == 201
        assert result(response)["active"] is True
        assert result(response)["enrolled_by"] == str(learner_client.user_id)
        assert CourseTrack.objects.get(enrollment_id=result(response)["id"]).no_of_lessons == 3

    def test_admin_approval_course_enrolls_inactive(self, learner_client, approval_course):
        response = learner_client.post(
            URL, {"course_id": str(approval_course.id), "user_id": str(learner_client.user_id)}
        )

        assert response.status_code == 201
        assert result(response)["active"] is False

    def test_approval_wins_when_both_flags_are_set(self, learner_client, tenant):
        both = build_course(tenant=tenant, modules=1, lessons_per_module=1, auto_enroll=True, admin_approval=True)
        response = learner_client.post(URL, {"course_id": str(both.id), "user_id": str(learner_client.user_id)})

        assert result(response)["active"] is False

    def test_course_without_self_enrollment_answers_403(self, learner_client, course):
        response = learner_client.post(URL, {"course_id": str(course.id), "user_id": str(learner_client.user_id)})

        assert response.status_code == 403
        assert err(response) == "ERR_ENROLLMENT_CLOSED"
        assert "ask an admin or instructor" in errmsg(response)
        assert not Enrollment.objects.exists()

    def test_unpublished_course_answers_404(self, learner_client, unpublished_course):
        response = learner_client.post(
            URL, {"course_id": str(unpublished_course.id), "user_id": str(learner_client.user_id)}
        )

        assert response.status_code == 404

    def test_ended_course_answers_403(self, learner_client, tenant):
        ended = build_course(
            tenant=tenant, modules=1, lessons_per_module=1, auto_enroll=True,
            start_datetime=timezone.now() - dt.timedelta(days=30), end_datetime=timezone.now() - dt.timedelta(days=1),
        )
        response = learner_client.post(URL, {"course_id": str(ended.id), "user_id": str(learner_client.user_id)})

        assert response.status_code == 403
        assert err(response) == "ERR_COURSE_ENDED"

    def test_enrolling_someone_else_answers_403(self, learner_client, auto_enroll_course):
        response = learner_client.post(URL, {"course_id": str(auto_enroll_course.id), "user_id": str(uuid.uuid4())})

        assert response.status_code == 403
        assert "only enroll themselves" in errmsg(response)

    @pytest.mark.parametrize("flag", ["unlimited_plan", "before_expiry_mail", "after_expiry_mail"])
    def test_staff_only_flags_answer_403(self, learner_client, auto_enroll_course, flag):
        response = learner_client.post(
            URL, {"course_id": str(auto_enroll_course.id), "user_id": str(learner_client.user_id), flag: True}
        )

        assert response.status_code == 403
        assert flag in errmsg(response)

    def test_false_staff_only_flags_are_accepted(self, learner_client, auto_enroll_course):
        response = learner_client.post(
            URL,
            {
                "course_id": str(auto_enroll_course.id), "user_id": str(learner_client.user_id),
                "unlimited_plan": False, "before_expiry_mail": False, "after_expiry_mail": False,
            },
        )

        assert response.status_code == 201

    def test_duplicate_self_enrollment_answers_409_with_the_id(self, learner_client, approval_course):
        body = {"course_id": str(approval_course.id), "user_id": str(learner_client.user_id)}
        first = learner_client.post(URL, body)
        second = learner_client.post(URL, body)

        assert second.status_code == 409
        assert result(second)["id"] == result(first)["id"]


def test_response_state_follows_a_track_completed_at_creation(admin_client, tenant):
    # With carry-forward, content completed standalone counts from the first moment, so the
    # track (and the enrollment's state) may be completed by the time the response is written.
    tenant.carry_forward = Tenant.CarryForward.CARRY
    tenant.save(update_fields=["carry_forward"])
    course = build_course(tenant=tenant, modules=1, lessons_per_module=1)
    learner_id = uuid.uuid4()
    lesson_id = course.placements.values_list("lesson_id", flat=True).get()
    consumption_record_completion(
        user_id=learner_id, tenant_id=tenant.id, collection_id=lesson_id, batch_id=lesson_id, content_id=lesson_id,
        now=timezone.now(),
    )

    response = admin_client.post(URL, {"course_id": str(course.id), "user_id": str(learner_id)})

    assert response.status_code == 201, response.json()
    assert result(response)["state"] == 2
    assert Enrollment.objects.get(pk=result(response)["id"]).state == 2
