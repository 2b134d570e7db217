"""Writes of enrollments (DECISIONS §2, §4). Each runs in one transaction.

The enrollment app sits below tracking: it never imports tracking. Creating an enrollment
announces itself with the `enrollment_created` signal, on which tracking creates the
course track inside the same transaction; activating one sends `enrollment_activated`, on
which tracking issues a certificate that waited for the active enrollment.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, models, router, transaction
from django.db.models.deletion import ProtectedError, RestrictedError
from django.utils import timezone

from courses.models import ContentStatus, Course
from enrollment.models import Enrollment, EnrollmentState
from enrollment.selectors import course_for_enrollment
from enrollment.signals import enrollment_activated, enrollment_created, enrollments_created
from lms.api.errors import ApiError, ConflictError, ForbiddenError, NotFoundError
from lms.bulk import insert_rows


class _Unset:
    """Marks an update argument the caller did not send (None is a real value for end_time)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


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
    before_expiry_mail: bool = False,
    after_expiry_mail: bool = False,
) -> Enrollment:
    """Enrolls the user and creates the course track in the same transaction.

    `batch_id` defaults to the course id. `end_time` snapshots the course's end (none with
    `unlimited_plan`). The expiry-mail flags start false unless staff record that the mails
    already went out elsewhere. Raises ConflictError (409, with the existing id in `result`)
    when the user is already enrolled in that course and batch.
    """
    batch_id = batch_id or course.id
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
                before_expiry_mail=before_expiry_mail,
                after_expiry_mail=after_expiry_mail,
                params=params or {},
                enrolled_by=enrolled_by,
            )
    except IntegrityError:
        # The unique context says the user is enrolled already (perhaps by a concurrent request).
        existing = Enrollment.objects.filter(
            user_id=user_id, tenant_id=tenant_id, course=course, batch_id=batch_id
        ).values_list("id", flat=True).first()
        if existing is None:
            raise  # another constraint: a bug, not a conflict
        raise _already_enrolled(existing) from None
    enrollment_created.send(sender=Enrollment, enrollment=enrollment)
    # The track's creation may already have moved `state` (carry-forward completions count from
    # the first moment), through an UPDATE this instance did not see.
    enrollment.refresh_from_db(fields=["state"])
    return enrollment


# How many users one bulk call may enroll: its rows then fit one INSERT on every database
# (17 parameters a row), and one request stays well under a second.
BULK_ENROLLMENT_MAX = 1000


@dataclass(frozen=True)
class BulkEnrollment:
    created: list[Enrollment]  # in the order the users were given
    existing: dict[uuid.UUID, uuid.UUID]  # user id -> the enrollment already there


@transaction.atomic
def enrollments_bulk_create(
    *,
    tenant_id: uuid.UUID,
    course: Course,
    user_ids: Sequence[uuid.UUID],
    enrolled_by: uuid.UUID | None,
    batch_id: uuid.UUID | None = None,
    active: bool = True,
) -> BulkEnrollment:
    """Enrolls many users in one course and batch, with their course tracks, in one transaction:
    what `enrollment_create` does for each, in a constant number of statements (one INSERT of the
    enrollments, one SELECT of those already there, the tracks' INSERT through `enrollments_created`).

    A user named twice counts once. A user already enrolled in the context (before, or by a
    concurrent call: the INSERT skips conflicting rows and waits for a concurrent insert of the
    same one) is reported in `existing`, never enrolled twice. Returns a BulkEnrollment.
    Raises ApiError (400) beyond BULK_ENROLLMENT_MAX distinct users.
    """
    batch_id = batch_id or course.id
    distinct_user_ids = list(dict.fromkeys(user_ids))
    if len(distinct_user_ids) > BULK_ENROLLMENT_MAX:
        raise _invalid("user_ids", f"At most {BULK_ENROLLMENT_MAX} users per call; split the list.")
    now = timezone.now()
    candidates = {
        user_id: Enrollment(
            user_id=user_id, tenant_id=tenant_id, course=course, batch_id=batch_id, enrolled_on_time=now,
            end_time=course.end_datetime, active=active, unlimited_plan=False, params={}, enrolled_by=enrolled_by,
        )
        for user_id in distinct_user_ids
    }
    # Sorted: two overlapping calls then take the unique keys in the same order, so the later one
    # waits for the earlier instead of the two deadlocking.
    inserted = insert_rows(
        [candidates[user_id] for user_id in sorted(distinct_user_ids)],
        skip_conflicts_on=("user_id", "tenant", "course", "batch_id"),
        returning=("id",),
    )
    inserted_ids = {enrollment_id for (enrollment_id,) in inserted}
    created = [candidates[user_id] for user_id in distinct_user_ids if candidates[user_id].id in inserted_ids]
    for enrollment in created:
        enrollment._state.adding = False
        enrollment._state.db = router.db_for_write(Enrollment)
    not_created = [user_id for user_id in distinct_user_ids if candidates[user_id].id not in inserted_ids]
    existing = dict(
        Enrollment.objects.filter(
            user_id__in=not_created, tenant_id=tenant_id, course=course, batch_id=batch_id
        ).values_list("user_id", "id")
    ) if not_created else {}
    if created:
        # Here, and only here, the enrollments this call created are known, row by row, inside its
        # transaction: whatever else each new enrollment must cause (its outbox event) belongs here,
        # written in bulk like the tracks.
        enrollments_created.send(sender=Enrollment, enrollments=created)
        # Creating the tracks may have moved `state` (carry-forward completions count at once).
        states = dict(Enrollment.objects.filter(pk__in=inserted_ids).values_list("pk", "state"))
        for enrollment in created:
            enrollment.state = states[enrollment.pk]
    return BulkEnrollment(created=created, existing=existing)


