"""Reads of the content catalogue.

Visibility (DECISIONS §2–§3): archived content is invisible to everybody through the API;
learners see published content only, and a module or placement only when everything above
it is visible too. Readers that list many rows work on `.values()` rows, one query per
level, so their query count does not grow with the data.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.db import connections, router
from django.db.models import Exists, OuterRef, Q, QuerySet

from courses.models import LIVE_STATUSES, Category, ContentStatus, Course, Lesson, LessonPlacement, Module
from lms.rawsql import sql_column, sql_param, sql_select_list, sql_values_rows

COURSE_VALUES = (
    "id", "tenant_id", "title", "short_description", "description", "image", "featured", "free", "certificate_term",
    "certificate_id", "start_datetime", "end_datetime", "admin_approval", "auto_enroll", "status", "params",
    "created_by", "created_at", "updated_by", "updated_at", "content_version", "category_ids",
)
MODULE_VALUES = (
    "id", "tenant_id", "course_id", "title", "description", "image", "status", "ordering",
    "created_by", "created_at", "updated_by", "updated_at",
)
LESSON_VALUES = (
    "id", "tenant_id", "title", "alias", "description", "content", "short_desc", "image", "status", "format",
    "duration", "start_date", "end_date", "storage", "free_lesson", "no_of_attempts", "attempts_grade",
    "consider_marks", "media_id", "eligibility_criteria", "ideal_time", "resume", "total_marks", "passing_marks",
    "in_lib", "params", "created_by", "created_at", "updated_by", "updated_at", "category_ids",
)
MEDIA_VALUES = ("id", "format", "sub_format", "source", "url", "params")
PLACEMENT_VALUES = ("id", "course_id", "module_id", "lesson_id", "ordering")


# The one definition of "required": a placement that is not archived, in a published module, of a
# published lesson.
_REQUIRED = Q(archived=False, module__status=ContentStatus.PUBLISHED, lesson__status=ContentStatus.PUBLISHED)


# Released: required, in a published course. Only through a released placement does a learner's
# attempt, view or assessment count as progress (DECISIONS §8); the statements that check and write
# at once state the same rule in SQL through `released_sql` (the viewer's course-context condition,
# the one-statement attempt start).
RELEASED = Q(_REQUIRED, course__status=ContentStatus.PUBLISHED)


def released_sql(*, placement: str, published: str, course_tenant: str | None = None) -> str:
    """`RELEASED` as an SQL condition on the placement row aliased `placement` in the caller's
    statement: not archived, and its lesson, module and course published. `published` is the
    placeholder the caller binds to `ContentStatus.PUBLISHED` (`%s` or a named `%(published)s`), or
    its literal; it appears once, so a positional statement binds it once. With `course_tenant` (a
    placeholder), the course must also belong to that tenant, so a caller that checks the course's
    tenant needs no probe of the course of its own. The inner aliases derive from `placement`, so
    the condition can be used for two placements of one statement."""
    lesson, module, course = f"{placement}_lesson", f"{placement}_module", f"{placement}_course"
    tenant = f" AND {course}.tenant_id = {course_tenant}" if course_tenant else ""
    return (
        f"NOT {placement}.archived AND EXISTS (SELECT 1 FROM {Lesson._meta.db_table} {lesson}"
        f" JOIN {Module._meta.db_table} {module} ON {module}.id = {placement}.module_id"
        f" JOIN {Course._meta.db_table} {course} ON {course}.id = {placement}.course_id"
        f" WHERE {lesson}.id = {placement}.lesson_id AND {lesson}.status = {published}"
        f" AND {module}.status = {lesson}.status AND {course}.status = {lesson}.status{tenant})"
    )


def released_placements(**filters) -> QuerySet:
    """The released placements matching `filters` (e.g. course_id=…, lesson_id=…)."""
    return LessonPlacement.objects.filter(RELEASED, **filters)


def required_placements(*, course_ids: Iterable[uuid.UUID]) -> QuerySet:
    """The placements that make lessons required in these courses (`_REQUIRED`); uncorrelated,
    so reading it for many courses at once stays one index-backed scan."""
    return LessonPlacement.objects.filter(_REQUIRED, course_id__in=list(course_ids))


def course_required_lesson_ids(*, course_id) -> QuerySet:
    """Ids of the lessons a learner must complete in the course. A values queryset, usable as a
    subquery (`course_id` may be an OuterRef)."""
    return LessonPlacement.objects.filter(_REQUIRED, course_id=course_id).values("lesson_id").distinct()


def _statuses(learner: bool) -> tuple[str, ...]:
    return (ContentStatus.PUBLISHED,) if learner else LIVE_STATUSES


def courses_visible(*, tenant_id: uuid.UUID, learner: bool) -> QuerySet[Course]:
    return Course.objects.filter(tenant_id=tenant_id, status__in=_statuses(learner)).order_by("-created_at", "id")


def modules_visible(*, tenant_id: uuid.UUID, learner: bool) -> QuerySet[Module]:
    statuses = _statuses(learner)
    return Module.objects.filter(tenant_id=tenant_id, status__in=statuses, course__status__in=statuses).order_by(
        "ordering", "created_at", "id"
    )


def lessons_visible(*, tenant_id: uuid.UUID, learner: bool) -> QuerySet[Lesson]:
    return Lesson.objects.filter(tenant_id=tenant_id, status__in=_statuses(learner)).order_by("-created_at", "id")


def placements_visible(*, tenant_id: uuid.UUID, learner: bool) -> QuerySet[LessonPlacement]:
    statuses = _statuses(learner)
    return LessonPlacement.objects.filter(
        tenant_id=tenant_id,
        archived=False,
        course__status__in=statuses,
        module__status__in=statuses,
        lesson__status__in=statuses,
    )


# --- rows -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LessonRow:
    """One lesson as the API shows it: the lesson, its media (or None) and the placement it is
    shown in (or None)."""

    lesson: dict
    media: dict | None
    placement: dict | None


_LESSON_VIA_PLACEMENT = tuple(f"lesson__{name}" for name in LESSON_VALUES)
_MEDIA_VIA_LESSON = tuple(f"media__{name}" for name in MEDIA_VALUES)
_MEDIA_VIA_PLACEMENT = tuple(f"lesson__media__{name}" for name in MEDIA_VALUES)


def _media_part(row: dict, prefix: str) -> dict | None:
    if row[f"{prefix}id"] is None:
        return None
    return {name: row[f"{prefix}{name}"] for name in MEDIA_VALUES}


def _lesson_row_from_lesson(row: dict, placement: dict | None = None) -> LessonRow:
    return LessonRow(
        lesson={name: row[name] for name in LESSON_VALUES},
        media=_media_part(row, "media__"),
        placement=placement,
    )


def lesson_row_for_instance(lesson: Lesson, *, placement: dict | None) -> LessonRow:
    """A LessonRow from a loaded lesson (with its media selected), for apps that list lessons
    beside their own rows, so they render lessons with the catalogue's one shape."""
    values = {name: getattr(lesson, name) for name in LESSON_VALUES}
    values["image"] = lesson.image.name
    media = lesson.media
    return LessonRow(
        lesson=values,
        media={name: getattr(media, name) for name in MEDIA_VALUES} if media is not None else None,
        placement=placement,
    )


