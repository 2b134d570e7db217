"""Writes of the content catalogue (DECISIONS §3). The API, the admin and `seed_demo` all write here.

Every write is one transaction. Writes that reorder siblings lock the parent row first (the
course for its modules, the module for its placements), so concurrent moves are serialised and
`ordering` stays dense: 1..n over the live (non-archived) siblings, with moves shifting the
siblings in between in one UPDATE. Writes that may change a course's required lessons send
`course_content_changed` inside the transaction (the tracking app recounts); every content write
bumps `content_version` of the courses it touches in one UPDATE.

Archiving keeps rows; `status_before_archive` and `archived_with_course` make restore an exact
undo (a course brings back the modules and placements archived with it, not those archived
on their own earlier).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Case, F, Max, QuerySet, Value, When
from django.utils import timezone

from courses.images import VerifiedImage, files_discarded_on_error, image_copy, image_replace
from courses.models import (
    LIVE_STATUSES,
    AttemptsGrade,
    Category,
    CertificateTerm,
    ContentStatus,
    Course,
    Lesson,
    LessonPlacement,
    Media,
    Module,
)
from courses.signals import course_content_changed
from lms.api.errors import ApiError, ConflictError, NotFoundError


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


# Default of `image=` on updates: leave the image alone (None removes it).
UNCHANGED = _Unchanged()

COURSE_EDITABLE = frozenset(
    {
        "title", "short_description", "description", "featured", "free", "certificate_term", "certificate_id",
        "start_datetime", "end_datetime", "admin_approval", "auto_enroll", "status", "params",
    }
)
MODULE_EDITABLE = frozenset({"title", "description", "status", "ordering", "course"})
LESSON_EDITABLE = frozenset(
    {
        "title", "alias", "description", "content", "short_desc", "status", "format", "duration", "start_date",
        "end_date", "storage", "free_lesson", "no_of_attempts", "attempts_grade", "consider_marks",
        "eligibility_criteria", "ideal_time", "resume", "total_marks", "passing_marks", "in_lib", "params",
    }
)
MEDIA_EDITABLE = frozenset({"format", "sub_format", "source", "url", "params"})
# Prerequisites are checked with one IN query and echoed in errors; a cap keeps both small.
MAX_PREREQUISITES = 100


def _validation_error(errmsg: str, field: str, message: str, code: str = "ERR_VALIDATION") -> ApiError:
    return ApiError(errmsg, code=code, http_status=400, result={"errors": {field: [message]}})


def _reject_unknown(names: Iterable[str], allowed: frozenset, what: str) -> None:
    unknown = set(names) - allowed
    if unknown:
        raise TypeError(f"{what} has no editable fields {sorted(unknown)}")


def _check_creatable_status(status: str, field: str = "status") -> None:
    if status not in LIVE_STATUSES:
        raise _validation_error(
            "Create content as unpublished or published; archive it afterwards.", field, "Use unpublished or published."
        )


def _image_change(*, instance, image: VerifiedImage | None | _Unchanged, stored: list, fields: set[str]) -> None:
    """An update's image: stored (None removes it) and added to the saved `fields`, unless UNCHANGED."""
    if image is not UNCHANGED:
        image_replace(instance=instance, field_name="image", image=image, stored=stored)
        fields.add("image")


def _status_to_restore(model, pk: uuid.UUID) -> str:
    """The status an archived course, module or lesson had before it was archived."""
    previous = model.objects.values_list("status_before_archive", flat=True).get(pk=pk)
    return previous or ContentStatus.UNPUBLISHED


def _bump_content_version(course_ids: Iterable[uuid.UUID]) -> None:
    course_ids = list(course_ids)
    if course_ids:
        Course.objects.filter(pk__in=course_ids).update(content_version=F("content_version") + 1)


def _announce_content_changed(course_ids: Iterable[uuid.UUID]) -> None:
    # Inside the write's transaction: the tracking receiver recounts in the same transaction.
    for course_id in sorted(set(course_ids), key=str):
        course_content_changed.send(sender=Course, course_id=course_id)


# --- ordering among live siblings -------------------------------------------------------------


def _next_position(siblings: QuerySet) -> int:
    return (siblings.aggregate(top=Max("ordering"))["top"] or 0) + 1


def _open_slot(siblings: QuerySet, *, position: int | None) -> int:
    """Position for a new live sibling: max+1 when None, else `position` (clamped to 1..max+1)
    after shifting the siblings at or after it down by one, in one UPDATE."""
    end = _next_position(siblings)
    if position is None or position >= end:
        return end
    position = max(position, 1)
    siblings.filter(ordering__gte=position).update(ordering=F("ordering") + 1)
    return position


def _move(others: QuerySet, *, current: int, target: int) -> int:
    """Moves an item from `current` to `target` (clamped to 1..last) among `others` (its live
    siblings without itself), shifting the ones in between by one in one UPDATE. Returns the new position."""
    last = max(others.aggregate(top=Max("ordering"))["top"] or 0, current)
    target = min(max(target, 1), last)
    if target < current:
        others.filter(ordering__gte=target, ordering__lt=current).update(ordering=F("ordering") + 1)
    elif target > current:
        others.filter(ordering__gt=current, ordering__lte=target).update(ordering=F("ordering") - 1)
    return target