def _already_enrolled(enrollment_id) -> ConflictError:
    return ConflictError(
        "The user is already enrolled in this course and batch; update that enrollment instead.",
        code="ERR_ALREADY_ENROLLED",
        result={"id": str(enrollment_id)},
    )


def enrollment_self_enrollment_starts_active(*, course: Course, now: dt.datetime | None = None) -> bool:
    """The learner self-enrollment rule (DECISIONS §2) for a course of the learner's tenant.

    Returns True when the enrollment starts active (`autoEnroll`), False when it waits for
    staff approval (`adminApproval`; approval wins when both are set, since the course asks
    for a person to decide). Raises NotFoundError when the course is not published (learners
    cannot see it) and ForbiddenError when it takes no self-enrollment or has already ended.
    """
    if course.status != ContentStatus.PUBLISHED:
        raise NotFoundError(
            "No published course with that course_id in this tenant.", code="ERR_COURSE_NOT_FOUND"
        )
    if not (course.auto_enroll or course.admin_approval):
        raise ForbiddenError(
            "This course does not take self-enrollment; ask an admin or instructor to enroll you.",
            code="ERR_ENROLLMENT_CLOSED",
        )
    if course.end_datetime <= (now or timezone.now()):
        raise ForbiddenError(
            "This course has ended and no longer takes self-enrollment; ask an admin or instructor.",
            code="ERR_COURSE_ENDED",
        )
    return not course.admin_approval


_STAFF_ONLY_ENROLLMENT_FLAGS = ("unlimited_plan", "before_expiry_mail", "after_expiry_mail")


@transaction.atomic
def enrollment_enroll(
    *,
    tenant_id: uuid.UUID,
    course_id: uuid.UUID,
    user_id: uuid.UUID,
    enrolled_by: uuid.UUID,
    by_staff: bool,
    unlimited_plan: bool = False,
    before_expiry_mail: bool = False,
    after_expiry_mail: bool = False,
    params: dict | None = None,
) -> Enrollment:
    """Enrolls `user_id` on behalf of the caller `enrolled_by` (POST /enrollments).

    Staff (`by_staff`) enroll anyone in any non-archived course of their tenant, active at once.
    A learner enrolls only themselves, under `enrollment_self_enrollment_starts_active`, and
    may not grant themselves an unlimited plan or mark reminder mails as sent.
    Returns the new enrollment (its course track exists in the same transaction).
    Raises NotFoundError (unknown, archived or other tenant's course; unpublished for learners),
    ForbiddenError (learner rules), ConflictError (already enrolled, with the existing id).
    """
    course = course_for_enrollment(tenant_id=tenant_id, course_id=course_id)
    active = True
    if not by_staff:
        if user_id != enrolled_by:
            raise ForbiddenError(
                "Learners may only enroll themselves; send your own user id as user_id.", code="ERR_FORBIDDEN"
            )
        granted = [
            name
            for name, value in zip(
                _STAFF_ONLY_ENROLLMENT_FLAGS, (unlimited_plan, before_expiry_mail, after_expiry_mail), strict=True
            )
            if value
        ]
        if granted:
            raise ForbiddenError(
                f"Only admins and instructors may set {', '.join(granted)}; leave them out or false.",
                code="ERR_FORBIDDEN",
            )
        active = enrollment_self_enrollment_starts_active(course=course)
    return enrollment_create(
        tenant_id=tenant_id,
        course=course,
        user_id=user_id,
        enrolled_by=enrolled_by,
        active=active,
        unlimited_plan=unlimited_plan,
        before_expiry_mail=before_expiry_mail,
        after_expiry_mail=after_expiry_mail,
        params=params,
    )