def _lesson_row_from_placement(row: dict) -> LessonRow:
    return LessonRow(
        lesson={name: row[f"lesson__{name}"] for name in LESSON_VALUES},
        media=_media_part(row, "lesson__media__"),
        placement={name: row[name] for name in PLACEMENT_VALUES},
    )


def course_values(queryset: QuerySet[Course]) -> QuerySet:
    return queryset.values(*COURSE_VALUES)


def course_row(*, tenant_id: uuid.UUID, course_id: uuid.UUID, learner: bool) -> dict | None:
    """The course as a `.values(*COURSE_VALUES)` row when the caller may see it, else None.

    One primary-key read in plain SQL (see `sql_values_rows`): it runs on every course write's
    answer and ahead of every rendering, where compiling the queryset cost about three times the
    database round trip.
    """
    return _visible_course_read(tenant_id=tenant_id, course_id=course_id, learner=learner, fields=_COURSE_ROW_FIELDS)


def course_version(*, tenant_id: uuid.UUID, course_id: uuid.UUID, learner: bool) -> dict | None:
    """The course's `id`, `content_version` and `status` when the caller may see it, else None.

    The read ahead of every cached rendering of the course (`GET /courses/:id`, its details) and
    of their conditional requests: the same visibility rule as `course_row`, on a narrow row.
    Every content write bumps `content_version` (courses.services), so with the status and the
    caller's audience it names the rendered body. Fetching and converting the whole row cost
    about half as much again as this read on PostgreSQL.
    """
    return _visible_course_read(tenant_id=tenant_id, course_id=course_id, learner=learner, fields=_COURSE_VERSION_FIELDS)