def _close_gap(others: QuerySet, *, position: int) -> None:
    others.filter(ordering__gt=position).update(ordering=F("ordering") - 1)


def _live_modules(course_id: uuid.UUID) -> QuerySet:
    return Module.objects.filter(course_id=course_id, status__in=LIVE_STATUSES)


def _live_placements(module_id: uuid.UUID) -> QuerySet:
    return LessonPlacement.objects.filter(module_id=module_id, archived=False)


def _lock_course(course_id: uuid.UUID) -> Course:
    return Course.objects.select_for_update().get(pk=course_id)


def _lock_module(module_id: uuid.UUID) -> Module:
    return Module.objects.select_for_update(of=("self",)).select_related("course").get(pk=module_id)


# --- courses ----------------------------------------------------------------------------------


def _check_schedule(start: dt.datetime | None, end: dt.datetime | None) -> None:
    if start is not None and end is not None and start >= end:
        raise _validation_error(
            "startDatetime must be before endDatetime.", "endDatetime", "Must be later than startDatetime."
        )


def course_create(
    *,
    tenant_id: uuid.UUID,
    created_by: uuid.UUID | None,
    title: str,
    short_description: str,
    description: str,
    start_datetime: dt.datetime,
    end_datetime: dt.datetime,
    image: VerifiedImage | None = None,
    featured: bool = False,
    free: bool = True,
    certificate_term: str = CertificateTerm.NA,
    certificate_id: str = "",
    admin_approval: bool = False,
    auto_enroll: bool = False,
    status: str = ContentStatus.UNPUBLISHED,
    params: dict | None = None,
    category_ids: Iterable | None = None,
) -> Course:
    """Creates a course (unpublished unless told otherwise) with its image stored.

    Returns the Course. Raises ApiError (400) when start is not before end, the status is archived
    or a category id is not this tenant's (ERR_UNKNOWN_CATEGORY).
    """
    _check_schedule(start_datetime, end_datetime)
    _check_creatable_status(status)
    with files_discarded_on_error() as stored, transaction.atomic():
        course = Course(
            tenant_id=tenant_id,
            title=title,
            short_description=short_description,
            description=description,
            featured=featured,
            free=free,
            certificate_term=certificate_term,
            certificate_id=certificate_id or "",
            start_datetime=start_datetime,
            end_datetime=end_datetime,
            admin_approval=admin_approval,
            auto_enroll=auto_enroll,
            status=status,
            params=params or {},
            created_by=created_by,
        )
        if image is not None:
            image_replace(instance=course, field_name="image", image=image, stored=stored)
        course.save(force_insert=True)
        if category_ids:
            categories_assign(instance=course, category_ids=category_ids)
    return course


def course_update(
    *,
    course: Course,
    updated_by: uuid.UUID | None,
    changes: dict | None = None,
    image: VerifiedImage | None | _Unchanged = UNCHANGED,
    category_ids: Iterable | None = None,
) -> Course:
    """Applies `changes` (model field names) to the course; `image=None` removes the image;
    `category_ids` (when not None) replaces its categories.

    A status change to archived archives the course with its modules and placements; a change
    from archived restores them. Returns the updated Course. Raises ApiError (400) when the
    start would not be before the end.
    """
    changes = dict(changes or {})
    _reject_unknown(changes, COURSE_EDITABLE, "Course")
    target_status = changes.pop("status", None)
    with files_discarded_on_error() as stored, transaction.atomic():
        course = _lock_course(course.pk)
        now = timezone.now()
        for name, value in changes.items():
            setattr(course, name, value)
        _check_schedule(course.start_datetime, course.end_datetime)
        fields = {*changes, "updated_by", "updated_at"}
        _image_change(instance=course, image=image, stored=stored, fields=fields)
        required_lessons_changed = False
        if target_status and target_status != course.status:
            fields |= {"status", "status_before_archive"}
            if target_status == ContentStatus.ARCHIVED:
                _course_cascade_archive(course, updated_by=updated_by, now=now)
                required_lessons_changed = True
            elif course.status == ContentStatus.ARCHIVED:
                _course_cascade_restore(course, status=target_status, updated_by=updated_by, now=now)
                required_lessons_changed = True
            else:
                course.status = target_status
        course.updated_by, course.updated_at = updated_by, now
        course.save(update_fields=sorted(fields))
        if category_ids is not None:
            categories_assign(instance=course, category_ids=category_ids)
        _bump_content_version([course.pk])
        if required_lessons_changed:
            _announce_content_changed([course.pk])
    return course


def _course_cascade_archive(course: Course, *, updated_by, now) -> None:
    Module.objects.filter(course_id=course.pk, status__in=LIVE_STATUSES).update(
        status_before_archive=F("status"),
        status=ContentStatus.ARCHIVED,
        archived_with_course=True,
        updated_by=updated_by,
        updated_at=now,
    )
    LessonPlacement.objects.filter(course_id=course.pk, archived=False).update(archived=True, archived_with_course=True)
    course.status_before_archive, course.status = course.status, ContentStatus.ARCHIVED


