"""Writes that keep lesson attempts and course tracks exact (DECISIONS §4, §5).

Counters are recounts, not increments: `completed_lessons` is re-derived from the
consumption facts inside the write's transaction, with the track row locked, so repeated
events change nothing and concurrent events cannot lose an update.

Lock order, the same on every path so that concurrent writers cannot deadlock:
attempt counter or lesson attempt row → consumption row (the upsert) → course track row →
certificate. (A start takes its counter row; an attempt update, its attempt row.)
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from courses.models import CertificateTerm, ContentStatus, Course, Lesson, LessonPlacement
from courses.selectors import RELEASED, course_required_lesson_ids, released_sql
from enrollment.models import Enrollment, EnrollmentState
from lms.api.errors import ApiError, ConflictError, ForbiddenError, NotFoundError
from lms.bulk import insert_rows
from lms.events import catalogue as events
from lms.events.services import NewEvent, events_insert_statement, events_record, relay_after_commit
from lms.ids import time_ordered_uuid
from lms.rawsql import adapt_params, compiled_once, sql_literal, sql_values_rows
from lms.routing import save_pinned_to_user
from tracking.consumption import CONFLICT_TARGET as CONSUMPTION_CONFLICT_TARGET
from tracking.consumption import INSERT_COLUMNS as CONSUMPTION_INSERT_COLUMNS
from tracking.consumption import (
    SqlCondition,
    consumption_completion_statement,
    consumption_record_completion,
    consumption_record_progress,
    consumption_record_view_start,
    progress_merge_sql,
    view_start_merge_sql,
)
from tracking.models import (
    ENROLLMENT_STATE_FOR_TRACK,
    AttemptStatus,
    ConsumptionStatus,
    ContentConsumption,
    CourseTrack,
    CourseTrackOverride,
    CourseTrackStatus,
    IssuedCertificate,
    LessonAttempt,
    LessonAttemptCounter,
)
from tracking.selectors import (
    TrackFacts,
    completed_lesson_ids,
    completed_lessons_count,
    course_track_facts,
    lesson_grades,
    required_lessons_count,
    tenant_carries_forward,
    track_activity_exists,
)

__all__ = [
    "certificate_rule_met",
    "eligibility_lesson_ids",
    "course_track_create_for_enrollment",
    "course_tracks_create_for_enrollments",
    "course_track_differences",
    "course_track_mark_started",
    "course_track_override",
    "course_track_recount",
    "course_tracks_drift",
    "course_tracks_recount_for_course",
    "course_tracks_recount_for_enrollments",
    "course_tracks_recount_for_tenant",
    "attempt_next_step",
    "lesson_attempt_start",
    "lesson_attempt_status",
    "lesson_attempt_update",
    "lesson_completion_record",
    "lesson_prerequisites_ensure",
    "lesson_progress_record",
    "standalone_completion_record",
]



# ---------------------------------------------------------------------------------------------
# Deriving a course track from the facts


def _derived_status(*, status: str, facts: TrackFacts) -> str:
    """not_started → in_progress → completed, never back."""
    if status == CourseTrackStatus.COMPLETED:
        return CourseTrackStatus.COMPLETED
    if facts.completed_lessons >= facts.no_of_lessons > 0:
        return CourseTrackStatus.COMPLETED
    if status == CourseTrackStatus.IN_PROGRESS or facts.completed_lessons > 0 or facts.active:
        return CourseTrackStatus.IN_PROGRESS
    return CourseTrackStatus.NOT_STARTED


def _certificate_rule_met(*, track: CourseTrack, course: Course) -> bool:
    """The course's certificate term, judged on the track's counters and the learner's grades."""
    if course.certificate_term == CertificateTerm.NA:
        return False
    if not track.completed_lessons >= track.no_of_lessons > 0:
        return False
    if course.certificate_term == CertificateTerm.COMPLETE_ALL:
        return True
    marked_lessons = Lesson.objects.filter(
        id__in=course_required_lesson_ids(course_id=course.id), consider_marks=True
    ).only("id", "attempts_grade", "passing_marks")
    grades = lesson_grades(
        tenant_id=track.tenant_id, user_id=track.user_id, course_id=course.id, batch_id=track.batch_id,
        lessons=marked_lessons,
    )
    return all(grade.passed for grade in grades.values())


def certificate_rule_met(*, track: CourseTrack, course: Course) -> bool:
    """Whether the course's certificate term is met on the track's counters and the learner's
    grades: the recount's own decision, for reads that explain it (`tracking.insight`)."""
    return _certificate_rule_met(track=track, course=course)


@dataclass
class _RecountPlan:
    values: dict[str, Any] = field(default_factory=dict)
    certificate_course: Course | None = None  # set when a certificate is to be issued


def _plan_recount(*, track: CourseTrack, now: dt.datetime, carry: bool) -> _RecountPlan:
    """What a recount would set on the track (only the changed fields), without writing."""
    facts = course_track_facts(track=track, carry=carry)
    status = _derived_status(status=track.status, facts=facts)
    new: dict[str, Any] = {
        "no_of_lessons": facts.no_of_lessons, "completed_lessons": facts.completed_lessons, "status": status,
    }
    # `timeend` is completedOn, set once (DECISIONS §6): a track that completes again after a
    # staff downgrade keeps the first completion time.
    if status == CourseTrackStatus.COMPLETED and track.status != CourseTrackStatus.COMPLETED and track.timeend is None:
        new["timeend"] = now
    plan = _RecountPlan()
    # A pending or deactivated enrollment can still complete (carry-forward counts standalone
    # completions), but its certificate waits until the enrollment is active again
    # (`course_tracks_recount_for_enrollments`).
    if status == CourseTrackStatus.COMPLETED and track.cert_gen_date is None and facts.enrollment_active:
        course = Course.objects.only("id", "title", "certificate_term", "certificate_id").get(pk=track.course_id)
        issued_at = IssuedCertificate.objects.filter(track_id=track.pk).values_list("issued_at", flat=True).first()
        projected = CourseTrack(
            pk=track.pk, tenant_id=track.tenant_id, user_id=track.user_id, course_id=track.course_id,
            batch_id=track.batch_id, no_of_lessons=facts.no_of_lessons, completed_lessons=facts.completed_lessons,
        )
        cert_gen_date, plan.certificate_course = _certificate_decision(
            track=projected, course=course, issued_at=issued_at, now=now
        )
        if cert_gen_date is not None:
            new["cert_gen_date"] = cert_gen_date
    plan.values = {name: value for name, value in new.items() if getattr(track, name) != value}
    return plan


def _certificate_decision(
    *, track: CourseTrack, course: Course, issued_at: dt.datetime | None, now: dt.datetime
) -> tuple[dt.datetime | None, Course | None]:
    """For a completed track without a certificate date whose enrollment is active: the date to set
    (that of a certificate issued before, or `now` when the course's rule is met on the track's
    counters) and the course when a certificate is to be issued now. (None, None): nothing to do."""
    if issued_at is not None:
        return issued_at, None
    if course.certificate_term != CertificateTerm.NA and _certificate_rule_met(track=track, course=course):
        return now, course
    return None, None


def _issue_certificate(
    *, track: CourseTrack, course: Course, issued_at: dt.datetime, announced: list[NewEvent] | None = None
) -> IssuedCertificate | None:
    """Exactly once per track: the caller holds the track lock, the one-to-one constraint backs it.
    `certificate.issued` is recorded now, or added to `announced` for the caller's one outbox INSERT."""
    try:
        with transaction.atomic():
            certificate = IssuedCertificate.objects.create(
                user_id=track.user_id, tenant_id=track.tenant_id, course=course, track=track,
                name=course.title, template_id=course.certificate_id, token=secrets.token_urlsafe(24),
                issued_at=issued_at,
            )
    except IntegrityError:
        track.cert_gen_date = IssuedCertificate.objects.filter(track=track).values_list("issued_at", flat=True).first()
        return None
    track.cert_gen_date = issued_at
    event = NewEvent(
        tenant_id=track.tenant_id, type=events.CERTIFICATE_ISSUED, dedupe_key=f"certificate.issued:{track.pk}",
        data={"userId": track.user_id, "courseId": track.course_id, "certificateId": certificate.pk,
              "token": certificate.token, "issuedOn": issued_at},
    )
    if announced is None:
        events_record(events=[event])
    else:
        announced.append(event)
    return certificate


def _course_completed_event(*, track: CourseTrack) -> NewEvent:
    """`course.completed` when a track first completes (its `timeend`, completedOn, is set once);
    the dedupe key holds it to one event per track whatever the entry point."""
    return NewEvent(
        tenant_id=track.tenant_id, type=events.COURSE_COMPLETED, dedupe_key=f"course.completed:{track.pk}",
        data={"userId": track.user_id, "courseId": track.course_id, "batchId": track.batch_id,
              "completedOn": track.timeend},
    )


def _course_completed_record(*, track: CourseTrack) -> None:
    events_record(events=[_course_completed_event(track=track)])


def _sync_enrollment_state(track: CourseTrack) -> bool:
    """The enrollment's `state` follows the track's status. Returns whether it changed."""
    state = ENROLLMENT_STATE_FOR_TRACK[track.status]
    return bool(Enrollment.objects.filter(pk=track.enrollment_id).exclude(state=state).update(state=state))


def course_track_recount(
    *, track: CourseTrack, now: dt.datetime | None = None, carry: bool | None = None, accessed: bool = False
) -> list[str]:
    """Re-derives the counters and status of a track locked by the caller (select_for_update);
    `accessed` also records `now` as its last access, in the same save.

    Returns the names of the fields that changed (`enrollment.state` when the enrollment had to
    follow). Completion sets `timeend` (once: a re-completion keeps it), checks the certificate
    rule and issues the certificate once, but only while the enrollment is active; a completed
    track never goes back.
    """
    now = now or timezone.now()
    if carry is None:
        carry = tenant_carries_forward(tenant_id=track.tenant_id)
    plan = _plan_recount(track=track, now=now, carry=carry)
    for name, value in plan.values.items():
        setattr(track, name, value)
    announced = [_course_completed_event(track=track)] if "timeend" in plan.values else []
    if plan.certificate_course is not None:
        _issue_certificate(track=track, course=plan.certificate_course, issued_at=now, announced=announced)
    events_record(events=announced, now=now)
    changed = list(plan.values)
    saved = [*changed, "updated_at"] if changed else []
    if changed:
        track.updated_at = now
    if accessed:
        track.last_accessed_date = now
        saved.append("last_accessed_date")
    if saved:
        save_pinned_to_user(track, update_fields=saved)
    if _sync_enrollment_state(track):
        changed.append("enrollment.state")
    return changed