def _invalid(field: str, message: str) -> ApiError:
    return ApiError(f"{field}: {message}", code="ERR_VALIDATION", http_status=400, result={"errors": {field: [message]}})


@transaction.atomic
def enrollment_update(
    *,
    enrollment: Enrollment,
    updated_by: uuid.UUID,
    end_time: dt.datetime | None = UNSET,
    unlimited_plan: bool = UNSET,
    before_expiry_mail: bool = UNSET,
    after_expiry_mail: bool = UNSET,
    params: dict = UNSET,
    active: bool = UNSET,
    course_id: uuid.UUID = UNSET,
    user_id: uuid.UUID = UNSET,
    state: int = UNSET,
    now: dt.datetime | None = None,
) -> Enrollment:
    """Changes what staff may change on an enrollment; arguments left UNSET stay as they are.

    `course_id`, `user_id` and `state` are accepted only when equal to the stored values (clients
    may echo the whole record): an enrollment never moves to another user or course, and `state`
    follows the course track. Turning `unlimited_plan` on clears `end_time`; turning it off without
    an `end_time` snapshots the course's end again. Moving `end_time` re-arms both reminder mails
    unless the call sets the flags itself. Sets `updated_by`/`updated_at` when anything changed.
    Activating (`active` true on an inactive enrollment) sends `enrollment_activated`, so that a
    certificate that waited for the active enrollment is issued in this transaction.
    Returns the updated enrollment (a fresh instance). Raises ApiError (400, ERR_VALIDATION).
    """
    if active is True:
        _lock_dependent_rows([enrollment.pk])
    locked = Enrollment.objects.select_for_update().select_related("course").get(pk=enrollment.pk)
    if course_id is not UNSET and course_id != locked.course_id:
        raise _invalid("course_id", "An enrollment cannot move to another course; enroll the user in that course.")
    if user_id is not UNSET and user_id != locked.user_id:
        raise _invalid("user_id", "An enrollment cannot move to another user; enroll that user instead.")
    if state is not UNSET and state != locked.state:
        raise _invalid(
            "state",
            "state follows the learner's course progress; override progress with PUT /courses/tracking/:id.",
        )

    changes: dict[str, Any] = {}
    new_unlimited = locked.unlimited_plan if unlimited_plan is UNSET else unlimited_plan
    if new_unlimited:
        if end_time is not UNSET and end_time is not None:
            raise _invalid("end_time", "An unlimited plan has no end; send unlimited_plan false to set an end_time.")
        new_end_time = None
    elif end_time is not UNSET:
        if end_time is None:
            raise _invalid("end_time", "A limited plan needs an end; send unlimited_plan true to remove the end.")
        new_end_time = end_time
    elif locked.unlimited_plan:
        new_end_time = locked.course.end_datetime
    else:
        new_end_time = locked.end_time

    changes["unlimited_plan"] = new_unlimited
    changes["end_time"] = new_end_time
    if new_end_time != locked.end_time:
        # A new end is a new deadline: its reminders have not been sent yet.
        changes["before_expiry_mail"] = False
        changes["after_expiry_mail"] = False
    for name, value in (
        ("before_expiry_mail", before_expiry_mail),
        ("after_expiry_mail", after_expiry_mail),
        ("params", params),
        ("active", active),
    ):
        if value is not UNSET:
            changes[name] = value

    changed = [name for name, value in changes.items() if getattr(locked, name) != value]
    if changed:
        for name in changed:
            setattr(locked, name, changes[name])
        locked.updated_by = updated_by
        locked.updated_at = now or timezone.now()
        # `state` is never written here: tracking updates it concurrently.
        locked.save(update_fields=[*changed, "updated_by", "updated_at"])
        if "active" in changed and locked.active:
            enrollment_activated.send(sender=Enrollment, enrollment_ids=[locked.pk])
    return locked


def _set_active(*, enrollment_ids: Iterable[uuid.UUID], active: bool, changed_by: uuid.UUID, now) -> int:
    # A queryset stays a subquery, so an admin "select all" is still one statement.
    ids = enrollment_ids if isinstance(enrollment_ids, models.QuerySet) else list(enrollment_ids)
    changing = Enrollment.objects.filter(pk__in=ids, active=not active)
    if active:
        # Activation goes on to the tracks (enrollment_activated), so they are locked first, in
        # the order tracking writers use; the ids are those that really change.
        ids = list(changing.values_list("pk", flat=True))
        if not ids:
            return 0
        _lock_dependent_rows(ids)
        changing = Enrollment.objects.filter(pk__in=ids, active=False)
    changed = changing.update(active=active, updated_by=changed_by, updated_at=now or timezone.now())
    if active and changed:
        enrollment_activated.send(sender=Enrollment, enrollment_ids=ids)
    return changed