def _course_cascade_restore(course: Course, *, status: str, updated_by, now) -> None:
    Module.objects.filter(course_id=course.pk, archived_with_course=True).update(
        status=Case(
            When(status_before_archive="", then=Value(ContentStatus.UNPUBLISHED)), default=F("status_before_archive")
        ),
        status_before_archive="",
        archived_with_course=False,
        updated_by=updated_by,
        updated_at=now,
    )
    LessonPlacement.objects.filter(course_id=course.pk, archived_with_course=True).update(
        archived=False, archived_with_course=False
    )
    course.status, course.status_before_archive = status, ""


def course_set_status(*, course: Course, status: str, updated_by: uuid.UUID | None) -> Course:
    """Publishes, unpublishes, archives (with modules and placements) or restores the course. Returns it."""
    return course_update(course=course, updated_by=updated_by, changes={"status": status})


def course_archive(*, course: Course, updated_by: uuid.UUID | None) -> Course:
    """Archives the course, its modules and its placements (DELETE). Returns the course."""
    return course_set_status(course=course, status=ContentStatus.ARCHIVED, updated_by=updated_by)


def course_restore(*, course: Course, updated_by: uuid.UUID | None) -> Course:
    """Restores an archived course to the status it had, with what was archived with it. Returns it."""
    return course_set_status(course=course, status=_status_to_restore(Course, course.pk), updated_by=updated_by)


def course_duplicate(*, course: Course, created_by: uuid.UUID | None) -> Course:
    """Deep-copies a course: new ids for the course, its live modules and their live placements
    (the lessons themselves are shared, being reusable), images copied, the copy unpublished.

    Returns the new Course.
    """
    with files_discarded_on_error() as stored, transaction.atomic():
        source = Course.objects.get(pk=course.pk)
        copy = Course(
            tenant_id=source.tenant_id,
            title=f"{source.title} (copy)"[:255],
            short_description=source.short_description,
            description=source.description,
            featured=source.featured,
            free=source.free,
            certificate_term=source.certificate_term,
            certificate_id=source.certificate_id,
            start_datetime=source.start_datetime,
            end_datetime=source.end_datetime,
            admin_approval=source.admin_approval,
            auto_enroll=source.auto_enroll,
            status=ContentStatus.UNPUBLISHED,
            params=source.params,
            created_by=created_by,
        )
        image_copy(source_field_file=source.image, instance=copy, field_name="image", stored=stored)
        copy.save(force_insert=True)
        if source.category_ids:
            categories_assign(instance=copy, category_ids=source.category_ids)
        module_copies: dict[uuid.UUID, Module] = {}
        for position, module in enumerate(_live_modules(source.pk).order_by("ordering", "created_at"), start=1):
            module_copy = Module(
                tenant_id=source.tenant_id,
                course=copy,
                title=module.title,
                description=module.description,
                status=module.status,
                ordering=position,
                created_by=created_by,
            )
            image_copy(source_field_file=module.image, instance=module_copy, field_name="image", stored=stored)
            module_copies[module.pk] = module_copy
        Module.objects.bulk_create(module_copies.values())
        placements = LessonPlacement.objects.filter(
            course_id=source.pk, archived=False, module_id__in=list(module_copies)
        ).order_by("module_id", "ordering", "created_at")
        placement_copies, positions = [], {}
        for placement in placements:
            positions[placement.module_id] = positions.get(placement.module_id, 0) + 1
            placement_copies.append(
                LessonPlacement(
                    tenant_id=source.tenant_id,
                    course=copy,
                    module=module_copies[placement.module_id],
                    lesson_id=placement.lesson_id,
                    ordering=positions[placement.module_id],
                    created_by=created_by,
                )
            )
        LessonPlacement.objects.bulk_create(placement_copies)
    return copy


# --- modules ----------------------------------------------------------------------------------


def module_create(
    *,
    course: Course,
    created_by: uuid.UUID | None,
    title: str,
    description: str,
    image: VerifiedImage | None = None,
    status: str = ContentStatus.UNPUBLISHED,
    ordering: int | None = None,
) -> Module:
    """Creates a module in the course, at `ordering` (siblings after it move down) or appended.

    Returns the Module. Raises NotFoundError when the course is archived, ApiError (400) for an
    archived status.
    """
    _check_creatable_status(status)
    with files_discarded_on_error() as stored, transaction.atomic():
        course = _lock_course(course.pk)
        if course.status == ContentStatus.ARCHIVED:
            raise NotFoundError("No course with that id in this tenant (it is archived).")
        position = _open_slot(_live_modules(course.pk), position=ordering)
        module = Module(
            tenant_id=course.tenant_id,
            course=course,
            title=title,
            description=description,
            status=status,
            ordering=position,
            created_by=created_by,
        )
        if image is not None:
            image_replace(instance=module, field_name="image", image=image, stored=stored)
        module.save(force_insert=True)
        _bump_content_version([course.pk])
    return module