def course_track_differences(
    *, track: CourseTrack, now: dt.datetime | None = None, carry: bool | None = None
) -> dict[str, tuple[Any, Any]]:
    """What `course_track_recount` would change, as {field: (stored, derived)}, without writing.

    Reads `track.enrollment.state`, so select the enrollment with the track when checking many.
    """
    now = now or timezone.now()
    if carry is None:
        carry = tenant_carries_forward(tenant_id=track.tenant_id)
    plan = _plan_recount(track=track, now=now, carry=carry)
    differences = {name: (getattr(track, name), value) for name, value in plan.values.items()}
    expected_state = ENROLLMENT_STATE_FOR_TRACK[plan.values.get("status", track.status)]
    if track.enrollment.state != expected_state:
        differences["enrollment.state"] = (track.enrollment.state, int(expected_state))
    return differences


def course_tracks_drift(
    *, course_id: uuid.UUID | None = None, chunk_size: int = 500, now: dt.datetime | None = None
) -> Iterator[tuple[CourseTrack, dict[str, tuple[Any, Any]]]]:
    """Every course track (of one course, or all) whose stored counters, status, certificate date or
    enrollment state differ from what the facts derive, as `course_track_differences` says. Writes
    nothing; on a consistent database it yields nothing.

    Per course, one statement reads its tracks with their facts, as the bulk recount derives them;
    only a track those facts set apart (or a completed one without a certificate date in a course
    that issues certificates) gets the exact per-track check, so healthy tracks cost a few queries
    per course whatever their number.
    """
    now = now or timezone.now()
    contexts = CourseTrack.objects.order_by("tenant_id", "course_id").values_list("tenant_id", "course_id").distinct()
    if course_id is not None:
        contexts = contexts.filter(course_id=course_id)
    carry_by_tenant: dict[uuid.UUID, bool] = {}
    for tenant_id, track_course_id in list(contexts):
        if tenant_id not in carry_by_tenant:
            carry_by_tenant[tenant_id] = tenant_carries_forward(tenant_id=tenant_id)
        carry = carry_by_tenant[tenant_id]
        issues_certificates = Course.objects.filter(pk=track_course_id).exclude(
            certificate_term=CertificateTerm.NA).exists()
        tracks = (
            CourseTrack.objects.filter(tenant_id=tenant_id, course_id=track_course_id)
            .select_related("enrollment")
            .annotate(
                _required=required_lessons_count(course_id=track_course_id),
                _completed=completed_lessons_count(course_id=track_course_id, carry=carry),
                _active=track_activity_exists(),
                _issued=Exists(IssuedCertificate.objects.filter(track_id=OuterRef("pk"))),
            )
            .order_by("id")
        )
        for track in tracks.iterator(chunk_size=chunk_size):
            facts = TrackFacts(
                no_of_lessons=track._required, completed_lessons=track._completed, active=bool(track._active),
                enrollment_active=track.enrollment.active,
            )
            if not _may_differ(track=track, facts=facts, may_certify=issues_certificates or track._issued):
                continue
            differences = course_track_differences(track=track, now=now, carry=carry)
            if differences:
                yield track, differences


def _may_differ(*, track: CourseTrack, facts: TrackFacts, may_certify: bool) -> bool:
    """Whether `_plan_recount` could change anything on the track, judged from its facts alone;
    `may_certify`: the course issues certificates, or this track already has one."""
    status = _derived_status(status=track.status, facts=facts)
    stored = (track.no_of_lessons, track.completed_lessons, track.status)
    if stored != (facts.no_of_lessons, facts.completed_lessons, status):
        return True
    if track.enrollment.state != ENROLLMENT_STATE_FOR_TRACK[status]:
        return True
    return (status == CourseTrackStatus.COMPLETED and track.cert_gen_date is None and facts.enrollment_active
            and may_certify)


def _lock_tracks_placing_lesson(*, tenant_id, user_id, lesson_id) -> list[CourseTrack]:
    """With carry-forward a completion counts in every context of this user whose course places
    the lesson, so all those tracks are recounted, locked together in id order."""
    return list(
        CourseTrack.objects.select_for_update()
        .filter(
            tenant_id=tenant_id,
            user_id=user_id,
            course_id__in=LessonPlacement.objects.filter(lesson_id=lesson_id, archived=False).values("course_id"),
        )
        .order_by("id")
    )


@transaction.atomic
def standalone_completion_record(
    *, tenant_id: uuid.UUID, user_id: uuid.UUID, content_id: uuid.UUID, now: dt.datetime | None = None
) -> None:
    """Records that the user completed content outside any course context (user, content,
    content, content). Under carry-forward the completion counts in every course of the user
    that places it as a lesson, so those tracks are recounted (they may complete and issue
    certificates); under strict it touches no track."""
    now = now or timezone.now()
    first = consumption_record_completion(
        user_id=user_id, tenant_id=tenant_id, collection_id=content_id, batch_id=content_id, content_id=content_id,
        now=now,
    )
    if first:
        _lesson_completed_record(tenant_id=tenant_id, user_id=user_id, course_id=None, batch_id=None,
                                 lesson_id=content_id, source="viewer")
    if not tenant_carries_forward(tenant_id=tenant_id):
        return
    for track in _lock_tracks_placing_lesson(tenant_id=tenant_id, user_id=user_id, lesson_id=content_id):
        course_track_recount(track=track, now=now, carry=True)


def _lesson_completed_event(*, tenant_id, user_id, course_id, batch_id, lesson_id, source: str) -> NewEvent:
    """`lesson.completed` for a first completion in a context (standalone content: no course or batch).
    The consumption row says it is the first; the dedupe key backs that under concurrency."""
    return NewEvent(
        tenant_id=tenant_id, type=events.LESSON_COMPLETED,
        dedupe_key=f"lesson.completed:{tenant_id}:{user_id}:{course_id or lesson_id}:{batch_id or lesson_id}:{lesson_id}",
        data={"userId": user_id, "lessonId": lesson_id, "courseId": course_id, "batchId": batch_id, "source": source},
    )


def _lesson_completed_record(**context) -> None:
    events_record(events=[_lesson_completed_event(**context)])


def lesson_completion_record(
    *, tenant_id: uuid.UUID, user_id: uuid.UUID, course_id: uuid.UUID, batch_id: uuid.UUID, lesson_id: uuid.UUID,
    now: dt.datetime | None = None, source: str = "tracking", carry: bool | None = None,
) -> CourseTrack | None:
    """Records that the user completed the lesson in the (course, batch) context and recounts
    that context's course track (with carry-forward, every track of the user whose course places
    the lesson). Both the attempt API and the viewer API complete lessons here, so the two always
    show one truth; a first completion is announced as `lesson.completed` from `source`
    (`tracking` or `viewer`). `carry`: the tenant's policy, when the caller has read it.
    Returns the track, or None when not enrolled in that context. Raises nothing of its own.

    The hot path of every completing request, in two statements on PostgreSQL: the consumption
    upsert, which says whether this is the first completion, locks the tracks it counts in; then
    one statement per track recounts it from the facts, moves its enrollment's state, and writes
    the `lesson.completed` outbox row. The recount must be a statement of its own: one that waited
    for the track lock would count in a snapshot from before the holder's completion committed.
    Only a track that is completed without a certificate date takes the certificate path.
    """
    now = now or timezone.now()
    if carry is None:
        carry = tenant_carries_forward(tenant_id=tenant_id)
    # Inside the caller's transaction no savepoint is needed: any error here fails the whole write.
    with transaction.atomic(savepoint=False):
        first, tracks = _complete_and_lock_tracks(
            tenant_id=tenant_id, user_id=user_id, course_id=course_id, batch_id=batch_id, lesson_id=lesson_id,
            carry=carry, now=now,
        )
        unrecorded = [_lesson_completed_event(
            tenant_id=tenant_id, user_id=user_id, course_id=course_id, batch_id=batch_id, lesson_id=lesson_id,
            source=source,
        )] if first else []
        own_track = None
        for track_id, track_course_id, track_batch_id in tracks:
            accessed = (track_course_id, track_batch_id) == (course_id, batch_id)
            track = _completed_track_recount(
                track_id=track_id, tenant_id=tenant_id, user_id=user_id, course_id=track_course_id, carry=carry,
                now=now, accessed=accessed, with_events=unrecorded,
            )
            unrecorded = []
            if accessed:
                own_track = track
        events_record(events=unrecorded, now=now)
    return own_track


def _complete_and_lock_tracks(
    *, tenant_id, user_id, course_id, batch_id, lesson_id, carry: bool, now: dt.datetime
) -> tuple[bool, list[tuple[uuid.UUID, uuid.UUID, uuid.UUID]]]:
    """The consumption upsert of a completion, then the row locks (in id order) of the tracks it
    counts in: the context's own, or with carry-forward every track of the user whose course
    places the lesson (`_lock_tracks_placing_lesson`). One statement on PostgreSQL, in the lock
    order of this module. Returns (first completion in the context, [(track id, course, batch)])."""
    upsert_sql, upsert_params = consumption_completion_statement(
        user_id=user_id, tenant_id=tenant_id, collection_id=course_id, batch_id=batch_id, content_id=lesson_id,
        now=now,
    )
    tracks_table = CourseTrack._meta.db_table
    if carry:
        placements = LessonPlacement._meta.db_table
        counts_in = (f"t.course_id IN (SELECT p.course_id FROM {placements} p WHERE p.lesson_id = %s "
                     "AND NOT p.archived)")
        counts_in_params = [lesson_id]
    else:
        counts_in, counts_in_params = "t.course_id = %s AND t.batch_id = %s", [course_id, batch_id]
    tracks_sql = f"SELECT t.id, t.course_id, t.batch_id FROM {tracks_table} t WHERE t.user_id = %s AND t.tenant_id = %s AND {counts_in}"
    tracks_params = adapt_params([user_id, tenant_id, *counts_in_params])
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The lateral reference makes the lock wait for the upsert: consumption row, then track.
            cursor.execute(
                f"WITH completion AS ({upsert_sql}) "
                f"SELECT completion.is_first, track.id, track.course_id, track.batch_id FROM completion "
                f"LEFT JOIN LATERAL ({tracks_sql} AND completion.is_first IS NOT NULL ORDER BY t.id FOR UPDATE) "
                "track ON true",
                [*upsert_params, *tracks_params],
            )
            rows = cursor.fetchall()
            first = bool(rows[0][0])
            tracks = [(track_id, track_course, track_batch) for _, track_id, track_course, track_batch in rows
                      if track_id is not None]
        else:
            # SQLite has no data-modifying WITH and no row locks: its writers are serialized by the
            # database lock the upsert takes.
            cursor.execute(upsert_sql, upsert_params)
            first = bool(cursor.fetchone()[0])
            cursor.execute(tracks_sql + " ORDER BY t.id", tracks_params)
            tracks = [tuple(uuid.UUID(str(value)) for value in row) for row in cursor.fetchall()]
    return first, tracks


