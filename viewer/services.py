"""Writes of the viewer API (DECISIONS §6): content views, assessments, summary deletion,
program enrolment, and the enrolment updater job.

A content view happens in a context (user, collection, batch, content) given by the key
cascade. In a course context the course must exist in the tenant, the user must hold an
active enrolment for (course, batch) and the content must be one of the course's lessons;
completing it there goes through `lesson_completion_record`, the one path by which a lesson
gets completed for a course track, so both APIs show one truth.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import uuid
from collections.abc import Sequence

from django.db import connection, transaction
from django.db.models import Exists, JSONField, OuterRef, Subquery
from django.utils import timezone

from courses.models import ContentStatus, Course, Lesson, LessonPlacement
from courses.selectors import released_placements, released_sql
from enrollment.models import Enrollment
from enrollment.services import enrollment_create, enrollment_self_enrollment_starts_active
from lms.api.errors import ApiError, ConflictError, ForbiddenError, NotFoundError
from lms.celery import send_task_after_commit
from lms.events import catalogue as events
from lms.events.services import event_record
from lms.rawsql import compiled_once, sql_literal
from tracking.assessments import SubmittedAttempt, assessment_attempts_record
from tracking.consumption import (
    SqlCondition,
    consumption_record_progress,
    consumption_record_view_start,
)
from tracking.selectors import tenant_carries_forward_exists
from tracking.services import (
    course_track_mark_started,
    course_tracks_recount_for_enrollments,
    lesson_completion_record,
    lesson_prerequisites_ensure,
    lesson_progress_record,
    standalone_completion_record,
)
from viewer.models import OutboxEvent, Program, SummaryDeletion

PROGRAM_ENROLMENT_TASK = "viewer.program_enrolment_run"

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ViewContext:
    """Where a content view is recorded: (user, collection, batch, content) in a tenant."""

    tenant_id: uuid.UUID
    user_id: uuid.UUID
    collection_id: uuid.UUID
    batch_id: uuid.UUID
    content_id: uuid.UUID

    @property
    def in_course(self) -> bool:
        """Standalone content is its own collection; anything else names a course."""
        return self.collection_id != self.content_id

    def keys(self) -> dict[str, uuid.UUID]:
        return {
            "tenant_id": self.tenant_id, "user_id": self.user_id, "collection_id": self.collection_id,
            "batch_id": self.batch_id, "content_id": self.content_id,
        }


def view_context(
    *, tenant_id: uuid.UUID, user_id: uuid.UUID, content_id: uuid.UUID,
    collection_id: uuid.UUID | None = None, batch_id: uuid.UUID | None = None,
) -> ViewContext:
    """The key cascade: collection ← collectionId or contentId; batch ← batchId or collection."""
    collection_id = collection_id or content_id
    return ViewContext(
        tenant_id=tenant_id, user_id=user_id, collection_id=collection_id, batch_id=batch_id or collection_id,
        content_id=content_id,
    )


def _course_context_query(*, tenant_id, user_id, collection_id, batch_id, content_id):
    """The course (of this tenant, not archived) with the user's enrolment in the batch and whether
    the content is a placed and a released lesson of the course: one row, or none."""
    return (
        Course.objects.filter(pk=collection_id, tenant_id=tenant_id)
        .exclude(status=ContentStatus.ARCHIVED)
        .annotate(
            enrollment_active=Subquery(
                Enrollment.objects.filter(
                    user_id=user_id, tenant_id=tenant_id, course_id=OuterRef("pk"), batch_id=batch_id,
                ).values("active")[:1]
            ),
            content_placed=Exists(
                LessonPlacement.objects.filter(course_id=OuterRef("pk"), lesson_id=content_id, archived=False)
                .exclude(lesson__status=ContentStatus.ARCHIVED)
            ),
            content_released=Exists(released_placements(course_id=OuterRef("pk"), lesson_id=content_id)),
        )
        .values_list("enrollment_active", "content_placed", "content_released")
    )


def _ensure_course_context(context: ViewContext) -> None:
    """One query: the course (of this tenant, not archived), the user's enrolment in the batch,
    and whether the content is a released lesson of the course. Raises ApiError (400)."""
    _judge_course_context(_course_context_query(**context.keys()).first())


def _judge_course_context(found: tuple | None) -> None:
    """Raises the ApiError (400) that `_course_context_query`'s row calls for, if any."""
    if found is None:
        # Unknown and other tenants' courses answer alike, so existence does not leak.
        raise ApiError(
            "collectionId names no course in this tenant; send a course id, or leave collectionId out for "
            "standalone content.",
            code="ERR_UNKNOWN_COURSE",
        )
    enrollment_active, content_placed, content_released = found
    if enrollment_active is None:
        raise ApiError(
            "The user is not enrolled in this course for that batchId; enrol first (batchId defaults to "
            "the course id, or is the program id for program enrolments).",
            code="ERR_NOT_ENROLLED",
        )
    if not enrollment_active:
        raise ApiError(
            "The user's enrolment in this course is not active (awaiting approval or deactivated); ask an "
            "admin or instructor to activate it.",
            code="ERR_NOT_ENROLLED",
        )
    if not content_placed:
        raise ApiError(
            "contentId is not a lesson of this course; send a lesson id placed in the course, or leave "
            "collectionId out for standalone content.",
            code="ERR_CONTENT_NOT_IN_COURSE",
        )
    if not content_released:
        raise ApiError(
            "contentId is not released in this course: progress counts only once the lesson, the module "
            "that places it and the course are all published; publish them first.",
            code="ERR_CONTENT_NOT_IN_COURSE",
        )