def module_update(
    *,
    module: Module,
    updated_by: uuid.UUID | None,
    changes: dict | None = None,
    image: VerifiedImage | None | _Unchanged = UNCHANGED,
) -> Module:
    """Applies `changes` to the module: `ordering` moves it among its siblings, `status` archived
    archives it (its followers close the gap), a status from archived restores it at the end.

    Returns the updated Module. Raises ApiError (400) for a move to another course or a restore
    while the course is archived.
    """
    changes = dict(changes or {})
    _reject_unknown(changes, MODULE_EDITABLE, "Module")
    target_course = changes.pop("course", None)
    if target_course is not None and target_course.pk != module.course_id:
        raise _validation_error(
            "A module cannot move to another course; create a module there and place the lessons in it.",
            "courseId",
            "Must be the module's own course.",
        )
    target_status = changes.pop("status", None)
    target_ordering = changes.pop("ordering", None)
    with files_discarded_on_error() as stored, transaction.atomic():
        course = _lock_course(module.course_id)
        module = Module.objects.get(pk=module.pk)
        now = timezone.now()
        for name, value in changes.items():
            setattr(module, name, value)
        fields = {*changes, "updated_by", "updated_at"}
        others = _live_modules(course.pk).exclude(pk=module.pk)
        status_changed = bool(target_status) and target_status != module.status
        if status_changed:
            fields |= {"status", "status_before_archive", "archived_with_course", "ordering"}
            if target_status == ContentStatus.ARCHIVED:
                _close_gap(others, position=module.ordering)
                module.status_before_archive, module.status = module.status, ContentStatus.ARCHIVED
            elif module.status == ContentStatus.ARCHIVED:
                if course.status == ContentStatus.ARCHIVED:
                    raise ApiError(
                        "The module's course is archived; restore the course first.", code="ERR_COURSE_ARCHIVED"
                    )
                module.ordering = _next_position(others)
                module.status, module.status_before_archive = target_status, ""
            else:
                module.status = target_status
            module.archived_with_course = False
        if target_ordering is not None and module.status != ContentStatus.ARCHIVED and target_ordering != module.ordering:
            module.ordering = _move(others, current=module.ordering, target=target_ordering)
            fields.add("ordering")
        _image_change(instance=module, image=image, stored=stored, fields=fields)
        module.updated_by, module.updated_at = updated_by, now
        module.save(update_fields=sorted(fields))
        _bump_content_version([course.pk])
        if status_changed:
            _announce_content_changed([course.pk])
    return module


def module_set_status(*, module: Module, status: str, updated_by: uuid.UUID | None) -> Module:
    """Publishes, unpublishes, archives or restores the module. Returns it.

    Raises ApiError when restoring while the course is archived.
    """
    return module_update(module=module, updated_by=updated_by, changes={"status": status})


def module_archive(*, module: Module, updated_by: uuid.UUID | None) -> Module:
    """Archives the module (DELETE); its placements stay, and return with it. Returns the module."""
    return module_set_status(module=module, status=ContentStatus.ARCHIVED, updated_by=updated_by)


def module_restore(*, module: Module, updated_by: uuid.UUID | None) -> Module:
    """Restores an archived module to its previous status, appended to its course. Returns it."""
    return module_set_status(module=module, status=_status_to_restore(Module, module.pk), updated_by=updated_by)


# --- placements -------------------------------------------------------------------------------


def _placement_conflict(placement: LessonPlacement) -> ConflictError:
    return ConflictError(
        "The lesson is already placed in this module; move it with PUT /lessons/:id and `ordering`.",
        code="ERR_ALREADY_PLACED",
        result={
            "placementId": str(placement.pk),
            "lessonId": str(placement.lesson_id),
            "moduleId": str(placement.module_id),
            "courseId": str(placement.course_id),
        },
    )


def placement_create(
    *,
    course: Course,
    module: Module,
    lesson: Lesson,
    created_by: uuid.UUID | None,
    ordering: int | None = None,
) -> LessonPlacement:
    """Places the lesson in the course's module, at `ordering` or appended. A placement archived
    earlier is restored rather than duplicated.

    Returns the LessonPlacement. Raises NotFoundError for objects of different tenants or archived
    ones, ApiError (400) when the module is not the course's, ConflictError (409) when placed already.
    """
    if not (course.tenant_id == module.tenant_id == lesson.tenant_id):
        raise NotFoundError("No lesson, module or course with those ids in this tenant.")
    _ensure_module_in_course(module=module, course=course)
    with transaction.atomic():
        module = _lock_module(module.pk)
        if ContentStatus.ARCHIVED in (module.status, module.course.status):
            raise NotFoundError("No module with that id in this tenant (it or its course is archived).")
        if Lesson.objects.filter(pk=lesson.pk, status=ContentStatus.ARCHIVED).exists():
            raise NotFoundError("No lesson with that id in this tenant (it is archived).")
        existing = LessonPlacement.objects.filter(module_id=module.pk, lesson_id=lesson.pk).first()
        if existing is not None and not existing.archived:
            raise _placement_conflict(existing)
        position = _open_slot(_live_placements(module.pk), position=ordering)
        if existing is not None:
            existing.archived, existing.archived_with_course, existing.ordering = False, False, position
            existing.save(update_fields=["archived", "archived_with_course", "ordering"])
            placement = existing
        else:
            try:
                with transaction.atomic():
                    placement = LessonPlacement.objects.create(
                        tenant_id=module.tenant_id,
                        course_id=course.pk,
                        module=module,
                        lesson=lesson,
                        ordering=position,
                        created_by=created_by,
                    )
            except IntegrityError:
                # Placed concurrently by a request that did not wait on the module lock (SQLite).
                raise _placement_conflict(LessonPlacement.objects.get(module_id=module.pk, lesson_id=lesson.pk)) from None
        _bump_content_version([course.pk])
        _announce_content_changed([course.pk])
    return placement