def _track_facts_query(*, carry: bool):
    """The facts of one locked track after a completion, compiled once (building the expressions
    cost more than running them). `completed_lessons` is recounted as everywhere (distinct required
    lessons the user completed in the track's context, or in any with carry-forward), driven from
    the user's completed rows, each checked against the course's required lessons by index: the
    set-based form of `completed_lessons_count` reads every lesson of the tenant to build that set.
    `no_of_lessons` is the track's own: every content change recounts it for all the course's
    tracks under their row locks in its own transaction (`course_tracks_recount_for_course`), so
    once the lock is held it counts what the completion is judged against."""

    def build(track_id, user_id, course_id):
        completed = ContentConsumption.objects.filter(
            user_id=OuterRef("user_id"), tenant_id=OuterRef("tenant_id"), status=ConsumptionStatus.COMPLETED,
        ).filter(Exists(course_required_lesson_ids(course_id=course_id).filter(lesson_id=OuterRef("content_id"))))
        if not carry:
            completed = completed.filter(collection_id=OuterRef("course_id"), batch_id=OuterRef("batch_id"))
        count = completed.order_by().values("user_id").annotate(n=Count("content_id", distinct=True)).values("n")
        return (
            CourseTrack.objects.filter(pk=track_id, user_id=user_id)
            .order_by()
            .annotate(
                _completed=Coalesce(Subquery(count, output_field=IntegerField()), Value(0)),
                _active=track_activity_exists(),
            )
            .values_list("pk", "no_of_lessons", "_completed", "_active")
        )

    return compiled_once(("completed-track-facts", carry), build, ("track_id", "user_id", "course_id"))


_TRACK_FIELDS = {field.attname: field for field in CourseTrack._meta.concrete_fields}


def _completed_track_recount(
    *, track_id, tenant_id, user_id, course_id, carry: bool, now: dt.datetime, accessed: bool,
    with_events: list[NewEvent],
) -> CourseTrack:
    """`course_track_recount` of a track the caller has locked, after a lesson completion: one
    statement on PostgreSQL recounts it from the facts, sets `timeend` on its first completion,
    records the access (`accessed`), moves the enrollment's state and writes `with_events` to the
    outbox. A track left completed without a certificate date then takes the certificate path
    (`_certificate_settle`). Returns the track as stored."""
    table = CourseTrack._meta.db_table
    facts = _track_facts_query(carry=carry)
    completed = sql_literal(CourseTrackStatus.COMPLETED)
    in_progress = sql_literal(CourseTrackStatus.IN_PROGRESS)
    not_started = sql_literal(CourseTrackStatus.NOT_STARTED)
    reached = "(facts.completed >= facts.required AND facts.required > 0)"
    # `_derived_status`: never back from completed.
    derived = (f"CASE WHEN {table}.status = {completed} OR {reached} THEN {completed} "
               f"WHEN {table}.status = {in_progress} OR facts.completed > 0 OR facts.active THEN {in_progress} "
               f"ELSE {not_started} END")
    columns = ", ".join(f"{table}.{field.column}" for field in _TRACK_FIELDS.values())
    update = f"""
        UPDATE {table} SET
            no_of_lessons = facts.required,
            completed_lessons = facts.completed,
            status = {derived},
            timeend = CASE WHEN {table}.status <> {completed} AND {reached} AND {table}.timeend IS NULL
                      THEN %s ELSE {table}.timeend END,
            last_accessed_date = {"%s" if accessed else f"{table}.last_accessed_date"},
            updated_at = CASE WHEN {table}.no_of_lessons <> facts.required OR {table}.completed_lessons <> facts.completed
                              OR {table}.status <> {derived} THEN %s ELSE {table}.updated_at END
        FROM facts WHERE {table}.id = facts.id AND {table}.user_id = %s
        RETURNING {columns}
    """
    params = [
        *facts.params(track_id=track_id, user_id=user_id, course_id=course_id),
        *adapt_params([now, *([now] if accessed else []), now, user_id]),
    ]
    outbox = events_insert_statement(events=with_events, now=now)
    if connection.vendor == "postgresql":
        # MATERIALIZED: inlined, the counts would run once for every reference to them below.
        sql = f"WITH facts (id, required, completed, active) AS MATERIALIZED ({facts.sql})"
        enrollments = Enrollment._meta.db_table
        state = "CASE track.status " + " ".join(
            f"WHEN {sql_literal(status)} THEN {int(value)}" for status, value in ENROLLMENT_STATE_FOR_TRACK.items()
        ) + " END"
        sql += (
            f", track AS ({update}), "
            f"enrollment AS (UPDATE {enrollments} SET state = {state} FROM track "
            f"WHERE {enrollments}.id = track.enrollment_id AND {enrollments}.state <> {state})"
        )
        if outbox is not None:
            sql += f", announced AS ({outbox[0]})"
            params += outbox[1]
        sql += " SELECT * FROM track"
        [row] = sql_values_rows(connection, sql, params, _TRACK_FIELDS)
        track = CourseTrack.from_db(connection.alias, list(row), list(row.values()))
    else:
        sql = f"WITH facts (id, required, completed, active) AS ({facts.sql}) "
        [row] = sql_values_rows(connection, sql + update, params, _TRACK_FIELDS)
        track = CourseTrack.from_db(connection.alias, list(row), list(row.values()))
        _sync_enrollment_state(track)
        events_record(events=with_events, now=now)
    if outbox is not None:
        relay_after_commit()
    announced: list[NewEvent] = []
    if track.status == CourseTrackStatus.COMPLETED and track.timeend == now:
        announced.append(_course_completed_event(track=track))
    if track.status == CourseTrackStatus.COMPLETED and track.cert_gen_date is None:
        _certificate_settle(track=track, now=now, announced=announced)
    events_record(events=announced, now=now)
    return track


def _certificate_settle(*, track: CourseTrack, now: dt.datetime, announced: list[NewEvent]) -> None:
    """The certificate of a completed track without a certificate date, as `_plan_recount` decides
    it (only while the enrollment is active): one read of the course with the enrollment's
    `active` and an earlier certificate, the rule, then the certificate and the track's date."""
    course = (
        Course.objects.filter(pk=track.course_id)
        .annotate(
            enrollment_active=Subquery(Enrollment.objects.filter(pk=track.enrollment_id).values("active")[:1]),
            issued_at=Subquery(
                IssuedCertificate.objects.filter(track_id=track.pk, user_id=track.user_id).values("issued_at")[:1]
            ),
        )
        .only("id", "title", "certificate_term", "certificate_id")
        .get()
    )
    if not course.enrollment_active:
        return
    cert_gen_date, course_to_issue = _certificate_decision(
        track=track, course=course, issued_at=course.issued_at, now=now
    )
    if cert_gen_date is None:
        return
    if course_to_issue is not None:
        _issue_certificate(track=track, course=course_to_issue, issued_at=cert_gen_date, announced=announced)
    else:
        track.cert_gen_date = cert_gen_date
    track.updated_at = now
    save_pinned_to_user(track, update_fields=["cert_gen_date", "updated_at"])


def course_track_mark_started(
    *, tenant_id, user_id, course_id, batch_id, now: dt.datetime | None = None, enrollment_state: int | None = None
) -> int:
    """A lesson attempt or a view started in (course, batch): one UPDATE records the access and
    moves a not-started track to in progress (which takes the track's row lock). The enrollment's
    state follows; a caller that has read it (`enrollment_state`) spares that query once it has
    moved on. Returns how many tracks matched (0 when the enrollment has none)."""
    now = now or timezone.now()
    not_started = Q(status=CourseTrackStatus.NOT_STARTED)
    matched = CourseTrack.objects.filter(
        tenant_id=tenant_id, user_id=user_id, course_id=course_id, batch_id=batch_id
    ).update(
        last_accessed_date=now,
        status=Case(When(not_started, then=Value(CourseTrackStatus.IN_PROGRESS)), default=F("status")),
        updated_at=Case(When(not_started, then=Value(now)), default=F("updated_at")),
    )
    if matched and enrollment_state in (None, EnrollmentState.NOT_STARTED):
        Enrollment.objects.filter(
            tenant_id=tenant_id, user_id=user_id, course_id=course_id, batch_id=batch_id,
            state=EnrollmentState.NOT_STARTED,
        ).update(state=EnrollmentState.IN_PROGRESS)
    return matched


# A player reports progress every few seconds; a started track's last access is rewritten at most once
# per this interval by view/update, which then mostly reads the track row. The attempt update keeps
# writing it on every report: measured, the condition did not make that statement faster.
LAST_ACCESS_RESOLUTION = dt.timedelta(seconds=60)


def lesson_progress_record(
    *, tenant_id: uuid.UUID, user_id: uuid.UUID, course_id: uuid.UUID, batch_id: uuid.UUID, lesson_id: uuid.UUID,
    progress: int, now: dt.datetime, only_if: SqlCondition,
) -> bool:
    """A progress report on a lesson in (course, batch): merges the consumption row's progress by
    maximum and, as any activity in a course context does, records the course track's access and
    moves it (and its enrollment's state) out of not started (DECISIONS §4). On PostgreSQL a started
    track's access is rewritten only when it is older than LAST_ACCESS_RESOLUTION.

    Nothing is written unless `only_if` (the caller's context rules, as SQL) holds when the write
    runs; returns whether it held. On PostgreSQL this is one statement, in the lock order of this
    module (consumption → track → enrollment); SQLite, which has no data-modifying WITH, runs the
    same steps in one transaction.
    """
    if connection.vendor != "postgresql":
        with transaction.atomic():
            if not consumption_record_progress(
                user_id=user_id, tenant_id=tenant_id, collection_id=course_id, batch_id=batch_id,
                content_id=lesson_id, progress=progress, now=now, only_if=only_if,
            ):
                return False
            course_track_mark_started(
                tenant_id=tenant_id, user_id=user_id, course_id=course_id, batch_id=batch_id, now=now
            )
            return True
    # Each value is bound once by name (psycopg sends one `$n` per name: 9 parameters plus the
    # condition's own, where positional binding sent 38), and the text is built once per condition.
    params = {
        "id": time_ordered_uuid(), "user_id": user_id, "tenant_id": tenant_id, "collection_id": course_id,
        "batch_id": batch_id, "content_id": lesson_id, "progress": progress, "now": now,
        "stale": now - LAST_ACCESS_RESOLUTION, **only_if.params,
    }
    with connection.cursor() as cursor:
        cursor.execute(_lesson_progress_sql(only_if.sql), params)
        return cursor.fetchone()[0] > 0


