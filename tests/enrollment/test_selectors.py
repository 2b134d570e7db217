"""The enrollment page read in plain SQL returns exactly the rows the equivalent queryset returns."""

from __future__ import annotations

import uuid

import pytest

from enrollment.models import Enrollment
from enrollment.selectors import ENROLLMENT_VALUES, LISTED_COURSE_VALUES, enrollment_page
from tests.factories import CourseFactory

pytestmark = pytest.mark.django_db


def _values_page(*, offset: int, limit: int, **filters) -> list[dict]:
    return list(
        Enrollment.objects.filter(**filters)
        .order_by("-enrolled_at", "-id")
        .values(*ENROLLMENT_VALUES, *(f"course__{name}" for name in LISTED_COURSE_VALUES))[offset : offset + limit]
    )


def test_pages_match_the_queryset_with_ties_broken_by_id(tenant, course, enroll):
    enrollments = [enroll(course, params={"n": position}) for position in range(5)]
    # Enrollments made in the same instant: the id orders them, so pages neither overlap nor skip.
    Enrollment.objects.filter(pk__in=[e.pk for e in enrollments[:3]]).update(enrolled_at=enrollments[0].enrolled_at)

    for offset, limit in [(0, 2), (2, 2), (4, 2), (6, 2), (0, 100)]:
        total, rows = enrollment_page(tenant_id=tenant.id, offset=offset, limit=limit)
        assert total == 5
        assert rows == _values_page(tenant=tenant, offset=offset, limit=limit)
    assert isinstance(rows[0]["id"], uuid.UUID) and rows[0]["enrolled_at"].tzinfo is not None
    assert isinstance(rows[0]["params"], dict) and isinstance(rows[0]["active"], bool)


def test_filters_by_user_and_course_within_the_tenant(tenant, other_tenant, course, enroll):
    other_course = CourseFactory(tenant=tenant)
    learner_id = uuid.uuid4()
    enroll(course, user_id=learner_id)
    enroll(other_course, user_id=learner_id)
    enroll(other_course)
    enroll(CourseFactory(tenant=other_tenant), user_id=learner_id)

    for filters, expected_total in [
        ({"user_id": learner_id}, 2),
        ({"course_id": other_course.pk}, 2),
        ({"user_id": learner_id, "course_id": course.pk}, 1),
        ({"user_id": uuid.uuid4()}, 0),
    ]:
        total, rows = enrollment_page(tenant_id=tenant.id, offset=0, limit=20, **filters)
        assert total == expected_total
        assert rows == _values_page(tenant=tenant, offset=0, limit=20, **filters)
