"""POST /enrollments without user_id (DECISIONS §8): a learner enrolls themselves; staff must name the user."""

from __future__ import annotations

import uuid

import pytest

from enrollment.models import Enrollment
from tests.enrollment.helpers import err, errmsg, result

URL = "/enrollments"

pytestmark = pytest.mark.django_db


def test_a_learner_leaving_out_user_id_enrolls_themselves(learner_client, auto_enroll_course):
    response = learner_client.post(URL, {"course_id": str(auto_enroll_course.id)})

    assert response.status_code == 201, response.content
    assert result(response)["user_id"] == str(learner_client.user_id)
    assert result(response)["enrolled_by"] == str(learner_client.user_id)
    enrollment = Enrollment.objects.get()
    assert (enrollment.user_id, enrollment.active) == (learner_client.user_id, True)


def test_a_learner_leaving_out_user_id_still_waits_for_approval(learner_client, approval_course):
    response = learner_client.post(URL, {"course_id": str(approval_course.id)})

    assert response.status_code == 201
    assert (result(response)["user_id"], result(response)["active"]) == (str(learner_client.user_id), False)


def test_a_learner_leaving_out_user_id_follows_the_course_rules(learner_client, course):
    # `course` has neither autoEnroll nor adminApproval: only staff enroll into it.
    response = learner_client.post(URL, {"course_id": str(course.id)})

    assert response.status_code == 403
    assert not Enrollment.objects.exists()


@pytest.mark.parametrize("client_fixture", ["admin_client", "instructor_client"])
def test_staff_leaving_out_user_id_is_told_to_name_the_user(request, client_fixture, course):
    client = request.getfixturevalue(client_fixture)

    response = client.post(URL, {"course_id": str(course.id)})

    assert response.status_code == 400
    assert err(response) == "ERR_VALIDATION"
    assert errmsg(response).startswith("user_id: Admins and instructors must name the user to enroll")
    assert list(result(response)["errors"]) == ["user_id"]
    assert not Enrollment.objects.exists()


def test_a_learner_naming_someone_else_is_still_403(learner_client, auto_enroll_course):
    response = learner_client.post(URL, {"course_id": str(auto_enroll_course.id), "user_id": str(uuid.uuid4())})

    assert response.status_code == 403
    assert not Enrollment.objects.exists()


def test_the_schema_documents_user_id_as_optional(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    component = schema["components"]["schemas"]["EnrollmentCreateInputRequest"]

    assert "user_id" in component["properties"]
    assert component["required"] == ["course_id"]