def _completable_query():
    """`_course_context_query` with what completing also needs: the lesson's prerequisites and the
    tenant's carry-forward policy. Compiled once: it is every completing request's first query."""

    def build(**keys):
        return _course_context_query(**keys).annotate(
            eligibility_criteria=Subquery(
                Lesson.objects.filter(pk=keys["content_id"], tenant_id=keys["tenant_id"]).values("eligibility_criteria")[:1],
                output_field=JSONField(),
            ),
            carries_forward=tenant_carries_forward_exists(tenant_id=keys["tenant_id"]),
        ).values_list("enrollment_active", "content_placed", "content_released", "eligibility_criteria",
                      "carries_forward")[:1]

    return compiled_once(("viewer-completable",), build, ("tenant_id", "user_id", "collection_id", "batch_id", "content_id"))


def _ensure_completable_in_course(context: ViewContext) -> bool:
    """A lesson completed through the viewer passes the same checks as a lesson attempt: the
    course context, then its prerequisites (ApiError 400 ERR_PREREQUISITES_MISSING). One query,
    and one more when the lesson has prerequisites. Returns whether the tenant carries completions
    forward."""
    query = _completable_query()
    with connection.cursor() as cursor:
        cursor.execute(query.sql, query.params(**context.keys()))
        found = cursor.fetchone()
    if found is not None:
        enrollment_active, content_placed, content_released, criteria, carries_forward = found
        found = (None if enrollment_active is None else bool(enrollment_active), bool(content_placed),
                 bool(content_released))
    _judge_course_context(found)
    # Not every database driver decodes JSON in a raw row.
    criteria = json.loads(criteria) if isinstance(criteria, str) else criteria
    lesson_prerequisites_ensure(
        tenant_id=context.tenant_id, user_id=context.user_id, course_id=context.collection_id,
        batch_id=context.batch_id, lesson_id=context.content_id,
        eligibility_criteria=criteria, carry=bool(carries_forward),
    )
    return bool(carries_forward)


def _complete(context: ViewContext, now: dt.datetime, carry: bool | None = None) -> None:
    if context.in_course:
        lesson_completion_record(
            tenant_id=context.tenant_id, user_id=context.user_id, course_id=context.collection_id,
            batch_id=context.batch_id, lesson_id=context.content_id, now=now, source="viewer", carry=carry,
        )
    else:
        standalone_completion_record(
            tenant_id=context.tenant_id, user_id=context.user_id, content_id=context.content_id, now=now
        )


@transaction.atomic
def view_start(*, context: ViewContext, now: dt.datetime | None = None) -> None:
    """Records a view start: creates the consumption row in progress or counts one more view
    (a revisit changes nothing else). In a course context the course track records the access
    and moves to in progress. Raises ApiError (400) for a course context the user cannot consume in."""
    now = now or timezone.now()
    if context.in_course:
        _ensure_course_context(context)
    consumption_record_view_start(**context.keys(), now=now)
    if context.in_course:
        course_track_mark_started(
            tenant_id=context.tenant_id, user_id=context.user_id, course_id=context.collection_id,
            batch_id=context.batch_id, now=now,
        )