def _visible_course_read(*, tenant_id: uuid.UUID, course_id: uuid.UUID, learner: bool, fields: dict) -> dict | None:
    db = connections[router.db_for_read(Course)]
    statuses = _statuses(learner)
    rows = sql_values_rows(
        db,
        _course_read_sql(db.alias, tuple(fields), len(statuses)),
        [sql_param(db, Course, "id", course_id), sql_param(db, Course, "tenant", tenant_id), *statuses],
        fields,
    )
    return rows[0] if rows else None


_COURSE_ROW_FIELDS = {name: Course._meta.get_field(name) for name in COURSE_VALUES}
_COURSE_VERSION_FIELDS = {name: Course._meta.get_field(name) for name in ("id", "content_version", "status")}


@functools.lru_cache(maxsize=16)
def _course_read_sql(alias: str, names: tuple[str, ...], statuses: int) -> str:
    """The text of a visible course's read, fixed per database and select list: built once."""
    db = connections[alias]
    column = partial(sql_column, db, Course)
    select_list = sql_select_list(db, (Course._meta.get_field(name) for name in names))
    return (
        f"SELECT {select_list} FROM {db.ops.quote_name(Course._meta.db_table)}"
        f" WHERE {column('id')} = %s AND {column('tenant')} = %s"
        f" AND {column('status')} IN ({', '.join(['%s'] * statuses)})"
    )


def module_row(*, tenant_id: uuid.UUID, module_id: uuid.UUID, learner: bool) -> dict | None:
    return modules_visible(tenant_id=tenant_id, learner=learner).filter(pk=module_id).values(*MODULE_VALUES).first()


def module_values_for_course(*, tenant_id: uuid.UUID, course_id: uuid.UUID, learner: bool) -> QuerySet:
    return modules_visible(tenant_id=tenant_id, learner=learner).filter(course_id=course_id).values(*MODULE_VALUES)


def lesson_values(queryset: QuerySet[Lesson]) -> QuerySet:
    return queryset.values(*LESSON_VALUES, *_MEDIA_VIA_LESSON)


def lesson_rows_with_first_placement(
    *, tenant_id: uuid.UUID, learner: bool, rows: list[dict], course_id=None, module_id=None
) -> list[LessonRow]:
    """Attaches to each lesson row its first visible placement (or the first within the given
    course/module), in one query for the whole page."""
    lesson_ids = [row["id"] for row in rows]
    placements = placements_visible(tenant_id=tenant_id, learner=learner).filter(lesson_id__in=lesson_ids)
    if course_id is not None:
        placements = placements.filter(course_id=course_id)
    if module_id is not None:
        placements = placements.filter(module_id=module_id)
    first: dict[uuid.UUID, dict] = {}
    for placement in placements.order_by("created_at", "id").values(*PLACEMENT_VALUES):
        first.setdefault(placement["lesson_id"], placement)
    return [_lesson_row_from_lesson(row, first.get(row["id"])) for row in rows]


def lesson_detail(*, tenant_id: uuid.UUID, lesson_id: uuid.UUID, learner: bool) -> tuple[LessonRow, list[dict]] | None:
    """The lesson (with media and first placement) and all its visible placements; two queries."""
    row = lesson_values(lessons_visible(tenant_id=tenant_id, learner=learner).filter(pk=lesson_id)).first()
    if row is None:
        return None
    placements = list(
        placements_visible(tenant_id=tenant_id, learner=learner)
        .filter(lesson_id=lesson_id)
        .order_by("created_at", "id")
        .values(*PLACEMENT_VALUES)
    )
    return _lesson_row_from_lesson(row, placements[0] if placements else None), placements


