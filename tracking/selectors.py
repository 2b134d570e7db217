"""Reads of progress: lesson attempts, course tracks, course summaries and lesson grades."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    UUIDField,
    Value,
)
from django.db.models.functions import Coalesce

from courses.models import ContentStatus, Course, Lesson, LessonPlacement, Module
from courses.selectors import course_required_lesson_ids
from lms.models import Tenant
from tracking.grading import LessonGrade, lesson_grade
from tracking.models import (
    AssessmentAttempt,
    AttemptStatus,
    ConsumptionStatus,
    ContentConsumption,
    CourseTrack,
    LessonAttempt,
)


def _tenants_carrying_forward(tenant_id) -> QuerySet[Tenant]:
    return Tenant.objects.filter(pk=tenant_id, carry_forward=Tenant.CarryForward.CARRY)


def tenant_carries_forward(*, tenant_id: uuid.UUID) -> bool:
    """Whether content completed in any context of a user counts in every context (DECISIONS §6)."""
    return _tenants_carrying_forward(tenant_id).exists()


def tenant_carries_forward_exists(*, tenant_id) -> Exists:
    """`tenant_carries_forward` as an expression, for a read that takes the policy along in its own
    query (`tenant_id` a value or an OuterRef)."""
    return Exists(_tenants_carrying_forward(tenant_id))


def completed_consumption(*, tenant_id, user_id, course_id, batch_id, carry: bool) -> QuerySet:
    """The user's completed consumption rows that count in the (course, batch) context."""
    completed = ContentConsumption.objects.filter(
        user_id=user_id, tenant_id=tenant_id, status=ConsumptionStatus.COMPLETED
    )
    if not carry:
        completed = completed.filter(collection_id=course_id, batch_id=batch_id)
    return completed


def completed_lesson_ids(
    *, tenant_id, user_id, course_id, batch_id, lesson_ids: Iterable[uuid.UUID], carry: bool
) -> set[uuid.UUID]:
    """Which of `lesson_ids` the user completed in the (course, batch) context (through either API)."""
    return set(
        completed_consumption(
            tenant_id=tenant_id, user_id=user_id, course_id=course_id, batch_id=batch_id, carry=carry
        )
        .filter(content_id__in=list(lesson_ids))
        .values_list("content_id", flat=True)
        .distinct()
    )


# ---------------------------------------------------------------------------------------------
# Facts a course track is derived from, as expressions over a CourseTrack row. The per-track
# recount and the bulk recount of a course use the very same expressions, so they can never
# disagree; both counts come from one statement, so they share one snapshot and
# `completed_lessons <= no_of_lessons` always holds.


def required_lessons_count(*, course_id) -> Coalesce:
    """How many lessons the course requires, as a scalar subquery."""
    count = (
        course_required_lesson_ids(course_id=course_id)
        .order_by()
        .values("course_id")
        .annotate(n=Count("lesson_id", distinct=True))
        .values("n")
    )
    return Coalesce(Subquery(count, output_field=IntegerField()), Value(0))


def completed_lessons_count(*, course_id, carry: bool) -> Coalesce:
    """Distinct required lessons of the course the track's user completed in the track's context."""
    completed = ContentConsumption.objects.filter(
        user_id=OuterRef("user_id"),
        tenant_id=OuterRef("tenant_id"),
        status=ConsumptionStatus.COMPLETED,
        content_id__in=course_required_lesson_ids(course_id=course_id),
    )
    if not carry:
        completed = completed.filter(collection_id=OuterRef("course_id"), batch_id=OuterRef("batch_id"))
    count = completed.order_by().values("user_id").annotate(n=Count("content_id", distinct=True)).values("n")
    return Coalesce(Subquery(count, output_field=IntegerField()), Value(0))


def track_activity_exists() -> ExpressionWrapper:
    """Whether the track's user viewed content or started an attempt in the track's context."""
    return ExpressionWrapper(Exists(
        ContentConsumption.objects.filter(
            user_id=OuterRef("user_id"), tenant_id=OuterRef("tenant_id"),
            collection_id=OuterRef("course_id"), batch_id=OuterRef("batch_id"),
        )
    ) | Exists(
        LessonAttempt.objects.filter(
            user_id=OuterRef("user_id"), tenant_id=OuterRef("tenant_id"),
            course_id=OuterRef("course_id"), batch_id=OuterRef("batch_id"),
        )
    ), output_field=BooleanField())


@dataclass(frozen=True)
class TrackFacts:
    no_of_lessons: int
    completed_lessons: int
    active: bool  # the learner did something in the track's context
    enrollment_active: bool  # the enrollment is approved and not deactivated


def course_track_facts(*, track: CourseTrack, carry: bool) -> TrackFacts:
    """The facts of one track, in one query."""
    no_of_lessons, completed, active, enrollment_active = (
        # The user as well as the key: a table distributed by user routes it (lms/routing.py).
        CourseTrack.objects.filter(pk=track.pk, user_id=track.user_id)
        .order_by()
        .annotate(
            _required=required_lessons_count(course_id=track.course_id),
            _completed=completed_lessons_count(course_id=track.course_id, carry=carry),
            _active=track_activity_exists(),
        )
        .values_list("_required", "_completed", "_active", "enrollment__active")
        .get()
    )
    return TrackFacts(
        no_of_lessons=no_of_lessons, completed_lessons=completed, active=bool(active),
        enrollment_active=bool(enrollment_active),
    )


