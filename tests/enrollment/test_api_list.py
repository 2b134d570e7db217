"""GET /enrollments: filters, course details, learner scoping, tenant isolation, pagination, query count."""

from __future__ import annotations

import uuid
import zoneinfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from enrollment import services
from enrollment.api.serializers import EnrollmentWithCourseOutputSerializer
from enrollment.models import Enrollment
from tests.enrollment.helpers import err, result
from tests.factories import CourseFactory, build_course

URL = "/enrollments"

pytestmark = pytest.mark.django_db

# A 1×1 GIF, enough for the image URL to exist.
_GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


def test_lists_enrollments_with_their_course_details(admin_client, course, enroll):
    course.image = SimpleUploadedFile("cover.gif", _GIF, content_type="image/gif")
    course.save()
    enrollment = enroll(course)

    response = admin_client.get(URL)

    assert response.status_code == 200
    assert response.json()["id"] == "api.enrollment.list"
    data = result(response)
    assert data["count"] == 1
    (row,) = data["enrollments"]
    assert row["id"] == str(enrollment.id)
    assert (row["course_id"], row["user_id"], row["tenantId"]) == (
        str(course.id), str(enrollment.user_id), str(course.tenant_id)
    )
    assert (row["title"], row["shortDescription"], row["description"]) == (
        course.title, course.short_description, course.description
    )
    assert row["image"].startswith("http://testserver/media/") and row["image"].endswith(".gif")
    assert row["active"] is True and row["state"] == 0


def test_course_without_image_lists_null_image(admin_client, course, enroll):
    enroll(course)

    (row,) = result(admin_client.get(URL))["enrollments"]

    assert row["image"] is None


def test_filters_by_user_and_by_course(admin_client, tenant, course, enroll):
    other_course = build_course(tenant=tenant, modules=1, lessons_per_module=1)
    learner_id = uuid.uuid4()
    mine = enroll(course, user_id=learner_id)
    mine_elsewhere = enroll(other_course, user_id=learner_id)
    enroll(course)

    by_user = result(admin_client.get(URL, {"user_id": str(learner_id)}))
    by_course = result(admin_client.get(URL, {"course_id": str(other_course.id)}))
    by_both = result(admin_client.get(URL, {"user_id": str(learner_id), "course_id": str(course.id)}))

    assert {row["id"] for row in by_user["enrollments"]} == {str(mine.id), str(mine_elsewhere.id)}
    assert [row["id"] for row in by_course["enrollments"]] == [str(mine_elsewhere.id)]
    assert [row["id"] for row in by_both["enrollments"]] == [str(mine.id)]


@pytest.mark.parametrize("param", ["user_id", "course_id"])
def test_garbage_filter_answers_400(admin_client, param):
    response = admin_client.get(URL, {param: "42"})

    assert response.status_code == 400
    assert param in result(response)["errors"]


def test_learner_sees_only_their_own_enrollments_including_pending(learner_client, course, approval_course, enroll):
    mine = enroll(course, user_id=learner_client.user_id)
    pending = enroll(approval_course, user_id=learner_client.user_id, active=False)
    enroll(course)

    data = result(learner_client.get(URL))

    assert data["count"] == 2
    assert {row["id"] for row in data["enrollments"]} == {str(mine.id), str(pending.id)}
    assert result(learner_client.get(URL, {"user_id": str(learner_client.user_id)}))["count"] == 2


def test_learner_naming_another_user_answers_403(learner_client, course, enroll):
    other = enroll(course)

    response = learner_client.get(URL, {"user_id": str(other.user_id)})

    assert response.status_code == 403
    assert err(response) == "ERR_FORBIDDEN"


def test_another_tenant_sees_nothing(other_admin_client, course, enroll):
    enroll(course)

    assert result(other_admin_client.get(URL)) == {"count": 0, "enrollments": []}
    assert result(other_admin_client.get(URL, {"course_id": str(course.id)}))["count"] == 0


def test_a_learner_of_another_tenant_sees_nothing(client_for, other_tenant, course, enroll):
    learner = client_for(other_tenant, "learner")
    enroll(course, user_id=learner.user_id)

    assert result(learner.get(URL))["count"] == 0


def test_pages_are_newest_first_and_do_not_overlap(admin_client, course, enroll):
    ids = [str(enroll(course).id) for _ in range(5)]

    first = result(admin_client.get(URL, {"page": 1, "limit": 2}))
    second = result(admin_client.get(URL, {"page": 2, "limit": 2}))
    third = result(admin_client.get(URL, {"page": 3, "limit": 2}))
    beyond = result(admin_client.get(URL, {"page": 4, "limit": 2}))

    assert first["count"] == second["count"] == 5
    listed = [row["id"] for page in (first, second, third) for row in page["enrollments"]]
    assert sorted(listed) == sorted(ids) and len(set(listed)) == 5
    assert [len(page["enrollments"]) for page in (first, second, third)] == [2, 2, 1]
    assert beyond["enrollments"] == [] and beyond["count"] == 5


@pytest.mark.parametrize(("param", "value"), [("page", "0"), ("page", "x"), ("limit", "0"), ("limit", "101")])
def test_bad_page_or_limit_answers_400(admin_client, param, value):
    response = admin_client.get(URL, {param: value})

    assert response.status_code == 400
    assert param in result(response)["errors"]


@pytest.mark.parametrize("size", [2, 20])
def test_query_count_does_not_grow_with_the_data(admin_client, tenant, enroll, django_assert_num_queries, size):
    courses = [CourseFactory(tenant=tenant) for _ in range(size)]
    for position in range(size):
        enroll(courses[position])
    admin_client.get(URL)  # resolves and caches the tenant

    with django_assert_num_queries(2):  # count of enrollments; the page joined with its courses
        response = admin_client.get(URL, {"limit": 100})

    assert result(response)["count"] == size
    assert {row["title"] for row in result(response)["enrollments"]} == {c.title for c in courses}


def test_rows_are_exactly_what_the_documented_serializer_renders(admin_client, course, enroll):
    # The list renders its rows with plain functions; the documented serializer remains the contract.
    course.image = SimpleUploadedFile("cover.gif", _GIF, content_type="image/gif")
    course.save()
    limited = enroll(course, params={"source": "import", "tags": ["a", "b"]})
    services.enrollment_update(
        enrollment=limited, updated_by=uuid.uuid4(), end_time=timezone.now().replace(microsecond=123456)
    )
    enroll(course, unlimited_plan=True, before_expiry_mail=True, active=False)

    with timezone.override(zoneinfo.ZoneInfo("UTC")):
        response = admin_client.get(URL)
        expected = EnrollmentWithCourseOutputSerializer(
            Enrollment.objects.select_related("course").order_by("-enrolled_at", "-id"),
            many=True,
            context={"request": response.wsgi_request},
        ).data

    rows = result(response)["enrollments"]
    assert [list(row) for row in rows] == [list(row) for row in expected]
    assert rows == [dict(row) for row in expected]
    assert any(row["end_time"] is None for row in rows) and any(row["updated_at"] for row in rows)


def test_datetimes_are_utc_whatever_the_active_time_zone(admin_client, course, enroll):
    enroll(course)
    with timezone.override(zoneinfo.ZoneInfo("Asia/Kolkata")):
        row = result(admin_client.get(URL))["enrollments"][0]
    assert row["enrolled_on_time"].endswith("Z")