@transaction.atomic
def enrollment_approve(
    *, enrollment_ids: Iterable[uuid.UUID], approved_by: uuid.UUID, now: dt.datetime | None = None
) -> int:
    """Activates the given enrollments (pending approval or deactivated) in one UPDATE, then
    sends `enrollment_activated` for them (a completed course's certificate, which waits for an
    active enrollment, is issued in this transaction).

    Returns how many changed; those already active are left as they are. Raises nothing.
    """
    return _set_active(enrollment_ids=enrollment_ids, active=True, changed_by=approved_by, now=now)


@transaction.atomic
def enrollment_deactivate(
    *, enrollment_ids: Iterable[uuid.UUID], deactivated_by: uuid.UUID, now: dt.datetime | None = None
) -> int:
    """Deactivates the given enrollments in one UPDATE, keeping the course track and every
    tracking fact, so that re-activation restores the learner's progress exactly.

    Returns how many changed; those already inactive are left as they are. Raises nothing.
    """
    return _set_active(enrollment_ids=enrollment_ids, active=False, changed_by=deactivated_by, now=now)


def _lock_dependent_rows(enrollment_ids: list[uuid.UUID]) -> None:
    # Tracking writers lock the course track before they update the enrollment's state. Locking
    # the rows that cascade (the track) before the enrollment keeps that order, so a concurrent
    # lesson start waits for, or wins against, the delete or activation instead of deadlocking.
    # The relations are found through the model registry because enrollment never imports tracking.
    for relation in Enrollment._meta.related_objects:
        if relation.on_delete is models.CASCADE:
            dependents = relation.related_model._base_manager.filter(**{f"{relation.field.name}__in": enrollment_ids})
            list(dependents.select_for_update().order_by("pk").values_list("pk", flat=True))


@transaction.atomic
def enrollment_hard_delete(*, enrollment: Enrollment) -> None:
    """Erases an enrollment that never started (`state` 0); its empty course track goes with it.

    Returns nothing. Raises ConflictError (409) when the learner has started the course or when
    tracking records still refer to the enrollment: such an enrollment is deactivated instead,
    so that no history is lost.
    """
    _lock_dependent_rows([enrollment.pk])
    locked = Enrollment.objects.select_for_update().filter(pk=enrollment.pk).first()
    if locked is None:
        return
    if locked.state != EnrollmentState.NOT_STARTED:
        raise ConflictError(
            "This enrollment has progress, so it cannot be erased; DELETE it without hard=true to deactivate it.",
            code="ERR_ENROLLMENT_HAS_PROGRESS",
            result={"id": str(locked.pk), "state": locked.state},
        )
    try:
        locked.delete()
    except (ProtectedError, RestrictedError):
        raise ConflictError(
            "Tracking records refer to this enrollment, so it cannot be erased; DELETE it without hard=true "
            "to deactivate it.",
            code="ERR_ENROLLMENT_HAS_PROGRESS",
            result={"id": str(locked.pk), "state": locked.state},
        ) from None


EXPIRY_MAIL_FLAGS = ("before_expiry_mail", "after_expiry_mail")


@transaction.atomic
def enrollment_expiry_mail_claim(*, due: models.QuerySet[Enrollment], flag: str, limit: int) -> list[dict]:
    """Claims up to `limit` enrollments of `due` for one expiry mail, before it is sent.

    `flag` (`before_expiry_mail` or `after_expiry_mail`) is set on the claimed rows in one
    UPDATE, so the mail can never go out twice. Rows that a concurrent run holds are skipped,
    so two runs never claim the same enrollment. Returns the claimed rows' mail details
    (`id`, `user_id`, `tenant_id`, `end_time`, `state`, `course__title`), [] when none is left.
    Raises ValueError for an unknown flag.
    """
    if flag not in EXPIRY_MAIL_FLAGS:
        raise ValueError(f"Unknown expiry mail flag {flag!r}.")
    rows = list(
        due.filter(**{flag: False})
        .select_for_update(skip_locked=True, of=("self",))
        .order_by("end_time", "id")
        .values("id", "user_id", "tenant_id", "end_time", "state", "course__title")[:limit]
    )
    if rows:
        Enrollment.objects.filter(pk__in=[row["id"] for row in rows]).update(**{flag: True})
    return rows


@transaction.atomic
def enrollment_expiry_mail_release(*, enrollment_ids: Iterable[uuid.UUID], flag: str) -> int:
    """Gives back claims whose mail could not be sent, so that the next run retries them.

    Returns how many flags were cleared. Raises ValueError for an unknown flag.
    """
    if flag not in EXPIRY_MAIL_FLAGS:
        raise ValueError(f"Unknown expiry mail flag {flag!r}.")
    return Enrollment.objects.filter(pk__in=list(enrollment_ids)).update(**{flag: False})
