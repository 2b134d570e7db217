"""Reads of enrollments (and of the courses they point at)."""

from __future__ import annotations

import datetime as dt
import uuid

from django.db.models import QuerySet

from courses.models import ContentStatus, Course
from enrollment.models import Enrollment
from lms.api.errors import NotFoundError

# The course columns an enrollment listing shows; the rest of the course row stays in the database.
_LISTED_COURSE_FIELDS = ("course__id", "course__title", "course__short_description", "course__description", "course__image")


def enrollment_list(
    *, tenant_id: uuid.UUID, user_id: uuid.UUID | None = None, course_id: uuid.UUID | None = None
) -> QuerySet[Enrollment]:
    """The tenant's enrollments, newest first, each with its course joined (one query per page)."""
    enrollments = Enrollment.objects.filter(tenant_id=tenant_id)
    if user_id is not None:
        enrollments = enrollments.filter(user_id=user_id)
    if course_id is not None:
        enrollments = enrollments.filter(course_id=course_id)
    # `id` breaks ties between enrollments made in the same instant, so pages never overlap.
    return (
        enrollments.select_related("course")
        .only(*(f.name for f in Enrollment._meta.concrete_fields), *_LISTED_COURSE_FIELDS)
        .order_by("-enrolled_at", "-id")
    )


def course_for_enrollment(*, tenant_id: uuid.UUID, course_id: uuid.UUID) -> Course:
    """The tenant's course that enrollments may point at (anything but archived).

    Raises NotFoundError when the course is unknown, archived or belongs to another tenant.
    """
    course = (
        Course.objects.filter(tenant_id=tenant_id, pk=course_id)
        .exclude(status=ContentStatus.ARCHIVED)
        .only("id", "tenant_id", "title", "status", "auto_enroll", "admin_approval", "end_datetime")
        .first()
    )
    if course is None:
        raise NotFoundError(
            "No course with that course_id in this tenant (it may be archived).", code="ERR_COURSE_NOT_FOUND"
        )
    return course


def enrollments_due_for_expiry_reminder(*, now: dt.datetime, days: int) -> QuerySet[Enrollment]:
    """Active, limited enrollments ending within `days` whose reminder has not gone out."""
    return Enrollment.objects.filter(
        active=True,
        unlimited_plan=False,
        before_expiry_mail=False,
        end_time__gt=now,
        end_time__lte=now + dt.timedelta(days=days),
    )


def enrollments_due_for_expiry_notice(*, now: dt.datetime) -> QuerySet[Enrollment]:
    """Active, limited enrollments that have ended and whose notice has not gone out."""
    return Enrollment.objects.filter(
        active=True, unlimited_plan=False, after_expiry_mail=False, end_time__lte=now
    )
