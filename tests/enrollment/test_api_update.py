"""PUT /enrollments/:id: what staff may change, immutable fields, approval, permissions, tenants."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from enrollment.models import Enrollment
from tests.enrollment.helpers import err, errmsg, result

pytestmark = pytest.mark.django_db


def url(enrollment) -> str:
    return f"/enrollments/{enrollment.pk}"


def test_staff_updates_the_changeable_fields(admin_client, course, enroll):
    enrollment = enroll(course)
    new_end = (timezone.now() + dt.timedelta(days=10)).replace(microsecond=0)

    response = admin_client.put(
        url(enrollment),
        {"end_time": new_end.isoformat(), "params": {"cohort": "b"}, "before_expiry_mail": True},
    )

    assert response.status_code == 200
    assert response.json()["id"] == "api.enrollment.update"
    data = result(response)
    assert dt.datetime.fromisoformat(data["end_time"]) == new_end
    assert (data["params"], data["before_expiry_mail"], data["after_expiry_mail"]) == ({"cohort": "b"}, True, False)
    assert data["updated_by"] == str(admin_client.user_id) and data["updated_at"] is not None
    enrollment.refresh_from_db()
    assert (enrollment.end_time, enrollment.updated_by) == (new_end, admin_client.user_id)


def test_staff_approves_a_pending_enrollment(instructor_client, approval_course, enroll):
    enrollment = enroll(approval_course, active=False)

    response = instructor_client.put(url(enrollment), {"active": True})

    assert result(response)["active"] is True
    assert Enrollment.objects.get(pk=enrollment.pk).active is True


def test_moving_the_end_re_arms_the_reminder_mails(admin_client, course, enroll):
    enrollment = enroll(course, before_expiry_mail=True, after_expiry_mail=True)

    response = admin_client.put(url(enrollment), {"end_time": (course.end_datetime + dt.timedelta(days=30)).isoformat()})

    assert (result(response)["before_expiry_mail"], result(response)["after_expiry_mail"]) == (False, False)


def test_unlimited_plan_clears_the_end_and_limited_snapshots_the_course_end(admin_client, course, enroll):
    enrollment = enroll(course)

    unlimited = result(admin_client.put(url(enrollment), {"unlimited_plan": True}))
    limited = result(admin_client.put(url(enrollment), {"unlimited_plan": False}))

    assert (unlimited["unlimited_plan"], unlimited["end_time"]) == (True, None)
    assert limited["unlimited_plan"] is False
    assert dt.datetime.fromisoformat(limited["end_time"]) == course.end_datetime


def test_echoing_the_whole_record_is_accepted(admin_client, course, enroll):
    enrollment = enroll(course)
    record = result(admin_client.get("/enrollments"))["enrollments"][0]
    body = {key: record[key] for key in (
        "course_id", "user_id", "end_time", "state", "unlimited_plan", "before_expiry_mail", "after_expiry_mail",
        "params", "enrolled_by",
    )}  # fmt: skip

    response = admin_client.put(url(enrollment), body)

    assert response.status_code == 200
    assert result(response)["updated_at"] is None  # nothing changed


def test_enrolled_by_in_the_body_is_ignored(admin_client, course, enroll):
    enrollment = enroll(course)

    response = admin_client.put(url(enrollment), {"enrolled_by": str(uuid.uuid4())})

    assert result(response)["enrolled_by"] == str(enrollment.enrolled_by)


@pytest.mark.parametrize(
    ("body", "field", "hint"),
    [
        ({"course_id": str(uuid.uuid4())}, "course_id", "cannot move to another course"),
        ({"user_id": str(uuid.uuid4())}, "user_id", "cannot move to another user"),
        ({"state": 2}, "state", "PUT /courses/tracking/:id"),
        ({"end_time": "2031-01-01T00:00:00"}, "end_time", "timezone"),
        ({"end_time": "next tuesday"}, "end_time", "format"),
        ({"end_time": None}, "end_time", "unlimited_plan true"),
        ({"unlimited_plan": True, "end_time": "2031-01-01T00:00:00Z"}, "end_time", "unlimited_plan false"),
        ({"params": "not json"}, "params", "JSON object"),
        ({"active": "perhaps"}, "active", "boolean"),
    ],
)
def test_bad_input_answers_400_with_an_actionable_message(admin_client, course, enroll, body, field, hint):
    enrollment = enroll(course)

    response = admin_client.put(url(enrollment), body)

    assert response.status_code == 400
    assert field in result(response)["errors"]
    assert hint in errmsg(response)
    assert Enrollment.objects.get(pk=enrollment.pk).updated_at is None


def test_learner_may_not_update_even_their_own(learner_client, course, enroll):
    enrollment = enroll(course, user_id=learner_client.user_id)

    response = learner_client.put(url(enrollment), {"active": True, "unlimited_plan": True})

    assert response.status_code == 403
    assert "Only admins and instructors" in errmsg(response)


def test_another_tenants_admin_gets_404(other_admin_client, course, enroll):
    enrollment = enroll(course)

    response = other_admin_client.put(url(enrollment), {"active": False})

    assert response.status_code == 404
    assert err(response) == "ERR_NOT_FOUND"
    assert Enrollment.objects.get(pk=enrollment.pk).active is True


def test_unknown_or_malformed_id_answers_404(admin_client):
    assert admin_client.put(f"/enrollments/{uuid.uuid4()}", {"active": True}).status_code == 404
    assert admin_client.put("/enrollments/not-a-uuid", {"active": True}).status_code == 404