def placement_update(
    *, placement: LessonPlacement, ordering: int | None = None, archived: bool | None = None
) -> LessonPlacement:
    """Moves a placement within its module and/or archives or restores it (restored ones are appended).

    Returns the placement. Raises NotFoundError when restoring into an archived module or course.
    """
    with transaction.atomic():
        module = _lock_module(placement.module_id)
        placement = LessonPlacement.objects.get(pk=placement.pk)
        others = _live_placements(module.pk).exclude(pk=placement.pk)
        fields: set[str] = set()
        archived_changed = archived is not None and archived != placement.archived
        if archived_changed:
            fields |= {"archived", "archived_with_course", "ordering"}
            placement.archived_with_course = False
            if archived:
                _close_gap(others, position=placement.ordering)
                placement.archived = True
            else:
                if ContentStatus.ARCHIVED in (module.status, module.course.status):
                    raise NotFoundError("The placement's module or course is archived; restore it first.")
                placement.archived = False
                placement.ordering = _next_position(others)
        if ordering is not None and not placement.archived and ordering != placement.ordering:
            placement.ordering = _move(others, current=placement.ordering, target=ordering)
            fields.add("ordering")
        if fields:
            placement.save(update_fields=sorted(fields))
            _bump_content_version([placement.course_id])
        if archived_changed:
            _announce_content_changed([placement.course_id])
    return placement


def placement_archive(*, placement: LessonPlacement) -> LessonPlacement:
    """Takes the lesson out of the module (kept, restorable). Returns the placement."""
    return placement_update(placement=placement, archived=True)


def placement_restore(*, placement: LessonPlacement) -> LessonPlacement:
    """Puts an archived placement back, at the end of its module. Returns the placement."""
    return placement_update(placement=placement, archived=False)


# --- lessons ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlacedLesson:
    """A lesson write's result: the lesson and the placement the write created or moved, if any."""

    lesson: Lesson
    placement: LessonPlacement | None


def lesson_check_rules(*, lesson: Lesson, check_eligibility: bool = True) -> None:
    """Checks an (unsaved) lesson's dates, marks and prerequisites; normalises the prerequisites
    to a list of id strings. Raises ApiError (400) naming the field. The admin form calls it too."""
    if lesson.start_date is not None and lesson.end_date is not None and lesson.start_date >= lesson.end_date:
        raise _validation_error("startDate must be before endDate.", "endDate", "Must be later than startDate.")
    if lesson.total_marks is not None and lesson.passing_marks is not None and lesson.passing_marks > lesson.total_marks:
        raise _validation_error(
            "passingMarks cannot exceed totalMarks.", "passingMarks", "Must not exceed totalMarks."
        )
    if lesson.attempts_grade not in AttemptsGrade.values:
        raise _validation_error("Unknown attemptsGrade.", "attemptsGrade", f"Use one of {', '.join(AttemptsGrade.values)}.")
    if check_eligibility:
        lesson.eligibility_criteria = _checked_eligibility(lesson)


def _checked_eligibility(lesson: Lesson) -> list[str]:
    criteria = lesson.eligibility_criteria or []
    if isinstance(criteria, str):
        criteria = [criteria]
    if not isinstance(criteria, list):
        raise _validation_error(
            "eligibilityCriteria must be a list of lesson ids.", "eligibilityCriteria", "Send a list of lesson ids."
        )
    if len(criteria) > MAX_PREREQUISITES:
        raise _validation_error(
            f"eligibilityCriteria holds {len(criteria)} lesson ids; at most {MAX_PREREQUISITES} are allowed.",
            "eligibilityCriteria",
            f"Send at most {MAX_PREREQUISITES} lesson ids.",
        )
    try:
        wanted = list(dict.fromkeys(str(uuid.UUID(str(lesson_id))) for lesson_id in criteria))
    except ValueError:
        raise _validation_error(
            "eligibilityCriteria must hold lesson ids (UUIDs).", "eligibilityCriteria", "Send lesson ids (UUIDs)."
        ) from None
    if str(lesson.pk) in wanted:
        raise _validation_error(
            "A lesson cannot require itself in eligibilityCriteria.", "eligibilityCriteria", "Remove the lesson's own id."
        )
    found = {
        str(pk)
        for pk in Lesson.objects.filter(tenant_id=lesson.tenant_id, pk__in=wanted)
        .exclude(status=ContentStatus.ARCHIVED)
        .values_list("pk", flat=True)
    }
    missing = [lesson_id for lesson_id in wanted if lesson_id not in found]
    if missing:
        raise _validation_error(
            f"eligibilityCriteria names lessons that do not exist in this tenant: {_id_summary(missing)}.",
            "eligibilityCriteria",
            f"Unknown lesson ids: {', '.join(missing)}.",
        )
    return wanted