def _course_context_condition() -> SqlCondition:
    """`_ensure_course_context` as one SQL condition, for writes that check and write in one
    statement: an active enrolment of the user in (course, batch), and a released placement of the
    content in the course (`courses.selectors.released_sql`: lesson, module and course published),
    the course being the tenant's. The course is probed once, inside the released check: the
    enrolment's probe joined it again for its tenant and status. It names the written row's keys,
    which the statement binds (`SqlCondition`)."""
    enrollment = Enrollment._meta.db_table
    placement = LessonPlacement._meta.db_table
    published = sql_literal(ContentStatus.PUBLISHED.value)
    released = released_sql(placement="p", published=published, course_tenant="%(tenant_id)s")
    return SqlCondition(
        f"EXISTS (SELECT 1 FROM {enrollment} e "
        "WHERE e.user_id = %(user_id)s AND e.tenant_id = %(tenant_id)s AND e.course_id = %(collection_id)s "
        "AND e.batch_id = %(batch_id)s AND e.active) "
        f"AND EXISTS (SELECT 1 FROM {placement} p "
        f"WHERE p.course_id = %(collection_id)s AND p.lesson_id = %(content_id)s AND {released})"
    )


# The same for every request (the keys are the statement's), so built once.
_COURSE_CONTEXT = _course_context_condition()


def view_progress_update(*, context: ViewContext, progress: int, now: dt.datetime | None = None) -> None:
    """The hot path: merges progress by maximum while the content is not completed.

    In a course context the course-context check rides in the write, which also records the
    course track's access and moves it out of not started (`lesson_progress_record`: one
    statement on PostgreSQL). It never reads the course's lessons and never recounts the track,
    whose counters change only on completion.
    Raises ApiError (400) for a course context the user cannot consume in.
    """
    now = now or timezone.now()
    if not context.in_course:
        consumption_record_progress(**context.keys(), progress=progress, now=now)
        return
    lesson_progress = {
        "tenant_id": context.tenant_id, "user_id": context.user_id, "course_id": context.collection_id,
        "batch_id": context.batch_id, "lesson_id": context.content_id, "progress": progress, "now": now,
    }
    if lesson_progress_record(**lesson_progress, only_if=_COURSE_CONTEXT):
        return
    # Nothing was written: find out which rule failed, to answer it precisely (raises).
    _ensure_course_context(context)
    # The context became valid between the two statements (an enrolment was activated): write.
    if not lesson_progress_record(**lesson_progress, only_if=_COURSE_CONTEXT):
        # The SQL and ORM statements of the rules disagree, or the context changed again: never a
        # silent 200 for a write that was not stored.
        raise ConflictError(
            "The course context changed while this progress was being recorded; send it again.",
            code="ERR_CONTEXT_CHANGED",
        )


@transaction.atomic
def view_end(*, context: ViewContext, now: dt.datetime | None = None) -> None:
    """Completes the content (status 2, progress 100). In a course context this completes
    the lesson for the course track in the same transaction (recount, completion and
    certificate once). Raises ApiError (400) for a course context the user cannot consume in, or
    ERR_PREREQUISITES_MISSING (result.missing_lesson_ids) when the lesson's prerequisites are
    not completed in that context."""
    now = now or timezone.now()
    carry = _ensure_completable_in_course(context) if context.in_course else None
    _complete(context, now, carry)


@transaction.atomic
def content_assessment_submit(
    *, context: ViewContext, attempts: Sequence[SubmittedAttempt], now: dt.datetime | None = None
) -> int:
    """Stores the scored attempts (a known attempt id is replaced only by a newer submission),
    then completes the content as `view_end` does. Returns how many attempts were stored or
    replaced. Raises ApiError (400) for a course context the user cannot consume in, or
    ERR_PREREQUISITES_MISSING as `view_end` does."""
    now = now or timezone.now()
    carry = _ensure_completable_in_course(context) if context.in_course else None
    stored = assessment_attempts_record(**context.keys(), attempts=attempts, now=now)
    _complete(context, now, carry)
    return stored


# --- Summaries --------------------------------------------------------------------------