@functools.cache
def _lesson_progress_sql(condition: str) -> str:
    """`lesson_progress_record`'s statement on PostgreSQL for the condition `condition` (named
    placeholders, `SqlCondition`), built once per condition text: the callers' conditions are
    constants of the code, so the cache holds one entry per caller. The consumption upsert is
    `consumption_record_progress`'s (the same columns, conflict target and merge); the statuses
    are the code's constants, written as literals."""
    consumption = ContentConsumption._meta.db_table
    tracks = CourseTrack._meta.db_table
    enrollments = Enrollment._meta.db_table
    context = "user_id = %(user_id)s AND tenant_id = %(tenant_id)s AND course_id = %(collection_id)s AND batch_id = %(batch_id)s"
    not_started = sql_literal(CourseTrackStatus.NOT_STARTED.value)
    return f"""
        WITH progress AS (
            INSERT INTO {consumption} ({CONSUMPTION_INSERT_COLUMNS})
            SELECT %(id)s, %(user_id)s, %(tenant_id)s, %(collection_id)s, %(batch_id)s, %(content_id)s,
                   {sql_literal(ConsumptionStatus.IN_PROGRESS.value)}, %(progress)s, 0, %(now)s, %(now)s, NULL
            WHERE {condition}
            ON CONFLICT {CONSUMPTION_CONFLICT_TARGET} DO UPDATE SET {progress_merge_sql()}
            RETURNING 1
        ),
        track AS (
            UPDATE {tracks} SET last_accessed_date = %(now)s,
                status = CASE WHEN status = {not_started} THEN {sql_literal(CourseTrackStatus.IN_PROGRESS.value)} ELSE status END,
                updated_at = CASE WHEN status = {not_started} THEN %(now)s ELSE updated_at END
            WHERE {context} AND EXISTS (SELECT 1 FROM progress)
              AND (status = {not_started} OR last_accessed_date IS NULL OR last_accessed_date < %(stale)s)
            RETURNING 1
        ),
        enrollment AS (
            UPDATE {enrollments} SET state = {sql_literal(EnrollmentState.IN_PROGRESS.value)}
            WHERE {context} AND state = {sql_literal(EnrollmentState.NOT_STARTED.value)} AND EXISTS (SELECT 1 FROM track)
        )
        SELECT count(*) FROM progress
    """


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
def course_tracks_create_for_enrollments(*, enrollments: list[Enrollment], now: dt.datetime | None = None) -> list[CourseTrack]:
    """The course tracks of enrollments created together (`enrollments_bulk_create`), in their
    transaction: what `course_track_create_for_enrollment` makes for one, in bulk statements.

    Per course: one count of its lessons, one INSERT of every track, and with carry-forward one
    bulk recount of those tracks (a track it completes is then finished alone, since completion
    issues a certificate). Returns the tracks. Raises nothing.
    """
    now = now or timezone.now()
    by_course: dict[uuid.UUID, list[Enrollment]] = {}
    for enrollment in enrollments:
        by_course.setdefault(enrollment.course_id, []).append(enrollment)
    carry_of_tenant: dict[uuid.UUID, bool] = {}
    created: list[CourseTrack] = []
    for course_id, course_enrollments in by_course.items():
        no_of_lessons = course_required_lesson_ids(course_id=course_id).count()
        tracks = [
            CourseTrack(
                user_id=enrollment.user_id, tenant_id=enrollment.tenant_id, course_id=course_id,
                enrollment=enrollment, batch_id=enrollment.batch_id, timestart=enrollment.enrolled_on_time,
                no_of_lessons=no_of_lessons,
            )
            for enrollment in course_enrollments
        ]
        insert_rows(tracks)
        created.extend(tracks)
        tenant_id = course_enrollments[0].tenant_id
        if tenant_id not in carry_of_tenant:
            carry_of_tenant[tenant_id] = tenant_carries_forward(tenant_id=tenant_id)
        if carry_of_tenant[tenant_id]:
            # With carry-forward, completions from other contexts count from the first moment.
            _recount_new_tracks(track_ids=[track.pk for track in tracks], course_id=course_id, now=now)
    return created


def _recount_new_tracks(*, track_ids: list[uuid.UUID], course_id: uuid.UUID, now: dt.datetime) -> None:
    """The bulk recount of `course_tracks_recount_for_course`, on tracks this transaction just
    created (no other transaction sees them yet, so they need no lock)."""
    tracks = CourseTrack.objects.filter(pk__in=track_ids)
    tracks.update(completed_lessons=completed_lessons_count(course_id=course_id, carry=True), updated_at=now)
    tracks.filter(status=CourseTrackStatus.NOT_STARTED).filter(
        Q(completed_lessons__gt=0) | Q(track_activity_exists())
    ).update(status=CourseTrackStatus.IN_PROGRESS, updated_at=now)
    Enrollment.objects.filter(
        track__in=track_ids, state=EnrollmentState.NOT_STARTED, track__status=CourseTrackStatus.IN_PROGRESS
    ).update(state=EnrollmentState.IN_PROGRESS)
    newly_complete = tracks.select_for_update().filter(no_of_lessons__gt=0, completed_lessons__gte=F("no_of_lessons"))
    for track in newly_complete.order_by("id"):
        course_track_recount(track=track, now=now, carry=True)


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
    tracks = CourseTrack.objects.filter(course_id=course_id)
    # Lock first: the UPDATE below then reads a snapshot taken after concurrent completions
    # committed. Without it PostgreSQL re-checks a row it waited for but evaluates the count
    # subquery in its older snapshot, which would overwrite a concurrent recount.
    for _ in tracks.select_for_update().order_by("id").values_list("id", flat=True).iterator(chunk_size=2000):
        pass
    updated = tracks.update(
        no_of_lessons=required_lessons_count(course_id=course_id),
        completed_lessons=completed_lessons_count(course_id=course_id, carry=carry),
        updated_at=now,
    )
    started = tracks.filter(status=CourseTrackStatus.NOT_STARTED).filter(
        Q(completed_lessons__gt=0) | Q(track_activity_exists())
    )
    started.update(status=CourseTrackStatus.IN_PROGRESS, updated_at=now)
    Enrollment.objects.filter(
        course_id=course_id, state=EnrollmentState.NOT_STARTED, track__status=CourseTrackStatus.IN_PROGRESS
    ).update(state=EnrollmentState.IN_PROGRESS)
    newly_complete = CourseTrack.objects.select_for_update().filter(
        ~Q(status=CourseTrackStatus.COMPLETED), course_id=course_id, no_of_lessons__gt=0,
    ).filter(completed_lessons__gte=F("no_of_lessons"))
    for track in newly_complete.order_by("id"):
        course_track_recount(track=track, now=now, carry=carry)
    return updated


@transaction.atomic
def course_tracks_recount_for_tenant(*, tenant_id: uuid.UUID, now: dt.datetime | None = None) -> int:
    """After the tenant's carry-forward policy changed: every course's tracks recounted, one bulk
    UPDATE per course (`course_tracks_recount_for_course`). Returns how many tracks were updated."""
    now = now or timezone.now()
    course_ids = CourseTrack.objects.filter(tenant_id=tenant_id).order_by("course_id").values_list(
        "course_id", flat=True).distinct()
    return sum(course_tracks_recount_for_course(course_id=course_id, now=now) for course_id in list(course_ids))


@transaction.atomic
def course_tracks_recount_for_enrollments(
    *, enrollment_ids: list[uuid.UUID], now: dt.datetime | None = None
) -> int:
    """After enrollments became active: recounts their course tracks, each under its row lock (in
    id order), so that a track completed while its enrollment was inactive gets the certificate
    that waited, and one left behind by completions that recount no track (standalone content,
    carried forward) catches up. Returns how many tracks were recounted. Raises nothing.
    """
    now = now or timezone.now()
    tracks = CourseTrack.objects.select_for_update().filter(enrollment_id__in=enrollment_ids).order_by("id")
    carry_of_tenant: dict[uuid.UUID, bool] = {}
    recounted = 0
    for track in tracks:
        if track.tenant_id not in carry_of_tenant:
            carry_of_tenant[track.tenant_id] = tenant_carries_forward(tenant_id=track.tenant_id)
        course_track_recount(track=track, now=now, carry=carry_of_tenant[track.tenant_id])
        recounted += 1
    return recounted


# ---------------------------------------------------------------------------------------------
# Lesson attempts


def _eligibility_lesson_ids(lesson: Lesson) -> list[uuid.UUID]:
    """`eligibilityCriteria` as lesson ids; a single id is accepted too, and entries that are not
    lesson ids (free text from older clients) name nothing to complete."""
    raw = lesson.eligibility_criteria
    entries = raw if isinstance(raw, list) else [raw] if raw else []
    ids = []
    for entry in entries:
        try:
            lesson_id = uuid.UUID(str(entry))
        except ValueError:
            continue
        if lesson_id != lesson.id and lesson_id not in ids:
            ids.append(lesson_id)
    return ids


def eligibility_lesson_ids(lesson: Lesson) -> list[uuid.UUID]:
    """The lesson's prerequisites as the attempt start reads them, for reads that explain them."""
    return _eligibility_lesson_ids(lesson)


def _prerequisites_completed(*, lesson: Lesson, tenant_id, user_id, course_id, batch_id, carry: bool) -> set[uuid.UUID]:
    """Which of the lesson's prerequisites the user completed in the context (one query; none
    when the lesson has no prerequisites)."""
    prerequisites = _eligibility_lesson_ids(lesson)
    if not prerequisites:
        return set()
    return completed_lesson_ids(
        tenant_id=tenant_id, user_id=user_id, course_id=course_id, batch_id=batch_id,
        lesson_ids=prerequisites, carry=carry,
    )


def _prerequisites_refusal(missing: list[uuid.UUID]) -> ApiError | None:
    if not missing:
        return None
    missing_ids = [str(lesson_id) for lesson_id in missing]
    return ApiError(
        f"Complete the prerequisite lessons in this course first: {', '.join(missing_ids)}.",
        code="ERR_PREREQUISITES_MISSING", result={"missing_lesson_ids": missing_ids},
    )


def _ensure_prerequisites_completed(*, lesson: Lesson, tenant_id, user_id, course_id, batch_id, carry: bool) -> None:
    done = _prerequisites_completed(
        lesson=lesson, tenant_id=tenant_id, user_id=user_id, course_id=course_id, batch_id=batch_id, carry=carry
    )
    refusal = _prerequisites_refusal([p for p in _eligibility_lesson_ids(lesson) if p not in done])
    if refusal is not None:
        raise refusal


class AttemptAction:
    """`action` of POST /lessons/tracking (DECISIONS §11); None keeps the order of §5."""

    START = "start"
    RESUME = "resume"
    CHOICES = (START, RESUME)


@dataclass(frozen=True)
class AttemptStep:
    """What a start does next: resume `resume`, create attempt n+1 (`create`), or answer `refusal`."""

    resume: LessonAttempt | None = None
    create: bool = False
    refusal: ApiError | None = None