# ---------------------------------------------------------------------------------------------
# Grades


def lesson_grades(
    *, tenant_id, user_id, course_id, batch_id, lessons: Iterable[Lesson]
) -> dict[uuid.UUID, LessonGrade]:
    """Each lesson's grade in the (course, batch) context: its completed attempts graded under
    its `attemptsGrade`, or the best viewer assessment when that passes (the two APIs are one
    truth). Two queries whatever the number of lessons."""
    lessons = list(lessons)
    scores: dict[uuid.UUID, list[float]] = defaultdict(list)
    for lesson_id, score in (
        LessonAttempt.objects.filter(
            user_id=user_id, tenant_id=tenant_id, course_id=course_id, batch_id=batch_id,
            lesson_id__in=[lesson.id for lesson in lessons], status=AttemptStatus.COMPLETED,
        )
        .order_by("attempt")
        .values_list("lesson_id", "score")
    ):
        scores[lesson_id].append(score)
    best_assessment: dict[uuid.UUID, float] = {}
    for content_id, score in AssessmentAttempt.objects.filter(
        user_id=user_id, tenant_id=tenant_id, collection_id=course_id, batch_id=batch_id,
        content_id__in=[lesson.id for lesson in lessons],
    ).values_list("content_id", "score"):
        best_assessment[content_id] = max(score, best_assessment.get(content_id, score))
    grades = {}
    for lesson in lessons:
        grade = lesson_grade(scores[lesson.id], policy=lesson.attempts_grade, passing_marks=lesson.passing_marks)
        if not grade.passed and lesson.id in best_assessment:
            assessed = lesson_grade([best_assessment[lesson.id]], policy=lesson.attempts_grade,
                                    passing_marks=lesson.passing_marks)
            grade = assessed if assessed.passed else grade
        grades[lesson.id] = grade
    return grades


# ---------------------------------------------------------------------------------------------
# Lists


def lesson_attempt_list(
    *, tenant_id: uuid.UUID, lesson_id=None, user_id=None, status=None, course_id=None
) -> QuerySet:
    """The tenant's lesson attempts, newest first, each with its lesson (and media) joined and the
    placement it was taken in (`placement_module_id`, `placement_ordering`) annotated, so that a
    page is one query whatever its size."""
    placement = LessonPlacement.objects.filter(
        course_id=OuterRef("course_id"), lesson_id=OuterRef("lesson_id"), archived=False
    ).order_by("module__ordering", "ordering", "created_at")
    attempts = (
        LessonAttempt.objects.filter(tenant_id=tenant_id)
        .select_related("lesson", "lesson__media")
        .annotate(
            placement_module_id=Subquery(placement.values("module_id")[:1], output_field=UUIDField()),
            placement_ordering=Subquery(placement.values("ordering")[:1], output_field=IntegerField()),
        )
        .order_by("-timestart", "-id")
    )
    if lesson_id is not None:
        attempts = attempts.filter(lesson_id=lesson_id)
    if user_id is not None:
        attempts = attempts.filter(user_id=user_id)
    if status is not None:
        attempts = attempts.filter(status=status)
    if course_id is not None:
        attempts = attempts.filter(course_id=course_id)
    return attempts


def course_track_list(*, tenant_id: uuid.UUID, course_id=None, user_id=None, status=None) -> QuerySet:
    """The tenant's course tracks, most recently started first, each with its course joined."""
    tracks = CourseTrack.objects.filter(tenant_id=tenant_id).select_related("course").order_by("-timestart", "-id")
    if course_id is not None:
        tracks = tracks.filter(course_id=course_id)
    if user_id is not None:
        tracks = tracks.filter(user_id=user_id)
    if status is not None:
        tracks = tracks.filter(status=status)
    return tracks


@dataclass(frozen=True)
class CourseTotals:
    total_modules: int
    total_lessons: int
    total_duration: int


def course_totals(*, course_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, CourseTotals]:
    """Per course: published modules, required lessons and their total duration in seconds (a
    lesson's `duration`, else `idealTime` minutes × 60). One query for any number of courses."""
    course_ids = list(set(course_ids))
    if not course_ids:
        return {}
    modules = (
        Module.objects.filter(course_id=OuterRef("pk"), status=ContentStatus.PUBLISHED)
        .order_by()
        .values("course_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    # Lessons, not placements, are summed: a lesson placed in two modules of a course counts once.
    # Grouping by tenant yields the one row a scalar subquery needs (a course's lessons share it).
    duration = (
        Lesson.objects.filter(id__in=course_required_lesson_ids(course_id=OuterRef(OuterRef("pk"))))
        .order_by()
        .values("tenant_id")
        .annotate(seconds=Sum(Coalesce(F("duration"), F("ideal_time") * 60, Value(0))))
        .values("seconds")
    )
    rows = (
        Course.objects.filter(id__in=course_ids)
        .order_by()
        .annotate(
            _modules=Coalesce(Subquery(modules, output_field=IntegerField()), Value(0)),
            _lessons=required_lessons_count(course_id=OuterRef("pk")),
            _duration=Coalesce(Subquery(duration, output_field=IntegerField()), Value(0)),
        )
        .values_list("id", "_modules", "_lessons", "_duration")
    )
    return {
        course_id: CourseTotals(total_modules=m, total_lessons=n, total_duration=int(d))
        for course_id, m, n, d in rows
    }