def lesson_row_in_placement(*, tenant_id: uuid.UUID, lesson_id: uuid.UUID, placement_id: uuid.UUID | None) -> LessonRow:
    """A lesson as an author sees it right after a write, shown in the given placement."""
    row = lesson_values(lessons_visible(tenant_id=tenant_id, learner=False).filter(pk=lesson_id)).get()
    placement = None
    if placement_id is not None:
        placement = LessonPlacement.objects.filter(pk=placement_id).values(*PLACEMENT_VALUES).first()
    return _lesson_row_from_lesson(row, placement)


def placement_values(queryset: QuerySet[LessonPlacement]) -> QuerySet:
    return queryset.values(*PLACEMENT_VALUES, *_LESSON_VIA_PLACEMENT, *_MEDIA_VIA_PLACEMENT)


def lesson_placements_in_module(*, tenant_id: uuid.UUID, module_id: uuid.UUID, learner: bool) -> QuerySet:
    return placement_values(
        placements_visible(tenant_id=tenant_id, learner=learner)
        .filter(module_id=module_id)
        .order_by("ordering", "created_at", "id")
    )


def lesson_placements_in_course(*, tenant_id: uuid.UUID, course_id: uuid.UUID, learner: bool) -> QuerySet:
    return placement_values(
        placements_visible(tenant_id=tenant_id, learner=learner)
        .filter(course_id=course_id)
        .order_by("module__ordering", "module__created_at", "module_id", "ordering", "created_at", "id")
    )


def lesson_rows_from_placements(rows) -> list[LessonRow]:
    return [_lesson_row_from_placement(row) for row in rows]


@dataclass(frozen=True)
class CourseTree:
    course: dict
    modules: list[dict]
    lessons: list[LessonRow]


def course_tree(*, tenant_id: uuid.UUID, course_id: uuid.UUID, learner: bool) -> CourseTree | None:
    """The course with its visible modules and, per module, its visible lessons in order.

    Three queries whatever the size: the course, its modules, its placements joined with lessons
    and media. Returns None when the course is not visible.
    """
    course = course_row(tenant_id=tenant_id, course_id=course_id, learner=learner)
    if course is None:
        return None
    modules = list(module_values_for_course(tenant_id=tenant_id, course_id=course_id, learner=learner))
    lessons = lesson_rows_from_placements(
        lesson_placements_in_course(tenant_id=tenant_id, course_id=course_id, learner=learner)
    )
    return CourseTree(course=course, modules=modules, lessons=lessons)


def lessons_placed_filter(*, tenant_id: uuid.UUID, learner: bool, course_id=None, module_id=None):
    """An EXISTS condition: the lesson has a visible placement in the course and/or module."""
    placements = placements_visible(tenant_id=tenant_id, learner=learner).filter(lesson_id=OuterRef("pk"))
    if course_id is not None:
        placements = placements.filter(course_id=course_id)
    if module_id is not None:
        placements = placements.filter(module_id=module_id)
    return Exists(placements)


# --- categories and search (DECISIONS §11) -----------------------------------------------------


def in_any_category(*, model, category_ids: Iterable[uuid.UUID], outer: str = "pk") -> Exists:
    """An EXISTS condition on a course or lesson (its id at `outer`): linked to at least one of
    `category_ids`. EXISTS rather than a join, so that no row repeats and no DISTINCT is needed."""
    through = model.categories.through
    owner = f"{model._meta.model_name}_id"
    return Exists(through.objects.filter(**{owner: OuterRef(outer)}, category_id__in=list(category_ids)))


def categories_visible(*, tenant_id: uuid.UUID) -> QuerySet[Category]:
    return Category.objects.filter(tenant_id=tenant_id).order_by("ordering", "name", "id")


def course_search_vector():
    """The document a course is searched by on PostgreSQL: title and description in the configured
    language. Migration courses 0005 stores it in the generated column `search_document`, which the
    GIN index covers and the catalogue search (`tracking.home.catalogue_page`) matches against."""
    from django.contrib.postgres.search import SearchVector

    return SearchVector("title", "description", config=settings.LMS_SEARCH_LANGUAGE)