def attempt_next_step(
    *, lesson: Lesson, action: str | None, missing_prerequisites: list[uuid.UUID],
    unfinished: LessonAttempt | None, attempts_used: int | None,
) -> AttemptStep:
    """The one decision of POST /lessons/tracking (DECISIONS §5, §11), which both the start and
    GET /lessons/tracking/status call, so that the status can never promise what the start refuses.

    `unfinished` is the latest attempt that is not completed. `attempts_used` may be None when the
    caller applies the attempt limit itself in the same statement that inserts (the start does,
    under its track lock); the status always passes the count.
    """
    refusal = _prerequisites_refusal(missing_prerequisites)
    if refusal is not None:
        return AttemptStep(refusal=refusal)
    resumable = unfinished if lesson.resume else None
    if action == AttemptAction.RESUME:
        if resumable is None:
            reason = (
                "the lesson does not resume attempts" if unfinished is not None and not lesson.resume
                else "the user has no unfinished attempt at this lesson in this course"
            )
            return AttemptStep(refusal=ConflictError(
                f"Nothing to resume: {reason}; start a new attempt (action \"start\") instead.",
                code="ERR_NOTHING_TO_RESUME",
            ))
        return AttemptStep(resume=resumable)
    if action is None and resumable is not None:
        return AttemptStep(resume=resumable)
    if attempts_used is not None and lesson.no_of_attempts and attempts_used >= lesson.no_of_attempts:
        return AttemptStep(refusal=_attempts_used_up(lesson, attempts_used))
    return AttemptStep(create=True)


def _attempts_used_up(lesson: Lesson, used: int) -> ApiError:
    return ApiError(
        f"All {lesson.no_of_attempts} attempts at this lesson are used; no further attempt can start.",
        code="ERR_MAX_ATTEMPTS", result={"attempts_used": used, "no_of_attempts": lesson.no_of_attempts},
    )


# `lesson_prerequisites_ensure`'s "not read by the caller": None is a lesson's criteria too (none).
_UNREAD: Any = object()


def lesson_prerequisites_ensure(
    *, tenant_id: uuid.UUID, user_id: uuid.UUID, course_id: uuid.UUID, batch_id: uuid.UUID, lesson_id: uuid.UUID,
    eligibility_criteria: Any = _UNREAD, carry: bool | None = None,
) -> None:
    """The lesson's `eligibilityCriteria` check, as a lesson attempt start applies it, for other
    ways of completing a lesson in a (course, batch) context (the viewer's end and submit).
    `eligibility_criteria` (the lesson's) and `carry` (the tenant's carry-forward policy): when the
    caller read them with its own checks; each one left out is read here. With both given, only a
    lesson with prerequisites costs a query.

    Returns nothing when every prerequisite is completed there (or carried) or the lesson has
    none. Raises ApiError 400 ERR_PREREQUISITES_MISSING with `result.missing_lesson_ids`.
    """
    if eligibility_criteria is not _UNREAD:
        lesson = Lesson(id=lesson_id, eligibility_criteria=eligibility_criteria)
    else:
        lesson = Lesson.objects.only("id", "eligibility_criteria").filter(tenant_id=tenant_id, pk=lesson_id).first()
        if lesson is None:
            return
    if not _eligibility_lesson_ids(lesson):
        return
    _ensure_prerequisites_completed(
        lesson=lesson, tenant_id=tenant_id, user_id=user_id, course_id=course_id, batch_id=batch_id,
        carry=tenant_carries_forward(tenant_id=tenant_id) if carry is None else carry,
    )


def _lesson_placements(*, tenant_id, lesson_id, published_only: bool) -> tuple[Lesson | None, list[uuid.UUID]]:
    """The lesson and the courses in which it is released (a published lesson, placed in a
    published module of a published course), in one query.

    Returns (None, []) when no placement qualifies; `_lesson_or_404` then tells a missing lesson
    apart. For staff (not `published_only`), who may see drafts, a lesson placed only in drafts
    raises ApiError 400 ERR_CONTENT_NOT_IN_COURSE instead.
    """
    placements = (
        LessonPlacement.objects.filter(tenant_id=tenant_id, lesson_id=lesson_id, archived=False)
        .exclude(course__status=ContentStatus.ARCHIVED)
        .exclude(lesson__status=ContentStatus.ARCHIVED)
        .select_related("lesson")
        # What starting an attempt reads of the lesson; its content and media are not needed.
        .only("course_id", "lesson__id", "lesson__resume", "lesson__no_of_attempts", "lesson__eligibility_criteria")
    )
    # Progress needs released content, for every role (DECISIONS §8): staff may see a draft
    # placement, but an attempt on it would count once it is published, so it is refused.
    released = placements.filter(RELEASED)
    rows = list(released)
    if not rows:
        if not published_only and placements.exists():
            raise ApiError(
                "The lesson is not released in any course: attempts count only once the lesson, the module "
                "that places it and the course are all published; publish them first.",
                code="ERR_CONTENT_NOT_IN_COURSE",
            )
        return None, []
    return rows[0].lesson, sorted({row.course_id for row in rows}, key=str)


def _lesson_or_404(*, tenant_id, lesson_id, published_only: bool) -> Lesson:
    lessons = Lesson.objects.filter(tenant_id=tenant_id, pk=lesson_id).exclude(status=ContentStatus.ARCHIVED)
    if published_only:
        lessons = lessons.filter(status=ContentStatus.PUBLISHED)
    lesson = lessons.first()
    if lesson is None:
        raise NotFoundError("No lesson with that id in this tenant.")
    return lesson


def _chosen_course_id(course_ids: list[uuid.UUID], course_id: uuid.UUID | None) -> uuid.UUID:
    """The course the attempt counts in: the one named, or the lesson's only course."""
    if course_id is not None:
        if course_id not in course_ids:
            raise ApiError(
                "The lesson is not placed in that course; send a course_id from result.course_ids.",
                code="ERR_NOT_PLACED", result={"course_ids": [str(c) for c in course_ids]},
            )
        return course_id
    if not course_ids:
        raise ApiError(
            "The lesson is not placed in any course; place it in a course module before tracking it.",
            code="ERR_NOT_PLACED", result={"course_ids": []},
        )
    if len(course_ids) > 1:
        raise ApiError(
            "The lesson is placed in several courses; send course_id to say which one.",
            code="ERR_COURSE_REQUIRED",
            result={"errors": {"course_id": ["This field is required for this lesson."]},
                    "course_ids": [str(c) for c in course_ids]},
        )
    return course_ids[0]


def _active_enrollment(*, tenant_id, user_id, course_id) -> Enrollment:
    """The enrollment the attempt counts for: the direct one (batch = course), else the earliest."""
    enrollment = (
        Enrollment.objects.filter(tenant_id=tenant_id, user_id=user_id, course_id=course_id, active=True)
        .order_by(Case(When(batch_id=course_id, then=Value(0)), default=Value(1)), "enrolled_on_time", "id")
        .only("id", "tenant_id", "user_id", "course_id", "batch_id", "state")
        .first()
    )
    if enrollment is None:
        raise ApiError(
            "The user has no active enrollment in this course; enroll them (POST /enrollments) "
            "or have the enrollment approved first.",
            code="ERR_NOT_ENROLLED", result={"course_id": str(course_id), "user_id": str(user_id)},
        )
    return enrollment


def _track_lock_and_mark_started(*, enrollment: Enrollment, now: dt.datetime) -> None:
    """`course_track_mark_started` for the enrollment; its track is created first if it has none."""
    context = {
        "tenant_id": enrollment.tenant_id, "user_id": enrollment.user_id, "course_id": enrollment.course_id,
        "batch_id": enrollment.batch_id, "now": now, "enrollment_state": enrollment.state,
    }
    if not course_track_mark_started(**context):
        course_track_create_for_enrollment(enrollment=enrollment)
        course_track_mark_started(**context)


def lesson_attempt_start(
    *, tenant_id: uuid.UUID, user_id: uuid.UUID, lesson_id: uuid.UUID, course_id: uuid.UUID | None = None,
    published_only: bool = False, started_by: uuid.UUID | None = None, now: dt.datetime | None = None,
    action: str | None = None,
) -> tuple[LessonAttempt, bool]:
    """Starts (or resumes) the user's attempt at the lesson in a course context (DECISIONS §5).

    `action` (DECISIONS §11): None follows §5's order; "start" opens a new attempt even when an
    unfinished one could be resumed; "resume" only resumes (ConflictError 409
    ERR_NOTHING_TO_RESUME when there is nothing to). `attempt_next_step` decides.

    A new attempt records `started_by` (the caller; the user by default) as its `updated_by`
    (DECISIONS §8); a resumed attempt is returned as it is.
    Returns (attempt, created): created is False when an unfinished attempt was resumed.
    Raises NotFoundError (no such lesson; with `published_only`, none a learner can see),
    ApiError 400 ERR_NOT_PLACED / ERR_COURSE_REQUIRED / ERR_NOT_ENROLLED /
    ERR_PREREQUISITES_MISSING (result.missing_lesson_ids) / ERR_MAX_ATTEMPTS /
    ERR_CONTENT_NOT_IN_COURSE, and ConflictError 409 when there is nothing to resume or the
    attempts' numbers were taken by a write that bypassed the numbering.

    On PostgreSQL the common case, a new attempt at a released lesson with no prerequisites where
    `attempt_next_step` would not resume, is one statement (`_attempt_start_in_one_statement`).
    Anything else, or a statement that wrote nothing (a rule failed), takes the checked path in a
    transaction, which applies the same rules with the ORM and says which one refused; so does
    SQLite, which has no data-modifying WITH.
    """
    now = now or timezone.now()
    started_by = started_by or user_id
    if connection.vendor == "postgresql" and action != AttemptAction.RESUME:
        attempt = _attempt_start_in_one_statement(
            tenant_id=tenant_id, user_id=user_id, lesson_id=lesson_id, course_id=course_id, started_by=started_by,
            now=now, action=action,
        )
        if attempt is not None:
            return attempt, True
    return _attempt_start_checked(
        tenant_id=tenant_id, user_id=user_id, lesson_id=lesson_id, course_id=course_id,
        published_only=published_only, started_by=started_by, now=now, action=action,
    )


@functools.cache
def _creates_whatever_is_unfinished(*, resume: bool, action: str | None) -> bool:
    """Whether `attempt_next_step` opens a new attempt at a lesson with this `resume` setting and no
    missing prerequisites, whether or not an unfinished attempt exists. The one-statement start
    takes only those lessons, so it needs no read of the attempts and cannot drift from the
    decision that GET /lessons/tracking/status shows."""
    lesson = Lesson(resume=resume, no_of_attempts=0)
    return all(
        attempt_next_step(
            lesson=lesson, action=action, missing_prerequisites=[], unfinished=unfinished, attempts_used=None
        ).create
        for unfinished in (None, LessonAttempt(status=AttemptStatus.STARTED))
    )


