"""POST /enrollments/bulk: enrolling a class in one call, in one transaction, in constant queries."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection

from enrollment.models import Enrollment
from tests.enrollment.helpers import err, errmsg, result
from tests.factories import build_course
from tracking.models import CourseTrack, CourseTrackStatus

URL = "/enrollments/bulk"

pytestmark = pytest.mark.django_db


def ids(count: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(count)]


def test_staff_enroll_a_class_with_a_track_each(admin_client, course):
    users = ids(3)

    response = admin_client.post(URL, {"course_id": str(course.id), "user_ids": users})

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["id"], body["params"]["status"]) == ("api.enrollment.bulk", "successful")
    data = result(response)
    assert [item["user_id"] for item in data["created"]] == users
    assert (data["existing"], data["invalid"]) == ([], [])
    enrollments = {str(e.user_id): e for e in Enrollment.objects.all()}
    assert {item["id"] for item in data["created"]} == {str(e.pk) for e in enrollments.values()}
    assert {(e.batch_id, e.enrolled_by, e.active) for e in enrollments.values()} == {
        (course.id, admin_client.user_id, True)
    }
    tracks = CourseTrack.objects.all()
    assert sorted((t.no_of_lessons, t.status) for t in tracks) == [(4, CourseTrackStatus.NOT_STARTED)] * 3


def test_instructors_may_and_a_batch_is_honoured(instructor_client, course):
    batch_id = str(uuid.uuid4())

    response = instructor_client.post(URL, {"course_id": str(course.id), "batch_id": batch_id, "user_ids": ids(2)})

    assert response.status_code == 200
    assert {str(e.batch_id) for e in Enrollment.objects.all()} == {batch_id}


def test_duplicates_in_the_list_count_once_and_existing_enrollments_are_reported(admin_client, course, enroll):
    already = enroll(course)
    newcomer = str(uuid.uuid4())

    response = admin_client.post(
        URL, {"course_id": str(course.id), "user_ids": [newcomer, str(already.user_id), newcomer, str(already.user_id)]}
    )

    data = result(response)
    assert [item["user_id"] for item in data["created"]] == [newcomer]
    assert data["existing"] == [{"user_id": str(already.user_id), "id": str(already.pk)}]
    assert data["invalid"] == []
    assert Enrollment.objects.count() == 2 and CourseTrack.objects.count() == 2


def test_entries_that_are_not_uuid_strings_are_reported_and_the_rest_enrolled(admin_client, course):
    good = str(uuid.uuid4())

    response = admin_client.post(URL, {"course_id": str(course.id), "user_ids": [good, "alice@example.org", 12345, None]})

    assert response.status_code == 200
    data = result(response)
    assert [item["user_id"] for item in data["created"]] == [good]
    assert [(item["index"], item["value"]) for item in data["invalid"]] == [(1, "alice@example.org"), (2, 12345), (3, None)]
    assert "UUID" in data["invalid"][0]["reason"] and "number" in data["invalid"][1]["reason"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"user_ids": ["x"]}, "course_id"),
        ({"course_id": "nope", "user_ids": ["x"]}, "course_id"),
        ({"course_id": "{course}"}, "user_ids"),
        ({"course_id": "{course}", "user_ids": []}, "user_ids"),
        ({"course_id": "{course}", "user_ids": "a,b"}, "user_ids"),
        ({"course_id": "{course}", "batch_id": 5, "user_ids": ["x"]}, "batch_id"),
    ],
)
def test_bad_bodies_are_400_naming_the_field(admin_client, course, body, field):
    body = {name: value.replace("{course}", str(course.id)) if isinstance(value, str) else value for name, value in body.items()}

    response = admin_client.post(URL, body)

    assert response.status_code == 400
    assert field in result(response)["errors"] and errmsg(response)
    assert not Enrollment.objects.exists()


def test_more_than_a_thousand_ids_is_400(admin_client, course):
    response = admin_client.post(URL, {"course_id": str(course.id), "user_ids": ids(1001)})

    assert response.status_code == 400
    assert "At most 1000" in result(response)["errors"]["user_ids"][0]
    assert not Enrollment.objects.exists()


def test_a_course_of_another_tenant_is_404(other_admin_client, course):
    response = other_admin_client.post(URL, {"course_id": str(course.id), "user_ids": ids(1)})

    assert response.status_code == 404
    assert err(response) == "ERR_COURSE_NOT_FOUND"
    assert not Enrollment.objects.exists()


def test_an_archived_course_is_404(admin_client, archived_course):
    response = admin_client.post(URL, {"course_id": str(archived_course.id), "user_ids": ids(1)})

    assert response.status_code == 404


def test_learners_are_refused(learner_client, course):
    response = learner_client.post(URL, {"course_id": str(course.id), "user_ids": [str(learner_client.user_id)]})

    assert response.status_code == 403
    assert "POST /enrollments" in errmsg(response)
    assert not Enrollment.objects.exists()


def test_a_form_body_is_415(admin_client, course):
    response = admin_client.post(URL, {"course_id": str(course.id), "user_ids": ids(1)}, format="multipart")

    assert response.status_code == 415


@pytest.mark.parametrize("size", [10, 300])
def test_queries_do_not_grow_with_the_number_of_ids(admin_client, tenant, enroll, django_assert_num_queries, size):
    course = build_course(tenant=tenant, modules=2, lessons_per_module=2)
    existing = [enroll(course) for _ in range(2)]
    admin_client.post(URL, {"course_id": str(course.id), "user_ids": ids(1)})  # resolves and caches the tenant
    users = ids(size) + [str(e.user_id) for e in existing]
    # The service's and the tracks' atomic blocks run inside the test's transaction: a savepoint each, and its release.
    savepoints = 4 if connection.features.uses_savepoints else 0

    # course; INSERT of the enrollments (conflicts skipped, new ids returned); SELECT of those already
    # there; count of the course's lessons; the tenant's carry-forward policy; INSERT of the tracks;
    # SELECT of the new enrollments' states.
    with django_assert_num_queries(7 + savepoints):
        response = admin_client.post(URL, {"course_id": str(course.id), "user_ids": users})

    assert len(result(response)["created"]) == size and len(result(response)["existing"]) == 2
    assert CourseTrack.objects.filter(course=course).count() == size + 3