def _id_summary(ids: list[str], shown: int = 5) -> str:
    """The first `shown` ids, then how many more, so an errmsg stays one short sentence."""
    if len(ids) <= shown:
        return ", ".join(ids)
    return f"{', '.join(ids[:shown])} and {len(ids) - shown} more"


def _media_for(*, tenant_id, current: Media | None, media_id: uuid.UUID | None, media_content: dict | None) -> Media | None:
    """The media record a lesson points to after a write: `mediaId` switches to an existing record
    of the tenant, `mediaContent` then updates that record (or creates one)."""
    media = current
    if media_id is not None:
        media = Media.objects.filter(pk=media_id, tenant_id=tenant_id).first()
        if media is None:
            raise NotFoundError(
                "No media with that mediaId in this tenant; send mediaContent to create one.",
                result={"errors": {"mediaId": ["Unknown media id."]}},
            )
    if media_content:
        _reject_unknown(media_content, MEDIA_EDITABLE, "Media")
        if media is None:
            media = Media(tenant_id=tenant_id)
        for name, value in media_content.items():
            setattr(media, name, value if value is not None else ({} if name == "params" else ""))
        if not media.url:
            # A source such as a video URL is also where players fetch it unless told otherwise.
            media.url = media.source
        shared = not media._state.adding
        media.save()
        if shared:
            # Other lessons may show this record: every course placing one of them renders anew.
            _bump_content_version(
                LessonPlacement.objects.filter(lesson__media_id=media.pk, archived=False)
                .values_list("course_id", flat=True).distinct()
            )
    return media


def _ensure_module_in_course(*, module: Module, course: Course) -> None:
    if module.course_id != course.pk:
        raise _validation_error(
            "The module does not belong to that course; name a module of the course given in courseId.",
            "moduleId",
            "Must be a module of the course.",
            code="ERR_MODULE_NOT_IN_COURSE",
        )


def _resolve_placement_target(*, course: Course | None, module: Module | None) -> tuple[Course | None, Module | None]:
    if module is None and course is not None:
        raise _validation_error(
            "Send moduleId together with courseId to place the lesson.", "moduleId", "Required with courseId."
        )
    if module is not None and course is None:
        course = module.course
    if module is not None:
        _ensure_module_in_course(module=module, course=course)
    return course, module


def lesson_create(
    *,
    tenant_id: uuid.UUID,
    created_by: uuid.UUID | None,
    title: str,
    description: str,
    image: VerifiedImage | None = None,
    media_id: uuid.UUID | None = None,
    media_content: dict | None = None,
    course: Course | None = None,
    module: Module | None = None,
    ordering: int | None = None,
    category_ids: Iterable | None = None,
    **attributes,
) -> PlacedLesson:
    """Creates a lesson (with its media record) and, given a module, places it there.

    `attributes` are further Lesson fields (status, format, no_of_attempts, ...). Returns a
    PlacedLesson. Raises ApiError (400) for broken rules (dates, marks, eligibility, archived
    status), NotFoundError for unknown media or archived targets, ConflictError never (new lesson).
    """
    _reject_unknown(attributes, LESSON_EDITABLE, "Lesson")
    _check_creatable_status(attributes.get("status", ContentStatus.UNPUBLISHED))
    course, module = _resolve_placement_target(course=course, module=module)
    with files_discarded_on_error() as stored, transaction.atomic():
        lesson = Lesson(tenant_id=tenant_id, title=title, description=description, created_by=created_by, **attributes)
        if not lesson.format and media_content and media_content.get("format"):
            lesson.format = media_content["format"]
        lesson_check_rules(lesson=lesson, check_eligibility=bool(lesson.eligibility_criteria))
        lesson.media = _media_for(tenant_id=tenant_id, current=None, media_id=media_id, media_content=media_content)
        if image is not None:
            image_replace(instance=lesson, field_name="image", image=image, stored=stored)
        lesson.save(force_insert=True)
        if category_ids:
            categories_assign(instance=lesson, category_ids=category_ids)
        placement = None
        if module is not None:
            placement = placement_create(
                course=course, module=module, lesson=lesson, created_by=created_by, ordering=ordering
            )
    return PlacedLesson(lesson=lesson, placement=placement)


def _lesson_course_ids(lesson_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        LessonPlacement.objects.filter(lesson_id=lesson_id, archived=False).values_list("course_id", flat=True).distinct()
    )