def _attempt_start_in_one_statement(
    *, tenant_id, user_id, lesson_id, course_id, started_by, now: dt.datetime, action: str | None
) -> LessonAttempt | None:
    """A new attempt as one statement (PostgreSQL), with every rule of the checked path in it:

    - `chosen`: the lesson, published, with no prerequisites and a `resume` setting under which
      `attempt_next_step` creates; its released placement in the course named (or its only
      released course); the user's active enrollment there, the direct one first, as
      `_active_enrollment` picks it; and that enrollment's course track;
    - `number`: the counter row of (user, lesson, course), upserted and incremented, within the
      lesson's attempt limit (the increment's condition, evaluated on the locked row, so
      concurrent starts queue here and each sees the others' numbers). A missing or lagging row is
      healed from the attempts' own highest number and count;
    - `viewed`, `track`, `enrollment`: the consumption view start, the track's access and its move
      out of not started, and the enrollment's state, as the checked path writes them;
    - `attempt`: the insert, numbered.

    Locks are taken in the module's order with the counter first (the checked path takes it first
    too): counter → consumption → track. Returns the attempt, or None when a rule did not hold;
    then nothing was written. Raises ConflictError 409 when the number was taken by an attempt
    written past the counter at the same moment.
    """
    attempts = LessonAttempt._meta.db_table
    counters = LessonAttemptCounter._meta.db_table
    tracks = CourseTrack._meta.db_table
    enrollments = Enrollment._meta.db_table
    lessons = Lesson._meta.db_table
    placements = LessonPlacement._meta.db_table
    consumption = ContentConsumption._meta.db_table

    def released(p: str) -> str:
        return f"{p}.tenant_id = %(tenant_id)s AND {released_sql(placement=p, published='%(published)s')}"

    columns = ", ".join(_ATTEMPT_COLUMNS)
    sql = f"""
        WITH chosen AS (
            SELECT e.user_id, e.tenant_id, l.id AS lesson_id, p.course_id, e.batch_id, l.no_of_attempts
            FROM {lessons} l
            JOIN {placements} p ON p.lesson_id = l.id
            JOIN {enrollments} e ON e.course_id = p.course_id
            WHERE l.id = %(lesson_id)s AND l.tenant_id = %(tenant_id)s AND l.status = %(published)s
              AND COALESCE(l.eligibility_criteria, '[]'::jsonb) IN ('[]'::jsonb, 'null'::jsonb, '""'::jsonb)
              AND CASE WHEN l.resume THEN %(creates_if_resume)s ELSE %(creates_if_no_resume)s END
              AND {released("p")}
              AND (p.course_id = %(course_id)s OR %(course_id)s IS NULL AND NOT EXISTS (
                    SELECT 1 FROM {placements} other WHERE other.lesson_id = l.id
                    AND other.course_id <> p.course_id AND {released("other")}))
              AND e.user_id = %(user_id)s AND e.tenant_id = %(tenant_id)s AND e.active
            ORDER BY CASE WHEN e.batch_id = e.course_id THEN 0 ELSE 1 END, e.enrolled_on_time, e.id
            LIMIT 1
        ), context AS (
            -- `chosen` is one row at most. The track's key is compared to it read once (an
            -- InitPlan), not joined: joined, the planner could take the course's index and read
            -- every track of the course to find this learner's (migration 0009).
            SELECT chosen.* FROM chosen WHERE EXISTS (
                SELECT 1 FROM {tracks} t WHERE t.user_id = %(user_id)s
                AND (t.tenant_id, t.course_id, t.batch_id) = (SELECT tenant_id, course_id, batch_id FROM chosen))
        ), number AS (
            INSERT INTO {counters} (user_id, tenant_id, lesson_id, course_id, last_attempt, attempts_started)
            SELECT x.user_id, x.tenant_id, x.lesson_id, x.course_id, COALESCE(MAX(a.attempt), 0) + 1, COUNT(a.id) + 1
            FROM context x
            LEFT JOIN {attempts} a ON a.user_id = %(user_id)s AND a.tenant_id = x.tenant_id
                 AND a.lesson_id = x.lesson_id AND a.course_id = x.course_id
            GROUP BY x.user_id, x.tenant_id, x.lesson_id, x.course_id, x.no_of_attempts
            HAVING x.no_of_attempts = 0 OR COUNT(a.id) < x.no_of_attempts
            {_counter_claim_sql(limit="(SELECT no_of_attempts FROM context)")}
            RETURNING last_attempt
        ), viewed AS (
            INSERT INTO {consumption} ({CONSUMPTION_INSERT_COLUMNS})
            SELECT %(consumption_id)s, x.user_id, x.tenant_id, x.course_id, x.batch_id, x.lesson_id,
                   %(in_progress)s, 0, 1, %(now)s, %(now)s, NULL
            FROM context x, number
            ON CONFLICT {CONSUMPTION_CONFLICT_TARGET} DO UPDATE SET {view_start_merge_sql()}
            RETURNING 1
        ), track AS (
            -- Reading `viewed` makes the track wait for the consumption row: the lock order.
            -- The key is read once, not joined from `context`, as above: joined, at L the
            -- planner took the course's index here and read ~800 buffers to update one track.
            UPDATE {tracks} SET last_accessed_date = %(now)s,
                status = CASE WHEN status = %(not_started)s THEN %(track_in_progress)s ELSE status END,
                updated_at = CASE WHEN status = %(not_started)s THEN %(now)s ELSE updated_at END
            WHERE user_id = %(user_id)s
              AND (tenant_id, course_id, batch_id) = (SELECT tenant_id, course_id, batch_id FROM context)
              AND (SELECT count(*) FROM viewed) > 0
            RETURNING 1
        ), enrollment AS (
            UPDATE {enrollments} SET state = %(enrollment_in_progress)s FROM context x
            WHERE {enrollments}.user_id = %(user_id)s AND {enrollments}.tenant_id = x.tenant_id
              AND {enrollments}.course_id = x.course_id AND {enrollments}.batch_id = x.batch_id
              AND {enrollments}.state = %(enrollment_not_started)s AND EXISTS (SELECT 1 FROM track)
        ), attempt AS (
            INSERT INTO {attempts} ({columns})
            SELECT %(attempt_id)s, x.user_id, x.tenant_id, x.lesson_id, x.course_id, x.batch_id,
                   number.last_attempt, %(now)s, NULL, 0, %(started)s, 0, 0, 0, %(started_by)s, %(now)s
            FROM context x, number
            WHERE (SELECT count(*) FROM track) >= 0
            RETURNING {columns}
        )
        SELECT {columns} FROM attempt
    """
    params = {
        "tenant_id": tenant_id, "user_id": user_id, "lesson_id": lesson_id, "course_id": course_id,
        "published": ContentStatus.PUBLISHED.value,
        "creates_if_resume": _creates_whatever_is_unfinished(resume=True, action=action),
        "creates_if_no_resume": _creates_whatever_is_unfinished(resume=False, action=action),
        "consumption_id": time_ordered_uuid(), "in_progress": ConsumptionStatus.IN_PROGRESS.value, "now": now,
        "not_started": CourseTrackStatus.NOT_STARTED.value, "track_in_progress": CourseTrackStatus.IN_PROGRESS.value,
        "enrollment_not_started": EnrollmentState.NOT_STARTED.value,
        "enrollment_in_progress": EnrollmentState.IN_PROGRESS.value,
        "attempt_id": time_ordered_uuid(), "started": AttemptStatus.STARTED.value, "started_by": started_by,
    }
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
    except IntegrityError:
        raise _numbering_conflict() from None
    if row is None:
        return None
    return LessonAttempt.from_db(connection.alias, _ATTEMPT_ATTNAMES, row)


def _counter_claim_sql(*, limit: str) -> str:
    """The ON CONFLICT clause that claims the next attempt number on an existing counter row: one
    more than both the row's last number and the attempts' highest as the statement read them (a
    row that lags behind attempts written past it heals), only while fewer than `limit` (SQL; 0
    is unlimited) attempts were started. The row is locked before the condition is checked, so
    concurrent claims queue and each sees the one before."""
    counter = LessonAttemptCounter._meta.db_table
    greatest = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    started = f"{greatest}({counter}.attempts_started + 1, excluded.attempts_started)"
    return (
        "ON CONFLICT (user_id, tenant_id, lesson_id, course_id) DO UPDATE SET "
        f"last_attempt = {greatest}({counter}.last_attempt + 1, excluded.last_attempt), "
        f"attempts_started = {started} "
        f"WHERE {limit} = 0 OR {started} <= {limit}"
    )


def _numbering_conflict() -> ConflictError:
    return ConflictError(
        "Another attempt at this lesson was started at the same moment; retry the request.",
        code="ERR_ATTEMPT_CONFLICT",
    )


@transaction.atomic
def _attempt_start_checked(
    *, tenant_id, user_id, lesson_id, course_id, published_only: bool, started_by, now: dt.datetime,
    action: str | None,
) -> tuple[LessonAttempt, bool]:
    """Every case of `lesson_attempt_start`, with the ORM, in one transaction: lesson with
    placements, enrollment (plus the carry-forward setting and the completions when the lesson has
    prerequisites), the counter's lock (PostgreSQL), consumption upsert, track access, then
    `attempt_next_step` (with the unfinished attempt when it may resume) and the numbered insert."""
    lesson, course_ids = _lesson_placements(tenant_id=tenant_id, lesson_id=lesson_id, published_only=published_only)
    if lesson is None:
        lesson = _lesson_or_404(tenant_id=tenant_id, lesson_id=lesson_id, published_only=published_only)
    course_id = _chosen_course_id(course_ids, course_id)
    enrollment = _active_enrollment(tenant_id=tenant_id, user_id=user_id, course_id=course_id)
    batch_id = enrollment.batch_id

    if _eligibility_lesson_ids(lesson):
        _ensure_prerequisites_completed(
            lesson=lesson, tenant_id=tenant_id, user_id=user_id, course_id=course_id, batch_id=batch_id,
            carry=tenant_carries_forward(tenant_id=tenant_id),
        )

    sequence = {"tenant_id": tenant_id, "user_id": user_id, "lesson_id": lesson.id, "course_id": course_id}
    # Lock order: counter, then consumption row, then track (see the module docstring). The counter
    # lock also queues concurrent starts of one sequence, so at most one of them finds nothing to
    # resume. SQLite locks the whole database for a write: no order to keep.
    if connection.vendor == "postgresql":
        _attempt_counter_upsert(**sequence, claim=False, limit=0)
    consumption_record_view_start(
        user_id=user_id, tenant_id=tenant_id, collection_id=course_id, batch_id=batch_id, content_id=lesson.id, now=now
    )
    _track_lock_and_mark_started(enrollment=enrollment, now=now)
    return _attempt_resume_or_create(
        tenant_id=tenant_id, user_id=user_id, lesson=lesson, course_id=course_id, batch_id=batch_id, now=now,
        started_by=started_by, action=action,
    )


def _user_attempts(*, tenant_id, user_id, lesson_id, course_id):
    return LessonAttempt.objects.filter(user_id=user_id, tenant_id=tenant_id, lesson_id=lesson_id, course_id=course_id)


def _latest_unfinished(attempts) -> LessonAttempt | None:
    return attempts.exclude(status=AttemptStatus.COMPLETED).order_by("-attempt").first()


