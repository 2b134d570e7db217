"""DELETE /enrollments/:id: deactivation keeps history; hard delete only before any progress."""

from __future__ import annotations

import uuid

import pytest

from enrollment.models import Enrollment
from tests.enrollment.helpers import err, errmsg, result
from tracking.models import ContentConsumption, CourseTrack
from tracking.services import lesson_completion_record

pytestmark = pytest.mark.django_db


def url(enrollment, **query) -> str:
    suffix = "".join(f"?{key}={value}" for key, value in query.items())
    return f"/enrollments/{enrollment.pk}{suffix}"


def complete_first_lesson(enrollment):
    lesson_id = enrollment.course.placements.order_by("ordering").values_list("lesson_id", flat=True).first()
    lesson_completion_record(
        tenant_id=enrollment.tenant_id, user_id=enrollment.user_id, course_id=enrollment.course_id,
        batch_id=enrollment.batch_id, lesson_id=lesson_id,
    )


def test_delete_deactivates_and_keeps_the_tracking_history(admin_client, course, enroll):
    enrollment = enroll(course)
    complete_first_lesson(enrollment)

    response = admin_client.delete(url(enrollment))

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["result"]) == ("api.enrollment.delete", None)
    enrollment.refresh_from_db()
    assert (enrollment.active, enrollment.updated_by) == (False, admin_client.user_id)
    track = CourseTrack.objects.get(enrollment=enrollment)
    assert track.completed_lessons == 1
    assert ContentConsumption.objects.filter(user_id=enrollment.user_id).count() == 1


def test_deleting_twice_is_harmless(admin_client, course, enroll):
    enrollment = enroll(course)

    assert admin_client.delete(url(enrollment)).status_code == 200
    assert admin_client.delete(url(enrollment)).status_code == 200
    assert Enrollment.objects.get(pk=enrollment.pk).active is False


def test_learner_leaves_their_own_course(learner_client, auto_enroll_course, enroll):
    enrollment = enroll(auto_enroll_course, user_id=learner_client.user_id)

    response = learner_client.delete(url(enrollment))

    assert response.status_code == 200
    assert Enrollment.objects.get(pk=enrollment.pk).active is False


def test_learner_cannot_see_someone_elses_enrollment(learner_client, course, enroll):
    enrollment = enroll(course)

    response = learner_client.delete(url(enrollment))

    assert response.status_code == 404
    assert Enrollment.objects.get(pk=enrollment.pk).active is True


def test_learner_may_not_hard_delete(learner_client, course, enroll):
    enrollment = enroll(course, user_id=learner_client.user_id)

    response = learner_client.delete(url(enrollment, hard="true"))

    assert response.status_code == 403
    assert "leave out hard=true" in errmsg(response)
    assert Enrollment.objects.filter(pk=enrollment.pk).exists()


def test_staff_hard_deletes_a_never_started_enrollment_with_its_empty_track(admin_client, course, enroll):
    enrollment = enroll(course)

    response = admin_client.delete(url(enrollment, hard="true"))

    assert response.status_code == 200
    assert not Enrollment.objects.filter(pk=enrollment.pk).exists()
    assert not CourseTrack.objects.filter(enrollment_id=enrollment.pk).exists()


def test_hard_delete_of_a_started_enrollment_answers_409_and_keeps_everything(admin_client, course, enroll):
    enrollment = enroll(course)
    complete_first_lesson(enrollment)

    response = admin_client.delete(url(enrollment, hard="true"))

    assert response.status_code == 409
    assert err(response) == "ERR_ENROLLMENT_HAS_PROGRESS"
    assert "without hard=true to deactivate" in errmsg(response)
    assert result(response) == {"id": str(enrollment.pk), "state": 1}
    assert Enrollment.objects.get(pk=enrollment.pk).active is True
    assert CourseTrack.objects.filter(enrollment_id=enrollment.pk).exists()


def test_hard_false_deactivates(admin_client, course, enroll):
    enrollment = enroll(course)

    assert admin_client.delete(url(enrollment, hard="false")).status_code == 200
    assert Enrollment.objects.get(pk=enrollment.pk).active is False


def test_bad_hard_value_answers_400(admin_client, course, enroll):
    enrollment = enroll(course)

    response = admin_client.delete(url(enrollment, hard="perhaps"))

    assert response.status_code == 400
    assert "hard" in result(response)["errors"]


def test_another_tenants_admin_gets_404(other_admin_client, course, enroll):
    enrollment = enroll(course)

    assert other_admin_client.delete(url(enrollment)).status_code == 404
    assert other_admin_client.delete(url(enrollment, hard="true")).status_code == 404
    assert Enrollment.objects.get(pk=enrollment.pk).active is True


def test_a_learner_of_another_tenant_gets_404(client_for, other_tenant, course, enroll):
    learner = client_for(other_tenant, "learner")
    enrollment = enroll(course, user_id=learner.user_id)

    assert learner.delete(url(enrollment)).status_code == 404


def test_unknown_id_answers_404(admin_client):
    assert admin_client.delete(f"/enrollments/{uuid.uuid4()}").status_code == 404