def lesson_update(
    *,
    lesson: Lesson,
    updated_by: uuid.UUID | None,
    changes: dict | None = None,
    image: VerifiedImage | None | _Unchanged = UNCHANGED,
    media_id: uuid.UUID | None = None,
    media_content: dict | None = None,
    course: Course | None = None,
    module: Module | None = None,
    ordering: int | None = None,
    category_ids: Iterable | None = None,
) -> PlacedLesson:
    """Applies `changes` to the lesson, its media and one placement; `category_ids` (when not
    None) replaces its categories.

    `module` (with optional `course`) names the placement that `ordering` moves; the lesson is
    placed there if it is not yet. `ordering` alone moves the lesson's only placement. Status
    archived archives the lesson; a status from archived restores it. Returns a PlacedLesson.
    Raises ApiError (400) for broken rules or an ambiguous `ordering`, NotFoundError for unknown media.
    """
    changes = dict(changes or {})
    _reject_unknown(changes, LESSON_EDITABLE, "Lesson")
    course, module = _resolve_placement_target(course=course, module=module)
    target_status = changes.pop("status", None)
    with files_discarded_on_error() as stored, transaction.atomic():
        lesson = Lesson.objects.select_for_update().get(pk=lesson.pk)
        for name, value in changes.items():
            setattr(lesson, name, value)
        if "format" not in changes and media_content and media_content.get("format") and not lesson.format:
            lesson.format = media_content["format"]
            changes["format"] = lesson.format
        lesson_check_rules(lesson=lesson, check_eligibility="eligibility_criteria" in changes)
        fields = {*changes, "updated_by", "updated_at"}
        if media_id is not None or media_content:
            lesson.media = _media_for(
                tenant_id=lesson.tenant_id, current=lesson.media, media_id=media_id, media_content=media_content
            )
            fields.add("media")
        status_changed = bool(target_status) and target_status != lesson.status
        if status_changed:
            fields |= {"status", "status_before_archive"}
            if target_status == ContentStatus.ARCHIVED:
                lesson.status_before_archive, lesson.status = lesson.status, ContentStatus.ARCHIVED
            else:
                lesson.status, lesson.status_before_archive = target_status, ""
        _image_change(instance=lesson, image=image, stored=stored, fields=fields)
        lesson.updated_by, lesson.updated_at = updated_by, timezone.now()
        lesson.save(update_fields=sorted(fields))
        if category_ids is not None:
            categories_assign(instance=lesson, category_ids=category_ids)
        placement = _lesson_update_placement(
            lesson=lesson, course=course, module=module, ordering=ordering, placed_by=updated_by
        )
        course_ids = _lesson_course_ids(lesson.pk)
        _bump_content_version(course_ids)
        if status_changed:
            _announce_content_changed(course_ids)
    return PlacedLesson(lesson=lesson, placement=placement)


def _lesson_update_placement(*, lesson, course, module, ordering, placed_by) -> LessonPlacement | None:
    if module is not None:
        existing = LessonPlacement.objects.filter(module_id=module.pk, lesson_id=lesson.pk, archived=False).first()
        if existing is None:
            return placement_create(course=course, module=module, lesson=lesson, created_by=placed_by, ordering=ordering)
        return placement_update(placement=existing, ordering=ordering) if ordering is not None else existing
    if ordering is None:
        return None
    placements = list(LessonPlacement.objects.filter(lesson_id=lesson.pk, archived=False)[:2])
    if len(placements) != 1:
        raise _validation_error(
            "Name the placement to reorder with moduleId (and courseId)."
            if placements
            else "The lesson is not placed in any module; send moduleId and courseId to place it.",
            "moduleId",
            "Required with ordering.",
        )
    return placement_update(placement=placements[0], ordering=ordering)


def lesson_set_status(*, lesson: Lesson, status: str, updated_by: uuid.UUID | None) -> Lesson:
    """Publishes, unpublishes, archives or restores the lesson. Returns it."""
    return lesson_update(lesson=lesson, updated_by=updated_by, changes={"status": status}).lesson


def lesson_archive(*, lesson: Lesson, updated_by: uuid.UUID | None) -> Lesson:
    """Archives the lesson (DELETE): it leaves every course's required lessons; placements stay. Returns it."""
    return lesson_set_status(lesson=lesson, status=ContentStatus.ARCHIVED, updated_by=updated_by)


def lesson_restore(*, lesson: Lesson, updated_by: uuid.UUID | None) -> Lesson:
    """Restores an archived lesson to the status it had. Returns it."""
    return lesson_set_status(lesson=lesson, status=_status_to_restore(Lesson, lesson.pk), updated_by=updated_by)


# --- categories (DECISIONS §11) -----------------------------------------------------------------


def _unknown_categories_error(missing: list[str]) -> ApiError:
    return _validation_error(
        f"No category with id {', '.join(missing)} in this tenant; list them with GET /categories.",
        "categoryIds", "Unknown category id.", code="ERR_UNKNOWN_CATEGORY",
    )


def categories_resolve(*, tenant_id: uuid.UUID, category_ids: Iterable) -> list[uuid.UUID]:
    """The given category ids, de-duplicated in their order, after checking that every one is a
    category of this tenant (one query). Raises ApiError 400 ERR_UNKNOWN_CATEGORY naming the others:
    another tenant's id is as unknown as a made-up one."""
    wanted = list(dict.fromkeys(uuid.UUID(str(category_id)) for category_id in category_ids))
    if not wanted:
        return []
    found = set(Category.objects.filter(tenant_id=tenant_id, pk__in=wanted).values_list("id", flat=True))
    missing = [str(category_id) for category_id in wanted if category_id not in found]
    if missing:
        raise _unknown_categories_error(missing)
    return wanted