def _attempt_resume_or_create(
    *, tenant_id, user_id, lesson: Lesson, course_id, batch_id, now, started_by, action: str | None
) -> tuple[LessonAttempt, bool]:
    """Under the track lock, what `attempt_next_step` decides: resume the latest unfinished
    attempt, or insert attempt n+1 within the lesson's attempt limit (applied by the insert
    itself; the count is read only to explain a refusal)."""
    attempts = _user_attempts(tenant_id=tenant_id, user_id=user_id, lesson_id=lesson.id, course_id=course_id)
    # Read only when the decision can use it: a lesson without `resume` creates by default.
    unfinished = _latest_unfinished(attempts) if lesson.resume or action == AttemptAction.RESUME else None
    step = attempt_next_step(
        lesson=lesson, action=action, missing_prerequisites=[], unfinished=unfinished, attempts_used=None
    )
    if step.refusal is not None:
        raise step.refusal
    if step.resume is not None:
        return step.resume, False
    attempt = _attempt_insert_next(
        tenant_id=tenant_id, user_id=user_id, lesson=lesson, course_id=course_id, batch_id=batch_id, now=now,
        started_by=started_by,
    )
    if attempt is None:
        # The insert found the limit reached: the same decision, now with the count, says why.
        refusal = attempt_next_step(
            lesson=lesson, action=action, missing_prerequisites=[], unfinished=unfinished,
            attempts_used=attempts.count(),
        ).refusal
        raise refusal or _attempts_used_up(lesson, lesson.no_of_attempts)
    return attempt, True


@dataclass(frozen=True)
class LessonAttemptStatus:
    """What GET /lessons/tracking/status answers (DECISIONS §11)."""

    lesson: Lesson
    course_id: uuid.UUID
    default_step: AttemptStep
    start_step: AttemptStep
    resume_step: AttemptStep
    attempts_used: int
    prerequisites: list[tuple[uuid.UUID, str, bool]]  # (lesson id, title, completed), in the lesson's order
    last_attempt: LessonAttempt | None


def lesson_attempt_status(
    *, tenant_id: uuid.UUID, user_id: uuid.UUID, lesson_id: uuid.UUID, course_id: uuid.UUID | None = None,
    published_only: bool = False,
) -> LessonAttemptStatus:
    """What POST /lessons/tracking would do next for the user, without writing anything: the same
    context checks as the start (NotFoundError, ApiError 400 ERR_NOT_PLACED / ERR_COURSE_REQUIRED /
    ERR_NOT_ENROLLED / ERR_CONTENT_NOT_IN_COURSE) and the same `attempt_next_step`, once per action.

    A read beside the start rather than in selectors, because it must share the start's private
    steps to stay exact. At most eight queries: lesson with placements, enrollment, carry setting,
    completed prerequisites and their titles (only with prerequisites), attempt count, latest
    attempt, latest unfinished attempt.
    """
    lesson, course_ids = _lesson_placements(tenant_id=tenant_id, lesson_id=lesson_id, published_only=published_only)
    if lesson is None:
        lesson = _lesson_or_404(tenant_id=tenant_id, lesson_id=lesson_id, published_only=published_only)
    course_id = _chosen_course_id(course_ids, course_id)
    enrollment = _active_enrollment(tenant_id=tenant_id, user_id=user_id, course_id=course_id)
    prerequisite_ids = _eligibility_lesson_ids(lesson)
    prerequisites: list[tuple[uuid.UUID, str, bool]] = []
    missing: list[uuid.UUID] = []
    if prerequisite_ids:
        done = _prerequisites_completed(
            lesson=lesson, tenant_id=tenant_id, user_id=user_id, course_id=course_id, batch_id=enrollment.batch_id,
            carry=tenant_carries_forward(tenant_id=tenant_id),
        )
        titles = dict(Lesson.objects.filter(tenant_id=tenant_id, pk__in=prerequisite_ids).values_list("id", "title"))
        prerequisites = [(p, titles.get(p, ""), p in done) for p in prerequisite_ids]
        missing = [p for p in prerequisite_ids if p not in done]
    attempts = _user_attempts(tenant_id=tenant_id, user_id=user_id, lesson_id=lesson.id, course_id=course_id)
    used = attempts.count()
    last_attempt = attempts.order_by("-attempt").first()
    unfinished = (
        last_attempt if last_attempt is not None and last_attempt.status != AttemptStatus.COMPLETED
        else _latest_unfinished(attempts) if used else None
    )

    def step(action):
        return attempt_next_step(
            lesson=lesson, action=action, missing_prerequisites=missing, unfinished=unfinished, attempts_used=used
        )

    return LessonAttemptStatus(
        lesson=lesson, course_id=course_id, default_step=step(None), start_step=step(AttemptAction.START),
        resume_step=step(AttemptAction.RESUME), attempts_used=used, prerequisites=prerequisites,
        last_attempt=last_attempt,
    )


def _attempt_counter_upsert(*, tenant_id, user_id, lesson_id, course_id, claim: bool, limit: int) -> int | None:
    """Upserts the counter row of (user, lesson, course), which locks it. With `claim`, takes the
    next attempt number within `limit` (0: unlimited) and returns it, or None when the limit is
    reached; without, only creates or heals the row (from the attempts' highest number and count)
    and returns its last number."""
    counter = LessonAttemptCounter._meta.db_table
    attempts = LessonAttempt._meta.db_table
    step = 1 if claim else 0
    if claim:
        conflict = _counter_claim_sql(limit="%s")
    else:
        greatest = "GREATEST" if connection.vendor == "postgresql" else "MAX"
        conflict = (
            "ON CONFLICT (user_id, tenant_id, lesson_id, course_id) DO UPDATE SET "
            f"last_attempt = {greatest}({counter}.last_attempt, excluded.last_attempt), "
            f"attempts_started = {greatest}({counter}.attempts_started, excluded.attempts_started)"
        )
    sql = f"""
        INSERT INTO {counter} (user_id, tenant_id, lesson_id, course_id, last_attempt, attempts_started)
        SELECT %s, %s, %s, %s, numbers.last + {step}, numbers.used + {step}
        FROM (SELECT COALESCE(MAX(attempt), 0) AS last, COUNT(*) AS used FROM {attempts}
              WHERE user_id = %s AND tenant_id = %s AND lesson_id = %s AND course_id = %s) numbers
        WHERE %s = 0 OR numbers.used + {step} <= %s
        {conflict}
        RETURNING last_attempt
    """
    sequence = [user_id, tenant_id, lesson_id, course_id]
    params = [*sequence, *sequence, limit, limit, *([limit, limit] if claim else [])]
    with connection.cursor() as cursor:
        cursor.execute(sql, adapt_params(params))
        row = cursor.fetchone()
    return row[0] if row else None


def _attempt_insert_next(
    *, tenant_id, user_id, lesson: Lesson, course_id, batch_id, now, started_by
) -> LessonAttempt | None:
    """Claims attempt n+1 from the counter within the lesson's attempt limit and inserts it. The
    caller holds the counter's and the track's locks. Returns the attempt, or None when the limit
    is reached. Raises ConflictError 409 if the number was taken anyway (an attempt written past
    the counter at the same moment): the unique constraint is the backstop, and the whole start
    rolls back so the client can retry."""
    number = _attempt_counter_upsert(
        tenant_id=tenant_id, user_id=user_id, lesson_id=lesson.id, course_id=course_id, claim=True,
        limit=lesson.no_of_attempts,
    )
    if number is None:
        return None
    attempt = LessonAttempt(
        user_id=user_id, tenant_id=tenant_id, lesson_id=lesson.id, course_id=course_id, batch_id=batch_id,
        attempt=number, timestart=now, timeend=None, score=0.0, status=AttemptStatus.STARTED, total_content=0,
        current_position=0, time_spent=0, updated_by=started_by, updated_at=now,
    )
    try:
        insert_rows([attempt])
    except IntegrityError:
        raise _numbering_conflict() from None
    return attempt


_ATTEMPT_FIELDS = ("status", "score", "total_content", "current_position", "time_spent")
_ATTEMPT_COLUMNS = [f.column for f in LessonAttempt._meta.concrete_fields]
_ATTEMPT_ATTNAMES = [f.attname for f in LessonAttempt._meta.concrete_fields]


def lesson_attempt_update(
    *, tenant_id: uuid.UUID, attempt_id: uuid.UUID, updated_by: uuid.UUID, may_update_others: bool,
    changes: dict[str, Any], now: dt.datetime | None = None,
) -> LessonAttempt:
    """Applies the client's progress to an unfinished attempt (DECISIONS §5).

    `changes` holds any of status, score, total_content, current_position, time_spent. The
    attempt completes when status is `completed` or `current_position >= total_content > 0`; an
    empty change completes nothing. Completion sets `timeend` and records the lesson completion
    (course track recount, certificate) in this transaction. Returns the attempt.
    Raises NotFoundError (not in this tenant), ForbiddenError (a learner's attempt that is not
    theirs), ConflictError 409 ERR_ATTEMPT_COMPLETED, ApiError 400 ERR_NOT_ENROLLED (no active
    enrollment for the attempt's course and batch), ERR_TIME_SPENT_DECREASED or ERR_VALIDATION
    (score above the lesson's totalMarks).
    """
    now = now or timezone.now()
    changes = {name: value for name, value in changes.items() if name in _ATTEMPT_FIELDS}
    # Progress reports are the hot path; PostgreSQL applies one whose every rule holds in a
    # single statement. SQLite has no data-modifying WITH, and anything else (a completion, an
    # empty change, a broken rule) takes the general path, which also says which rule failed.
    if changes and changes.get("status") != AttemptStatus.COMPLETED and connection.vendor == "postgresql":
        attempt = _attempt_progress_in_one_statement(
            tenant_id=tenant_id, attempt_id=attempt_id, updated_by=updated_by,
            may_update_others=may_update_others, changes=changes, now=now,
        )
        if attempt is not None:
            return attempt
    return _attempt_update_locked(
        tenant_id=tenant_id, attempt_id=attempt_id, updated_by=updated_by, may_update_others=may_update_others,
        changes=changes, now=now,
    )


