"""Writes of enrollments (DECISIONS §2, §4). Each runs in one transaction."""

from __future__ import annotations

import uuid

from django.db import IntegrityError, transaction
from django.utils import timezone

from courses.models import Course
from enrollment.models import Enrollment
from enrollment.signals import enrollment_created
from lms.api.errors import ConflictError


@transaction.atomic
def enrollment_create(
    *,
    tenant_id: uuid.UUID,
    course: Course,
    user_id: uuid.UUID,
    enrolled_by: uuid.UUID | None,
    batch_id: uuid.UUID | None = None,
    active: bool = True,
    unlimited_plan: bool = False,
    params: dict | None = None,
) -> Enrollment:
    """Enrolls the user and creates the course track in the same transaction.

    `batch_id` defaults to the course id. `end_time` snapshots the course's end (none with
    `unlimited_plan`). Raises ConflictError (409, with the existing id in `result`) when the
    user is already enrolled in that course and batch.
    """
    batch_id = batch_id or course.id
    existing = (
        Enrollment.objects.filter(user_id=user_id, tenant_id=tenant_id, course=course, batch_id=batch_id)
        .values_list("id", flat=True)
        .first()
    )
    if existing:
        raise _already_enrolled(existing)
    now = timezone.now()
    try:
        with transaction.atomic():
            enrollment = Enrollment.objects.create(
                user_id=user_id,
                tenant_id=tenant_id,
                course=course,
                batch_id=batch_id,
                enrolled_on_time=now,
                end_time=None if unlimited_plan else course.end_datetime,
                active=active,
                unlimited_plan=unlimited_plan,
                params=params or {},
                enrolled_by=enrolled_by,
            )
    except IntegrityError:
        # Enrolled concurrently by another request.
        existing = Enrollment.objects.filter(
            user_id=user_id, tenant_id=tenant_id, course=course, batch_id=batch_id
        ).values_list("id", flat=True).first()
        raise _already_enrolled(existing) from None
    enrollment_created.send(sender=Enrollment, enrollment=enrollment)
    return enrollment


def _already_enrolled(enrollment_id) -> ConflictError:
    return ConflictError(
        "The user is already enrolled in this course and batch; update that enrollment instead.",
        code="ERR_ALREADY_ENROLLED",
        result={"id": str(enrollment_id)},
    )
