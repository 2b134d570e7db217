"""Writes that keep course tracks exact (DECISIONS §4).

Counters are recounts, not increments: `completed_lessons` is re-derived from the
consumption facts inside the write's transaction, with the track row locked, so repeated
events change nothing and concurrent events cannot lose an update.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid

from django.db import IntegrityError, transaction
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from courses.models import CertificateTerm, Course, Lesson
from courses.selectors import course_required_lesson_ids
from enrollment.models import Enrollment, EnrollmentState
from lms.models import Tenant
from tracking.consumption import consumption_record_completion
from tracking.grading import graded_score, is_passed
from tracking.models import (
    AssessmentAttempt,
    AttemptStatus,
    ConsumptionStatus,
    ContentConsumption,
    CourseTrack,
    CourseTrackStatus,
    IssuedCertificate,
    LessonAttempt,
)

_ENROLLMENT_STATE_FOR_TRACK = {
    CourseTrackStatus.NOT_STARTED: EnrollmentState.NOT_STARTED,
    CourseTrackStatus.IN_PROGRESS: EnrollmentState.IN_PROGRESS,
    CourseTrackStatus.COMPLETED: EnrollmentState.COMPLETED,
}


def tenant_carries_forward(*, tenant_id: uuid.UUID) -> bool:
    return Tenant.objects.filter(pk=tenant_id, carry_forward=Tenant.CarryForward.CARRY).exists()


def _completed_consumption(*, tenant_id, user_id, course_id, batch_id, carry: bool):
    completed = ContentConsumption.objects.filter(
        user_id=user_id, tenant_id=tenant_id, status=ConsumptionStatus.COMPLETED
    )
    if not carry:
        completed = completed.filter(collection_id=course_id, batch_id=batch_id)
    return completed


def _count_completed_lessons(*, track: CourseTrack, carry: bool) -> int:
    return (
        _completed_consumption(
            tenant_id=track.tenant_id, user_id=track.user_id, course_id=track.course_id, batch_id=track.batch_id,
            carry=carry,
        )
        .filter(content_id__in=course_required_lesson_ids(course_id=track.course_id))
        .values("content_id")
        .distinct()
        .count()
    )


def _certificate_rule_met(*, track: CourseTrack, course: Course) -> bool:
    if course.certificate_term == CertificateTerm.NA:
        return False
    if course.certificate_term == CertificateTerm.COMPLETE_ALL:
        return True
    marked_lessons = list(
        Lesson.objects.filter(id__in=course_required_lesson_ids(course_id=course.id), consider_marks=True).only(
            "id", "attempts_grade", "passing_marks"
        )
    )
    if not marked_lessons:
        return True
    scores: dict[uuid.UUID, list[float]] = {lesson.id: [] for lesson in marked_lessons}
    for lesson_id, score in (
        LessonAttempt.objects.filter(
            user_id=track.user_id, tenant_id=track.tenant_id, course_id=course.id,
            lesson_id__in=scores.keys(), status=AttemptStatus.COMPLETED,
        )
        .order_by("attempt")
        .values_list("lesson_id", "score")
    ):
        scores[lesson_id].append(score)
    best_assessment: dict[uuid.UUID, float] = {}
    for content_id, score in AssessmentAttempt.objects.filter(
        user_id=track.user_id, tenant_id=track.tenant_id, collection_id=course.id, batch_id=track.batch_id,
        content_id__in=scores.keys(),
    ).values_list("content_id", "score"):
        best_assessment[content_id] = max(score, best_assessment.get(content_id, score))
    for lesson in marked_lessons:
        attempt_score = graded_score(scores[lesson.id], lesson.attempts_grade)
        if not (
            is_passed(attempt_score, lesson.passing_marks)
            or is_passed(best_assessment.get(lesson.id), lesson.passing_marks)
        ):
            return False
    return True


def _issue_certificate(*, track: CourseTrack, course: Course, now: dt.datetime) -> IssuedCertificate | None:
    """Exactly once per track: the caller holds the track lock, the unique constraint backs it."""
    if IssuedCertificate.objects.filter(track=track).exists():
        return None
    try:
        with transaction.atomic():
            certificate = IssuedCertificate.objects.create(
                user_id=track.user_id, tenant_id=track.tenant_id, course=course, track=track,
                name=course.title, template_id=course.certificate_id, token=secrets.token_urlsafe(24),
                issued_at=now,
            )
    except IntegrityError:
        return None
    track.cert_gen_date = now
    return certificate


def _sync_enrollment_state(track: CourseTrack) -> None:
    state = _ENROLLMENT_STATE_FOR_TRACK[track.status]
    Enrollment.objects.filter(pk=track.enrollment_id).exclude(state=state).update(state=state)


def course_track_recount(*, track: CourseTrack, now: dt.datetime | None = None, carry: bool | None = None) -> list[str]:
    """Re-derives the counters and status of a track locked by the caller.

    Returns the names of the fields that changed. Completion sets `timeend`, checks the
    certificate rule and issues the certificate once; a completed track never goes back.
    """
    now = now or timezone.now()
    if carry is None:
        carry = tenant_carries_forward(tenant_id=track.tenant_id)
    before = {f: getattr(track, f) for f in ("no_of_lessons", "completed_lessons", "status", "timeend", "cert_gen_date")}
    track.no_of_lessons = course_required_lesson_ids(course_id=track.course_id).count()
    track.completed_lessons = _count_completed_lessons(track=track, carry=carry)
    if track.status != CourseTrackStatus.COMPLETED:
        if track.completed_lessons >= track.no_of_lessons > 0:
            track.status = CourseTrackStatus.COMPLETED
            track.timeend = now
        elif track.completed_lessons > 0 and track.status == CourseTrackStatus.NOT_STARTED:
            track.status = CourseTrackStatus.IN_PROGRESS
    if track.status == CourseTrackStatus.COMPLETED and track.cert_gen_date is None:
        course = Course.objects.only("id", "title", "certificate_term", "certificate_id").get(pk=track.course_id)
        if _certificate_rule_met(track=track, course=course):
            _issue_certificate(track=track, course=course, now=now)
    changed = [f for f, value in before.items() if getattr(track, f) != value]
    if changed:
        track.updated_at = now
        track.save(update_fields=[*changed, "updated_at"])
        if "status" in changed:
            _sync_enrollment_state(track)
    return changed


def _lock_tracks(*, tenant_id, user_id, course_id, batch_id=None):
    tracks = CourseTrack.objects.select_for_update().filter(tenant_id=tenant_id, user_id=user_id, course_id=course_id)
    if batch_id is not None:
        tracks = tracks.filter(batch_id=batch_id)
    return tracks.order_by("id")


@transaction.atomic
def lesson_completion_record(
    *, tenant_id: uuid.UUID, user_id: uuid.UUID, course_id: uuid.UUID, batch_id: uuid.UUID, lesson_id: uuid.UUID,
    now: dt.datetime | None = None,
) -> CourseTrack | None:
    """Records that the user completed the lesson in the (course, batch) context and recounts
    that context's course track. Both the attempt API and the viewer API complete lessons here,
    so the two always show one truth. Returns the track, or None when not enrolled in that context.
    """
    now = now or timezone.now()
    consumption_record_completion(
        user_id=user_id, tenant_id=tenant_id, collection_id=course_id, batch_id=batch_id, content_id=lesson_id, now=now
    )
    track = _lock_tracks(tenant_id=tenant_id, user_id=user_id, course_id=course_id, batch_id=batch_id).first()
    if track is None:
        return None
    track.last_accessed_date = now
    track.save(update_fields=["last_accessed_date"])
    course_track_recount(track=track, now=now)
    return track


def course_track_mark_started(*, tenant_id, user_id, course_id, batch_id=None, now: dt.datetime | None = None) -> None:
    """A lesson attempt or a view started: not_started → in_progress (two conditional updates)."""
    now = now or timezone.now()
    tracks = CourseTrack.objects.filter(tenant_id=tenant_id, user_id=user_id, course_id=course_id)
    if batch_id is not None:
        tracks = tracks.filter(batch_id=batch_id)
    updated = tracks.filter(status=CourseTrackStatus.NOT_STARTED).update(
        status=CourseTrackStatus.IN_PROGRESS, last_accessed_date=now, updated_at=now
    )
    if updated:
        enrollments = Enrollment.objects.filter(tenant_id=tenant_id, user_id=user_id, course_id=course_id)
        if batch_id is not None:
            enrollments = enrollments.filter(batch_id=batch_id)
        enrollments.filter(state=EnrollmentState.NOT_STARTED).update(state=EnrollmentState.IN_PROGRESS)


@transaction.atomic
def course_track_create_for_enrollment(*, enrollment: Enrollment) -> CourseTrack:
    """The enrollment's course track, created in the enrollment's transaction."""
    track = CourseTrack.objects.create(
        user_id=enrollment.user_id, tenant_id=enrollment.tenant_id, course_id=enrollment.course_id,
        enrollment=enrollment, batch_id=enrollment.batch_id, timestart=enrollment.enrolled_on_time,
        no_of_lessons=course_required_lesson_ids(course_id=enrollment.course_id).count(),
    )
    # With carry-forward, completions from other contexts count from the first moment.
    if tenant_carries_forward(tenant_id=enrollment.tenant_id):
        locked = CourseTrack.objects.select_for_update().get(pk=track.pk)
        course_track_recount(track=locked, carry=True)
        return locked
    return track


@transaction.atomic
def course_tracks_recount_for_course(*, course_id: uuid.UUID, now: dt.datetime | None = None) -> int:
    """After content changes: recounts every track of the course in one bulk UPDATE.

    Tracks that the change completes (an archived lesson was the last one missing) are then
    finished one by one, since completion issues certificates. Completed tracks stay completed;
    a new lesson reopens nothing that was completed. Returns how many tracks were updated.
    """
    now = now or timezone.now()
    course = Course.objects.only("id", "tenant_id").get(pk=course_id)
    carry = tenant_carries_forward(tenant_id=course.tenant_id)
    required = course_required_lesson_ids(course_id=course_id)
    no_of_lessons = required.count()
    completed = ContentConsumption.objects.filter(
        user_id=OuterRef("user_id"), tenant_id=OuterRef("tenant_id"), status=ConsumptionStatus.COMPLETED,
        content_id__in=required,
    )
    if not carry:
        completed = completed.filter(collection_id=OuterRef("course_id"), batch_id=OuterRef("batch_id"))
    completed_count = (
        completed.order_by().values("user_id").annotate(n=Count("content_id", distinct=True)).values("n")
    )
    updated = CourseTrack.objects.filter(course_id=course_id).update(
        no_of_lessons=no_of_lessons,
        completed_lessons=Coalesce(Subquery(completed_count, output_field=IntegerField()), Value(0)),
        updated_at=now,
    )
    newly_complete = CourseTrack.objects.select_for_update().filter(
        ~Q(status=CourseTrackStatus.COMPLETED), course_id=course_id, no_of_lessons__gt=0,
    ).filter(completed_lessons__gte=no_of_lessons)
    for track in newly_complete.order_by("id"):
        course_track_recount(track=track, now=now, carry=carry)
    return updated