def _attempt_progress_in_one_statement(
    *, tenant_id, attempt_id, updated_by, may_update_others: bool, changes: dict[str, Any], now: dt.datetime
) -> LessonAttempt | None:
    """A progress report that does not complete the attempt, as one statement (PostgreSQL): the
    attempt update carries every rule of `_attempt_update_locked` in its WHERE clause, and the
    consumption upsert and the track's last access follow from the updated row, in the lock order
    of this module (attempt → consumption → track). Returns the updated attempt, or None when a
    rule does not hold or the report would complete the attempt; nothing is written then.
    """
    attempts = LessonAttempt._meta.db_table
    tracks = CourseTrack._meta.db_table
    enrollments = Enrollment._meta.db_table
    lessons = Lesson._meta.db_table

    def new_value(name: str) -> tuple[str, list]:
        return ("%s", [changes[name]]) if name in changes else (f"{attempts}.{name}", [])

    assignments = [f"{name} = %s" for name in changes] + ["updated_by = %s", "updated_at = %s"]
    params: list[Any] = [*changes.values(), updated_by, now]
    rules = [
        f"{attempts}.id = %s", f"{attempts}.tenant_id = %s", f"{attempts}.status <> %s",
        f"EXISTS (SELECT 1 FROM {enrollments} e WHERE e.user_id = {attempts}.user_id "
        f"AND e.tenant_id = {attempts}.tenant_id AND e.course_id = {attempts}.course_id "
        f"AND e.batch_id = {attempts}.batch_id AND e.active)",
    ]
    params += [attempt_id, tenant_id, AttemptStatus.COMPLETED.value]
    if not may_update_others:
        # Also what routes the statement to the learner's shard (lms/routing.py).
        rules.append(f"{attempts}.user_id = %s")
        params.append(updated_by)
    if "time_spent" in changes:
        rules.append(f"{attempts}.time_spent <= %s")
        params.append(changes["time_spent"])
    if "score" in changes:
        rules.append(f"NOT EXISTS (SELECT 1 FROM {lessons} l WHERE l.id = {attempts}.lesson_id AND l.total_marks < %s)")
        params.append(changes["score"])
    position, position_params = new_value("current_position")
    total, total_params = new_value("total_content")
    rules.append(f"NOT ({position} >= {total} AND {total} > 0)")
    params += position_params + total_params + total_params

    columns = ", ".join(_ATTEMPT_COLUMNS)
    sql = f"""
        WITH attempt AS (
            UPDATE {attempts} SET {", ".join(assignments)} WHERE {" AND ".join(rules)} RETURNING {columns}
        ), progress AS (
            INSERT INTO {ContentConsumption._meta.db_table} ({CONSUMPTION_INSERT_COLUMNS})
            SELECT %s, user_id, tenant_id, course_id, batch_id, lesson_id, %s,
                   LEAST(100, CAST(current_position AS bigint) * 100 / total_content), 0, %s, %s, NULL
            FROM attempt WHERE total_content > 0
            ON CONFLICT {CONSUMPTION_CONFLICT_TARGET} DO UPDATE SET {progress_merge_sql()}
            RETURNING 1
        ), track AS (
            -- Reading `progress` makes the track wait for the consumption row: the lock order.
            -- The key is read once (an InitPlan), not joined: keys compared to a join's columns
            -- get no help from the track statistics (migration 0009), and the planner then took
            -- the course's index and read every track of the course to find this one.
            UPDATE {tracks} SET last_accessed_date = %s
            WHERE (user_id, tenant_id, course_id, batch_id)
                  = (SELECT user_id, tenant_id, course_id, batch_id FROM attempt)
              AND (SELECT count(*) FROM progress) >= 0
        )
        SELECT {columns} FROM attempt
    """
    params += [time_ordered_uuid(), ConsumptionStatus.IN_PROGRESS.value, now, now, now]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    return LessonAttempt.from_db(connection.alias, _ATTEMPT_ATTNAMES, row)


@transaction.atomic
def _attempt_update_locked(
    *, tenant_id, attempt_id, updated_by, may_update_others: bool, changes: dict[str, Any], now: dt.datetime
) -> LessonAttempt:
    """Every case of `lesson_attempt_update`, under the attempt's row lock."""
    # The row lock makes concurrent completes of one attempt queue: the first completes it, the
    # others then read `completed` and answer 409.
    attempts = LessonAttempt.objects.select_for_update(of=("self",)).select_related("lesson").filter(
        tenant_id=tenant_id, pk=attempt_id
    )
    # A learner's lookup names the learner too, so a table distributed by user routes it
    # (lms/routing.py); staff look the attempt up by its id alone.
    attempt = (attempts if may_update_others else attempts.filter(user_id=updated_by)).first()
    if attempt is None:
        if not may_update_others and LessonAttempt.objects.filter(tenant_id=tenant_id, pk=attempt_id).exists():
            raise ForbiddenError("Learners may only update their own lesson attempts.")
        raise NotFoundError("No lesson attempt with that id in this tenant.")
    if attempt.status == AttemptStatus.COMPLETED:
        raise ConflictError(
            "This attempt is completed and final; start a new attempt (POST /lessons/tracking) to improve on it.",
            code="ERR_ATTEMPT_COMPLETED", result={"id": str(attempt.id), "status": attempt.status},
        )
    # Deactivation (or a pending approval) stops progress, as it stops starting attempts.
    if not Enrollment.objects.filter(
        tenant_id=tenant_id, user_id=attempt.user_id, course_id=attempt.course_id, batch_id=attempt.batch_id,
        active=True,
    ).exists():
        raise ApiError(
            "The user has no active enrollment for this attempt's course and batch; have the enrollment "
            "approved or re-activated first.",
            code="ERR_NOT_ENROLLED",
            result={"course_id": str(attempt.course_id), "batch_id": str(attempt.batch_id),
                    "user_id": str(attempt.user_id)},
        )
    if "time_spent" in changes and changes["time_spent"] < attempt.time_spent:
        raise ApiError(
            f"time_spent is the running total in seconds and may not go down (stored {attempt.time_spent}).",
            code="ERR_TIME_SPENT_DECREASED",
            result={"errors": {"time_spent": [f"Must be at least {attempt.time_spent}."]}},
        )
    total_marks = attempt.lesson.total_marks
    if "score" in changes and total_marks is not None and changes["score"] > total_marks:
        raise ApiError(
            f"score: may not exceed the lesson's totalMarks ({total_marks}).",
            code="ERR_VALIDATION", result={"errors": {"score": [f"Must be at most {total_marks}."]}},
        )
    for name, value in changes.items():
        setattr(attempt, name, value)
    completes = bool(changes) and (
        attempt.status == AttemptStatus.COMPLETED or attempt.current_position >= attempt.total_content > 0
    )
    if completes:
        attempt.status = AttemptStatus.COMPLETED
        attempt.timeend = now
    attempt.updated_by = updated_by
    attempt.updated_at = now
    save_pinned_to_user(attempt, update_fields=[*changes, "timeend", "status", "updated_by", "updated_at"])
    context = {"user_id": attempt.user_id, "tenant_id": tenant_id, "collection_id": attempt.course_id,
               "batch_id": attempt.batch_id, "content_id": attempt.lesson_id}
    if completes:
        lesson_completion_record(
            tenant_id=tenant_id, user_id=attempt.user_id, course_id=attempt.course_id, batch_id=attempt.batch_id,
            lesson_id=attempt.lesson_id, now=now,
        )
    elif changes:
        if attempt.total_content > 0:
            progress = min(100, attempt.current_position * 100 // attempt.total_content)
            consumption_record_progress(**context, progress=progress, now=now)
        CourseTrack.objects.filter(
            tenant_id=tenant_id, user_id=attempt.user_id, course_id=attempt.course_id, batch_id=attempt.batch_id
        ).update(last_accessed_date=now)
    return attempt


# ---------------------------------------------------------------------------------------------
# Staff override of a course track

_OVERRIDE_FIELDS = (
    "status", "completed_lessons", "no_of_lessons", "timestart", "timeend", "last_accessed_date", "cert_gen_date",
)


def _audit_value(value):
    return value.isoformat() if isinstance(value, dt.datetime) else value


@transaction.atomic
def course_track_override(
    *, tenant_id: uuid.UUID, track_id: uuid.UUID, changed_by: uuid.UUID, changes: dict[str, Any],
    now: dt.datetime | None = None,
) -> CourseTrack:
    """An admin/instructor override of a course track, audited in the same transaction.

    `changes` holds any of status, completed_lessons, no_of_lessons, timestart, timeend,
    last_accessed_date, cert_gen_date. The enrollment's state follows the status. Completing
    sets `timeend` when none is given; setting `cert_gen_date` issues the certificate record if
    none exists; a track left completed without one gets it when the course's rule is met and the
    enrollment is active.
    A later recount re-derives the counters from the facts but never downgrades `completed`.
    Returns the track. Raises NotFoundError, ApiError 400 ERR_VALIDATION (completed_lessons above
    no_of_lessons, timeend before timestart, clearing a set timeend, clearing cert_gen_date of an issued
    certificate).
    """
    now = now or timezone.now()
    track = CourseTrack.objects.select_for_update().filter(tenant_id=tenant_id, pk=track_id).first()
    if track is None:
        raise NotFoundError("No course track with that id in this tenant.")
    old = {name: getattr(track, name) for name in _OVERRIDE_FIELDS}
    changes = {name: value for name, value in changes.items() if name in _OVERRIDE_FIELDS}
    for name, value in changes.items():
        setattr(track, name, value)
    if track.status == CourseTrackStatus.COMPLETED and old["status"] != CourseTrackStatus.COMPLETED and (
        track.timeend is None
    ):
        track.timeend = now
    errors: dict[str, list[str]] = {}
    if track.completed_lessons > track.no_of_lessons:
        errors["completed_lessons"] = [f"Must be at most no_of_lessons ({track.no_of_lessons})."]
    if "timeend" in changes and changes["timeend"] is None and old["timeend"] is not None:
        errors["timeend"] = ["timeend is completedOn, set once and never cleared; send a corrected time instead."]
    elif track.timeend is not None and track.timeend < track.timestart:
        errors["timeend"] = ["Must not be before timestart."]
    certificate = IssuedCertificate.objects.filter(track=track).first()
    if certificate is not None and track.cert_gen_date is None:
        errors["cert_gen_date"] = ["A certificate was issued for this track; it cannot be cleared."]
    if errors:
        field_name, messages = next(iter(errors.items()))
        raise ApiError(f"{field_name}: {messages[0]}", code="ERR_VALIDATION", result={"errors": errors})

    course = Course.objects.only("id", "title", "certificate_term", "certificate_id").get(pk=track.course_id)
    if certificate is None:
        if track.cert_gen_date is not None:
            _issue_certificate(track=track, course=course, issued_at=track.cert_gen_date)
        elif (
            track.status == CourseTrackStatus.COMPLETED
            and Enrollment.objects.filter(pk=track.enrollment_id, active=True).exists()
            and _certificate_rule_met(track=track, course=course)
        ):
            _issue_certificate(track=track, course=course, issued_at=now)
    new = {name: getattr(track, name) for name in _OVERRIDE_FIELDS}
    # A track completed before keeps its timeend (it is never cleared): only a first completion is news.
    if new["status"] == CourseTrackStatus.COMPLETED and old["timeend"] is None:
        _course_completed_record(track=track)
    changed = [name for name in _OVERRIDE_FIELDS if new[name] != old[name]]
    if changed:
        track.updated_at = now
        track.save(update_fields=[*changed, "updated_at"])
        CourseTrackOverride.objects.create(
            tenant_id=tenant_id, track=track, changed_by=changed_by,
            old_values={name: _audit_value(old[name]) for name in changed},
            new_values={name: _audit_value(new[name]) for name in changed},
        )
    _sync_enrollment_state(track)
    return track
