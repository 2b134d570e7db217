"""Reads of the content catalogue."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from courses.models import ContentStatus, LessonPlacement


def course_required_lesson_ids(*, course_id: uuid.UUID) -> QuerySet:
    """Ids of the lessons a learner must complete: published lessons placed (not archived)
    in the course's published modules. A values queryset, usable as a subquery."""
    return (
        LessonPlacement.objects.filter(
            course_id=course_id,
            archived=False,
            module__status=ContentStatus.PUBLISHED,
            lesson__status=ContentStatus.PUBLISHED,
        )
        .values("lesson_id")
        .distinct()
    )