def categories_assign(*, instance: Course | Lesson, category_ids: Iterable) -> None:
    """Sets the course's or lesson's categories: the links and the row's copy (`category_ids`)
    together, inside the caller's transaction. The ids are checked against the instance's tenant
    (ApiError 400 ERR_UNKNOWN_CATEGORY).

    It does not bump `content_version`: the caller does, once for all of its changes (the update
    services), or has nothing rendered to invalidate (a row it has just created). A new caller that
    changes an existing row must bump it too, or cached renderings keep the old `categoryIds`."""
    wanted = categories_resolve(tenant_id=instance.tenant_id, category_ids=category_ids)
    with transaction.atomic():
        instance.categories.set(wanted)
        instance.category_ids = [str(category_id) for category_id in wanted]
        type(instance).objects.filter(pk=instance.pk).update(category_ids=instance.category_ids)


def categories_copy_refresh(*, instance: Course | Lesson) -> None:
    """Rewrites the row's copy from the links, for writers that set the links themselves (the
    admin's many-to-many widget): the copy then never disagrees with them."""
    ids = [str(category_id) for category_id in instance.categories.order_by("ordering", "name").values_list("id", flat=True)]
    if ids != list(instance.category_ids or []):
        instance.category_ids = ids
        type(instance).objects.filter(pk=instance.pk).update(category_ids=ids)
        if isinstance(instance, Course):
            _bump_content_version([instance.pk])
        else:
            _bump_content_version(_lesson_course_ids(instance.pk))


CATEGORY_EDITABLE = frozenset({"name", "slug", "parent_id", "ordering"})


def _category_parent_check(*, tenant_id: uuid.UUID, category_id: uuid.UUID | None, parent_id: uuid.UUID | None) -> None:
    if parent_id is None:
        return
    parents = dict(Category.objects.filter(tenant_id=tenant_id).values_list("id", "parent_id"))
    if parent_id not in parents:
        raise _validation_error(
            "No parent category with that id in this tenant.", "parentId", "Unknown category id.",
            code="ERR_UNKNOWN_CATEGORY",
        )
    # Walking up from the new parent must never reach the category itself (a cycle).
    seen, node = set(), parent_id
    while node is not None and node not in seen:
        if node == category_id:
            raise _validation_error(
                "A category cannot sit under itself or one of its own subcategories.", "parentId",
                "Would make a cycle.",
            )
        seen.add(node)
        node = parents.get(node)


def _slug_taken() -> ConflictError:
    return ConflictError(
        "Another category in this tenant has that slug; choose another slug.", code="ERR_SLUG_TAKEN",
    )


def category_create(
    *, tenant_id: uuid.UUID, created_by: uuid.UUID | None, name: str, slug: str,
    parent_id: uuid.UUID | None = None, ordering: int | None = None,
) -> Category:
    """Creates a category. Returns it. Raises ApiError 400 for an unknown parent and
    ConflictError 409 ERR_SLUG_TAKEN when the slug is in use in the tenant (the unique constraint decides)."""
    _category_parent_check(tenant_id=tenant_id, category_id=None, parent_id=parent_id)
    category = Category(
        tenant_id=tenant_id, name=name, slug=slug, parent_id=parent_id, created_by=created_by,
        ordering=ordering if ordering is not None else 0,
    )
    try:
        with transaction.atomic():
            category.save(force_insert=True)
    except IntegrityError:
        raise _slug_taken() from None
    return category


def category_update(*, category: Category, updated_by: uuid.UUID | None, changes: dict) -> Category:
    """Applies `changes` (name, slug, parent_id, ordering). Returns the category. Raises ApiError 400
    for an unknown parent or a cycle, ConflictError 409 ERR_SLUG_TAKEN for a slug in use."""
    _reject_unknown(changes, CATEGORY_EDITABLE, "Category")
    if "parent_id" in changes:
        _category_parent_check(tenant_id=category.tenant_id, category_id=category.pk, parent_id=changes["parent_id"])
    for name, value in changes.items():
        setattr(category, name, value)
    category.updated_by, category.updated_at = updated_by, timezone.now()
    try:
        with transaction.atomic():
            category.save(update_fields=sorted({*changes, "updated_by", "updated_at"}))
    except IntegrityError:
        raise _slug_taken() from None
    return category


@transaction.atomic
def category_delete(*, category: Category) -> None:
    """Deletes a category nobody uses. Raises ConflictError 409 ERR_CATEGORY_IN_USE while a course,
    a lesson (archived ones included: restoring them brings the link back) or a subcategory refers
    to it; the row is locked so that no link slips in between the check and the delete."""
    category = Category.objects.select_for_update().get(pk=category.pk)
    in_use = {
        "courses": category.courses.count(),
        "lessons": category.lessons.count(),
        "subcategories": category.children.count(),
    }
    if any(in_use.values()):
        raise ConflictError(
            "The category is in use; remove it from its courses and lessons and move its subcategories first.",
            code="ERR_CATEGORY_IN_USE", result=in_use,
        )
    category.delete()