@transaction.atomic
def summary_delete(
    *, tenant_id: uuid.UUID, user_id: uuid.UUID, deleted_by: uuid.UUID, all_enrolments: bool = False,
    collection_id: uuid.UUID | None = None, batch_id: uuid.UUID | None = None,
) -> int:
    """Hides enrolment summaries: all of the user's (`all_enrolments`) or the one enrolment
    (collection, batch ← collection). Consumption and assessment rows are never deleted.
    Returns how many enrolments were named (deleting twice is harmless). Raises NotFoundError
    when the one named enrolment does not exist in the tenant."""
    enrollments = Enrollment.objects.filter(tenant_id=tenant_id, user_id=user_id)
    if not all_enrolments:
        batch_id = batch_id or collection_id
        enrollments = enrollments.filter(course_id=collection_id, batch_id=batch_id)
    contexts = list(enrollments.values_list("course_id", "batch_id"))
    if not all_enrolments and not contexts:
        raise NotFoundError(
            "This user has no enrolment for that collectionId and batchId in this tenant.",
            code="ERR_SUMMARY_NOT_FOUND",
        )
    # A deletion hides the enrolments made before it (`summary_enrollments`), so deleting again
    # after a re-enrolment moves the stored deletion forward instead of keeping the old one.
    SummaryDeletion.objects.bulk_create(
        [
            SummaryDeletion(
                user_id=user_id, tenant_id=tenant_id, collection_id=course_id, batch_id=batch, deleted_by=deleted_by
            )
            for course_id, batch in contexts
        ],
        update_conflicts=True,
        unique_fields=["user_id", "tenant", "collection_id", "batch_id"],
        update_fields=["deleted_by", "deleted_at"],
    )
    return len(contexts)


# --- Programs ---------------------------------------------------------------------------


def program_for_tenant(*, tenant_id: uuid.UUID, program_ref: str) -> Program:
    """The tenant's program by id or by identifier. Raises NotFoundError."""
    programs = Program.objects.filter(tenant_id=tenant_id)
    try:
        program = programs.filter(pk=uuid.UUID(str(program_ref))).first()
    except ValueError:
        program = None
    program = program or programs.filter(identifier=program_ref).first()
    if program is None:
        raise NotFoundError("No program with that programId (id or identifier) in this tenant.", code="ERR_NOT_FOUND")
    return program


@dataclasses.dataclass(frozen=True)
class ProgramEnrolment:
    program: Program
    user_id: uuid.UUID
    enrolments: list[tuple[Enrollment, bool]]  # in the program's order, with whether created now
    event: OutboxEvent | None

    @property
    def created(self) -> list[Enrollment]:
        return [enrollment for enrollment, created in self.enrolments if created]


@transaction.atomic
def program_enrol(
    *, tenant_id: uuid.UUID, program: Program, user_id: uuid.UUID, enrolled_by: uuid.UUID, by_staff: bool
) -> ProgramEnrolment:
    """Enrols the user in every child course of the program with `batch_id = program.id`,
    skipping children already enrolled in that batch, and records one `program_enrolment`
    outbox event (same transaction) for the enrolment updater job.

    Staff enrol anyone, active at once, in every non-archived child. A learner enrols only
    themselves, and only when every child is open to self-enrolment (DECISIONS §2: published,
    `autoEnroll`, or `adminApproval`, which starts inactive). All or nothing: returns the
    enrolments in the program's order (created now or already existing) and the event (None
    when nothing was created).
    Raises ForbiddenError (learner naming another user, or a child not open to them) and
    ApiError (400, an archived child or a program without courses).
    """
    if not by_staff and user_id != enrolled_by:
        raise ForbiddenError("Learners may only enrol themselves; leave userId out or send your own.")
    children = list(program.children.select_related("course").order_by("ordering", "id"))
    if not children:
        raise ApiError("This program has no courses yet; add courses to it in the admin.", code="ERR_PROGRAM_EMPTY")
    archived = [str(child.course_id) for child in children if child.course.status == ContentStatus.ARCHIVED]
    if archived:
        raise ApiError(
            f"The program includes archived courses ({', '.join(archived)}); remove them from the program first.",
            code="ERR_PROGRAM_COURSE_ARCHIVED",
        )
    active_for: dict[uuid.UUID, bool] = {}
    for child in children:
        if by_staff:
            active_for[child.course_id] = True
            continue
        try:
            active_for[child.course_id] = enrollment_self_enrollment_starts_active(course=child.course)
        except ApiError as refusal:
            raise ForbiddenError(
                f"Course {child.course_id} of this program is not open for self-enrolment ({refusal.errmsg}); "
                "ask an admin or instructor to enrol you in the program.",
                code="ERR_PROGRAM_NOT_OPEN",
            ) from None
    existing = {
        enrollment.course_id: enrollment
        for enrollment in Enrollment.objects.filter(
            tenant_id=tenant_id, user_id=user_id, batch_id=program.id,
            course_id__in=[child.course_id for child in children],
        )
    }
    enrolments: list[tuple[Enrollment, bool]] = []
    for child in children:
        if child.course_id in existing:
            enrolments.append((existing[child.course_id], False))
            continue
        try:
            enrollment = enrollment_create(
                tenant_id=tenant_id, course=child.course, user_id=user_id, enrolled_by=enrolled_by,
                batch_id=program.id, active=active_for[child.course_id],
            )
        except ConflictError:
            # Enrolled concurrently by another request: that enrolment stands.
            enrolments.append((
                Enrollment.objects.get(
                    tenant_id=tenant_id, user_id=user_id, course_id=child.course_id, batch_id=program.id
                ),
                False,
            ))
            continue
        enrolments.append((enrollment, True))
    created = [enrollment for enrollment, is_new in enrolments if is_new]
    event = None
    if created:
        event = OutboxEvent.objects.create(
            tenant_id=tenant_id,
            kind=OutboxEvent.Kind.PROGRAM_ENROLMENT,
            payload={
                "user_id": str(user_id),
                "program_id": str(program.id),
                "enrollment_ids": [str(enrollment.id) for enrollment in created],
            },
        )
        event_record(
            tenant_id=tenant_id, type=events.PROGRAM_ENROLLED,
            data={"userId": user_id, "programId": program.id,
                  "courseIds": [child.course_id for child in children]},
        )
        # The job runs on a worker right after the commit; beat's periodic run catches a lost message.
        send_task_after_commit(PROGRAM_ENROLMENT_TASK)
    return ProgramEnrolment(program=program, user_id=user_id, enrolments=enrolments, event=event)


