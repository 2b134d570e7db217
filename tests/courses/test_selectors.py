"""The course row read in plain SQL is exactly the `.values()` row, with the same visibility."""

from __future__ import annotations

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from courses import selectors
from courses.models import ContentStatus, Course
from tests.factories import CourseFactory

pytestmark = pytest.mark.django_db

_GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


@pytest.mark.parametrize("learner", [True, False])
def test_course_row_is_the_values_row(tenant, learner):
    course = CourseFactory(
        tenant=tenant,
        params={"level": "beginner", "tags": ["a"]},
        featured=True,
        created_by=uuid.uuid4(),
        image=SimpleUploadedFile("cover.gif", _GIF, content_type="image/gif"),
    )

    row = selectors.course_row(tenant_id=tenant.id, course_id=course.pk, learner=learner)

    assert row == Course.objects.filter(pk=course.pk).values(*selectors.COURSE_VALUES).get()
    assert list(row) == list(selectors.COURSE_VALUES)
    assert isinstance(row["id"], uuid.UUID) and isinstance(row["tenant_id"], uuid.UUID)
    assert row["created_at"].tzinfo is not None and row["updated_by"] is None
    assert row["params"] == {"level": "beginner", "tags": ["a"]} and row["featured"] is True


@pytest.mark.parametrize(
    ("status", "learner", "visible"),
    [
        (ContentStatus.PUBLISHED, True, True),
        (ContentStatus.PUBLISHED, False, True),
        (ContentStatus.UNPUBLISHED, True, False),
        (ContentStatus.UNPUBLISHED, False, True),
        (ContentStatus.ARCHIVED, True, False),
        (ContentStatus.ARCHIVED, False, False),
    ],
)
def test_course_row_visibility(tenant, status, learner, visible):
    course = CourseFactory(tenant=tenant, status=status)

    row = selectors.course_row(tenant_id=tenant.id, course_id=course.pk, learner=learner)

    assert (row is not None) is visible


def test_course_row_of_another_tenant_or_unknown_id_is_none(tenant, other_tenant):
    course = CourseFactory(tenant=tenant)

    assert selectors.course_row(tenant_id=other_tenant.id, course_id=course.pk, learner=False) is None
    assert selectors.course_row(tenant_id=tenant.id, course_id=uuid.uuid4(), learner=False) is None