# --- The enrolment updater job ------------------------------------------------------------


@dataclasses.dataclass
class UpdaterRun:
    done: int = 0
    retried: int = 0
    failed: int = 0

    @property
    def claimed(self) -> int:
        return self.done + self.retried + self.failed


def _apply_program_enrolment(event: OutboxEvent, now: dt.datetime) -> None:
    """Applies the carry-forward rules to the event's new contexts: each new enrolment's
    course track is recounted under its row lock (with `carry` it counts completions from the
    user's other contexts, and may complete the track and issue the certificate)."""
    enrollment_ids = [uuid.UUID(value) for value in event.payload["enrollment_ids"]]
    course_tracks_recount_for_enrollments(enrollment_ids=enrollment_ids, now=now)


_HANDLERS = {OutboxEvent.Kind.PROGRAM_ENROLMENT: _apply_program_enrolment}


def enrolment_updater_run(
    *, batch_size: int = 100, max_attempts: int = 5, now: dt.datetime | None = None
) -> UpdaterRun:
    """Processes the pending outbox events once and returns the counts; a Celery task or the
    `run_enrolment_updater` command calls it.

    Each batch is claimed with `SELECT … FOR UPDATE SKIP LOCKED` in its own transaction, so
    concurrent runners never process the same event; each event is applied in a savepoint and
    marked done with `processed_at`. A failing event keeps its error in `last_error` and stays
    pending until `max_attempts`, then becomes failed; it is not retried again in the same run.
    Re-running changes nothing more: done events are never claimed, and recounts are idempotent.
    """
    run = UpdaterRun()
    tried: set[uuid.UUID] = set()
    while True:
        with transaction.atomic():
            events = list(
                OutboxEvent.objects.select_for_update(skip_locked=True)
                .filter(status=OutboxEvent.Status.PENDING, kind__in=list(_HANDLERS))
                .exclude(pk__in=tried)
                .order_by("created_at", "id")[:batch_size]
            )
            if not events:
                return run
            for event in events:
                tried.add(event.pk)
                event.attempts += 1
                processed_at = now or timezone.now()
                try:
                    with transaction.atomic():
                        _HANDLERS[event.kind](event, processed_at)
                except Exception as error:  # noqa: BLE001 -- any failure is recorded on the event and retried
                    logger.warning("Outbox event %s failed (attempt %s): %s", event.pk, event.attempts, error)
                    event.last_error = f"{type(error).__name__}: {error}"[:2000]
                    if event.attempts >= max_attempts:
                        event.status = OutboxEvent.Status.FAILED
                        run.failed += 1
                    else:
                        run.retried += 1
                    event.save(update_fields=["attempts", "last_error", "status"])
                    continue
                event.status = OutboxEvent.Status.DONE
                event.processed_at = processed_at
                event.last_error = ""
                event.save(update_fields=["attempts", "status", "processed_at", "last_error"])
                run.done += 1


@transaction.atomic
def outbox_events_requeue(*, event_ids: Sequence[uuid.UUID]) -> int:
    """Puts failed events back to pending with a fresh attempt budget (an operator's retry after
    fixing the cause). Returns how many were requeued; other statuses are left alone."""
    return OutboxEvent.objects.filter(pk__in=list(event_ids), status=OutboxEvent.Status.FAILED).update(
        status=OutboxEvent.Status.PENDING, attempts=0
    )
