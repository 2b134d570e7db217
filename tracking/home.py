"""Reads of the learner home (DECISIONS §11): module progress, the home screen's enrolled courses,
the learner dashboard and the catalogue search that knows the learner.

Module progress is derived, never stored: from the same facts as the course track's recount,
the required placements (`courses.selectors.required_placements`, the `_REQUIRED` rule) and the
completed consumption rows of the context (`completed_consumption`, carry-forward included).
So a module's figures and the track's `completed_lessons` / `no_of_lessons` cannot disagree:
the distinct lessons over a course's modules are the track's lessons.

Every reader works for a whole page of courses at once, in a fixed number of queries.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial

from django.conf import settings
from django.db import connections, router
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from courses.models import LIVE_STATUSES, ContentStatus, Course, Lesson, LessonPlacement, Module
from courses.selectors import COURSE_VALUES, required_placements
from enrollment.models import Enrollment
from lms.lru import WeightedLRU
from lms.models import Tenant
from lms.rawsql import sql_column, sql_param, sql_rows, sql_select_list, sql_values_rows
from tracking.models import ConsumptionStatus, ContentConsumption, CourseTrack, CourseTrackStatus, IssuedCertificate
from tracking.selectors import tenant_carries_forward


class ModuleStatus:
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


@dataclass(frozen=True)
class ModuleProgress:
    module_id: uuid.UUID
    title: str
    lesson_ids: tuple[uuid.UUID, ...]  # required lessons placed in the module, in placement order
    completed_lessons: int
    started: bool

    @property
    def total_lessons(self) -> int:
        return len(self.lesson_ids)

    @property
    def status(self) -> str:
        # A module with no required lesson is never completed (DECISIONS §11).
        if self.total_lessons and self.completed_lessons >= self.total_lessons:
            return ModuleStatus.COMPLETED
        if self.completed_lessons or self.started:
            return ModuleStatus.IN_PROGRESS
        return ModuleStatus.NOT_STARTED


@dataclass(frozen=True)
class NextLesson:
    lesson_id: uuid.UUID
    title: str
    module_id: uuid.UUID


@dataclass
class CourseProgress:
    """A learner's progress through one course in one (course, batch) context."""

    course_id: uuid.UUID
    batch_id: uuid.UUID
    modules: list[ModuleProgress] = field(default_factory=list)
    completed_lesson_ids: frozenset[uuid.UUID] = frozenset()
    next_lesson: NextLesson | None = None

    @property
    def completed_module_count(self) -> int:
        return sum(1 for module in self.modules if module.status == ModuleStatus.COMPLETED)

    @property
    def required_lesson_ids(self) -> set[uuid.UUID]:
        return {lesson_id for module in self.modules for lesson_id in module.lesson_ids}


def _published_modules(course_ids) -> QuerySet:
    # The modules a learner sees, in course order (`courses.selectors.modules_visible`'s order).
    return (
        Module.objects.filter(course_id__in=list(course_ids), status=ContentStatus.PUBLISHED)
        .order_by("ordering", "created_at", "id")
        .values("id", "course_id", "title")
    )


def _placements_and_consumption(
    *, tenant_id: uuid.UUID, user_id: uuid.UUID, course_ids: list[uuid.UUID]
) -> tuple[list[dict], list[tuple]]:
    """The required placements of the courses in course order (with each lesson's title and
    prerequisites), and the user's consumption rows (collection, batch, content, status) of those
    lessons and of their prerequisites, which may lie outside these courses: two queries. Both the
    module list and the home screen read the next lesson from these, as `POST /lessons/tracking`
    checks prerequisites."""
    placements = list(
        required_placements(course_ids=course_ids)
        .order_by("module__ordering", "module__created_at", "module_id", "ordering", "created_at", "id")
        .values("course_id", "module_id", "lesson_id", "lesson__title", "lesson__eligibility_criteria")
    )
    lesson_ids = {placement["lesson_id"] for placement in placements}
    lesson_ids.update(_as_uuid(entry) for placement in placements for entry in _prerequisite_ids(placement))
    consumption = list(
        ContentConsumption.objects.filter(tenant_id=tenant_id, user_id=user_id, content_id__in=list(lesson_ids))
        .values_list("collection_id", "batch_id", "content_id", "status")
    )
    return placements, consumption


def _consumption_sets(consumption: list[tuple]) -> tuple[dict, dict, set]:
    """(started per (collection, batch), completed per (collection, batch), completed anywhere)."""
    started_in: dict[tuple, set[uuid.UUID]] = defaultdict(set)
    completed_in: dict[tuple, set[uuid.UUID]] = defaultdict(set)
    completed_anywhere: set[uuid.UUID] = set()
    for collection_id, batch_id, content_id, status in consumption:
        started_in[(collection_id, batch_id)].add(content_id)
        if status == ConsumptionStatus.COMPLETED:
            completed_in[(collection_id, batch_id)].add(content_id)
            completed_anywhere.add(content_id)
    return started_in, completed_in, completed_anywhere


def courses_progress(
    *, tenant_id: uuid.UUID, user_id: uuid.UUID, contexts: list[tuple[uuid.UUID, uuid.UUID]],
    carry: bool | None = None,
) -> dict[tuple[uuid.UUID, uuid.UUID], CourseProgress]:
    """Module progress and the next lesson of one user in each (course, batch) context.

    Four queries whatever the number of contexts, modules and lessons: the tenant's carry-forward
    setting (unless given), the published modules, and `_placements_and_consumption`.
    """
    if not contexts:
        return {}
    if carry is None:
        carry = tenant_carries_forward(tenant_id=tenant_id)
    course_ids = sorted({course_id for course_id, _ in contexts}, key=str)
    modules_by_course: dict[uuid.UUID, list[dict]] = defaultdict(list)
    for module in _published_modules(course_ids):
        modules_by_course[module["course_id"]].append(module)
    placements, consumption = _placements_and_consumption(tenant_id=tenant_id, user_id=user_id, course_ids=course_ids)
    lessons_in: dict[tuple[uuid.UUID, uuid.UUID], list[uuid.UUID]] = defaultdict(list)
    for placement in placements:
        lessons_in[(placement["course_id"], placement["module_id"])].append(placement["lesson_id"])
    started_in, completed_in, completed_anywhere = _consumption_sets(consumption)

    progress = {}
    for course_id, batch_id in contexts:
        # The recount's rule: completed in this context, or anywhere when the tenant carries forward.
        completed = completed_anywhere if carry else completed_in[(course_id, batch_id)]
        started = started_in[(course_id, batch_id)]
        modules = []
        for module in modules_by_course[course_id]:
            lesson_ids = tuple(dict.fromkeys(lessons_in[(course_id, module["id"])]))
            modules.append(ModuleProgress(
                module_id=module["id"], title=module["title"], lesson_ids=lesson_ids,
                completed_lessons=sum(1 for lesson_id in lesson_ids if lesson_id in completed),
                started=any(lesson_id in started for lesson_id in lesson_ids),
            ))
        course_progress = CourseProgress(course_id=course_id, batch_id=batch_id, modules=modules)
        course_progress.completed_lesson_ids = frozenset(course_progress.required_lesson_ids & completed)
        course_progress.next_lesson = _next_lesson(
            [placement for placement in placements if placement["course_id"] == course_id], completed
        )
        progress[(course_id, batch_id)] = course_progress
    return progress


def _next_lesson(placements: list[dict], completed: set[uuid.UUID]) -> NextLesson | None:
    """The first required lesson in course order that is not completed and whose prerequisites
    are (the rule `POST /lessons/tracking` applies); None when there is none."""
    for placement in placements:
        if placement["lesson_id"] in completed:
            continue
        if all(_as_uuid(prerequisite) in completed for prerequisite in _prerequisite_ids(placement)):
            return NextLesson(
                lesson_id=placement["lesson_id"], title=placement["lesson__title"], module_id=placement["module_id"]
            )
    return None


def _prerequisite_ids(placement: dict) -> list:
    raw = placement["lesson__eligibility_criteria"]
    entries = raw if isinstance(raw, list) else [raw] if raw else []
    # Entries that are not lesson ids name nothing to complete (as tracking.services reads them).
    return [entry for entry in entries if _as_uuid(entry) is not None and _as_uuid(entry) != placement["lesson_id"]]


def _as_uuid(value) -> uuid.UUID | None:
    # Also what raw SQL returns: a UUID on PostgreSQL, 32-digit hex text on SQLite.
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


# --- the catalogue search and the home screen --------------------------------------------------


@dataclass(frozen=True)
class CataloguePage:
    count: int
    courses: list[dict]  # `.values(*COURSE_VALUES)` rows


@functools.cache
def _catalogue_fields() -> dict:
    # Fixed per process (read, never changed, by the callers): building it cost 22 field lookups a search.
    fields = {name: Course._meta.get_field(name) for name in COURSE_VALUES}
    # The window's total, last: an integer column, converted as any integer field is (not at all).
    fields["_total"] = Course._meta.get_field("content_version")
    return fields


@functools.lru_cache(maxsize=8)
def _document_sql(alias: str) -> tuple[str, tuple]:
    """PostgreSQL's search document of a course: the column that stores `course_search_vector()`
    (migration courses 0005), which the GIN index covers. Matching the stored document rather than
    the expression spares `to_tsvector` of every course whenever the planner scans the table, as it
    does when most courses match (~25 µs a course)."""
    db = connections[alias]
    return f"{_table(db, Course)}.{db.ops.quote_name('search_document')}", ()


def catalogue_page(
    *, tenant_id: uuid.UUID, learner: bool, q: str | None, category_ids: list[uuid.UUID] | None,
    featured: bool | None, free: bool | None, user_id: uuid.UUID | None, has_enroll: bool | None,
    offset: int, limit: int,
) -> CataloguePage:
    """A page of `GET /courses/search` (and of the users-courses list without `hasEnroll=true`):
    the visible courses matching every given filter, with the total. Ordered by title, then id:
    DECISIONS §11 orders by `ordering` first, and a course has no position of its own (modules and
    placements do), so the title decides.

    - `q`: every word, stemmed, in the title or description: PostgreSQL full-text search through the
      GIN index; on SQLite a case-insensitive contains per word.
    - `has_enroll`: True keeps the courses `user_id` is enrolled in (any batch), False the published
      ones they are not in ("discover"), as EXISTS / NOT EXISTS so the page is cut in the database.

    One hand-written read, the total riding on each row (a second, the count, only past the last
    page): building the ORM's search, count and page cost several times the database's work."""
    db = connections[router.db_for_read(Course)]
    column = partial(sql_column, db, Course)
    fields = _catalogue_fields()
    statuses = (ContentStatus.PUBLISHED,) if learner else LIVE_STATUSES
    conditions = [f"{column('tenant')} = %s", f"{column('status')} IN ({', '.join(['%s'] * len(statuses))})"]
    params: list = [sql_param(db, Course, "tenant", tenant_id), *(status.value for status in statuses)]
    words = (q or "").split()
    if words and db.vendor == "postgresql":
        document, document_params = _document_sql(db.alias)
        conditions.append(f"{document} @@ plainto_tsquery(%s::regconfig, %s)")
        params += [*document_params, settings.LMS_SEARCH_LANGUAGE, " ".join(words)]
    for word in words if db.vendor != "postgresql" else ():
        conditions.append(f"({column('title')} LIKE %s ESCAPE '\\' OR {column('description')} LIKE %s ESCAPE '\\')")
        pattern = f"%{db.ops.prep_for_like_query(word)}%"
        params += [pattern, pattern]
    if category_ids:
        through = Course.categories.through
        conditions.append(
            f"EXISTS (SELECT 1 FROM {_table(db, through)} cc WHERE cc.course_id = {column('id')}"
            f" AND cc.category_id IN ({', '.join(['%s'] * len(category_ids))}))"
        )
        params += [sql_param(db, Course, "id", category_id) for category_id in category_ids]
    for name, value in (("featured", featured), ("free", free)):
        if value is not None:
            conditions.append(f"{column(name)} = %s")
            params.append(value)
    if has_enroll is not None:
        enrolled = (
            f"EXISTS (SELECT 1 FROM {_table(db, Enrollment)} e WHERE e.tenant_id = %s AND e.user_id = %s"
            f" AND e.course_id = {column('id')})"
        )
        conditions.append(enrolled if has_enroll else f"NOT {enrolled} AND {column('status')} = %s")
        params += [sql_param(db, Course, "tenant", tenant_id), sql_param(db, Enrollment, "user_id", user_id)]
        if not has_enroll:
            params.append(ContentStatus.PUBLISHED.value)
    where = " AND ".join(conditions)
    table = _table(db, Course)
    rows = sql_values_rows(
        db,
        f"SELECT {sql_select_list(db, list(fields.values())[:-1])}, COUNT(*) OVER () FROM {table} WHERE {where}"
        f" ORDER BY {column('title')} ASC, {column('id')} ASC LIMIT %s OFFSET %s",
        [*params, limit, offset],
        fields,
        native_timestamps=True,  # four a row (`sql_values_rows`)
    )
    if rows:
        count = rows[0]["_total"]
    elif offset:  # past the last page: the window had no row to ride on
        with db.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}", params)
            (count,) = cursor.fetchone()
    else:
        count = 0
    return CataloguePage(count=count, courses=rows)


def module_counts(*, course_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """How many published modules each course has (`totalModuleCount`), in one query."""
    rows = (
        Module.objects.filter(course_id__in=course_ids, status=ContentStatus.PUBLISHED)
        .order_by()
        .values("course_id")
        .annotate(n=Count("id"))
    )
    return {row["course_id"]: row["n"] for row in rows}


_ENROLLMENT_VALUES = (
    "id", "course_id", "user_id", "tenant_id", "batch_id", "enrolled_on_time", "end_time", "state", "active",
    "unlimited_plan", "before_expiry_mail", "after_expiry_mail", "params", "enrolled_by", "enrolled_at",
    "updated_by", "updated_at",
)
_TRACK_VALUES = (
    "id", "course_id", "user_id", "batch_id", "timestart", "timeend", "no_of_lessons", "completed_lessons",
    "status", "last_accessed_date", "cert_gen_date",
)


# The columns of a home page's row, by its model (`_row_read_sql`, `_row_versions`).
_ROW_VALUES = {Enrollment: _ENROLLMENT_VALUES, CourseTrack: _TRACK_VALUES}


@dataclass(frozen=True)
class RowVersion:
    """One version of a user's enrolment or track row, as `.values()` of `_ENROLLMENT_VALUES` or
    `_TRACK_VALUES` gives it (UUIDs as their text on PostgreSQL: `sql_rows(..., uuids_as_text=True)`).
    Shared between requests and threads through `_row_version_cache`, so never mutated but for
    `rendered`, the view's memo of its encoding (any entry of which is right)."""

    values: dict
    rendered: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class HomePage:
    """One page of the home screen (`hasEnroll=true`): the total, the course rows (`.values()` of
    `COURSE_VALUES`), and, in the same order (one per course row), each course's own-batch
    enrolment and track (a `RowVersion`, or None), and whether the tenant carries completions
    forward. In page order rather than by course id: a UUID hashes in Python code, and the dicts by
    course id cost some 600 such hashes a page of 20."""

    count: int
    courses: list[dict]
    enrollments: list[RowVersion | None]
    tracks: list[RowVersion | None]
    carry: bool
    # The lessons (their ids' canonical text) the user has completed in each course's own batch:
    # `home_page_progress`'s completions when the tenant does not carry them forward.
    completed: list[frozenset[str]] = field(default_factory=list)
    # Each course's outline at the version the page read.
    outlines: list = field(default_factory=list)


# What the page's statement reads of each course: the rest of its row is the outline's (`_CourseOutline.course`).
_PAGE_COURSE_VALUES = ("id", "content_version", "status")


# --- the page's enrolment and track rows, by row version ---------------------------------------
#
# A learner opens their home screen far more often than their enrolments and tracks change, and
# reading the page's 20 enrolment and track rows in full (some 30 columns a course, eight of them
# timestamps) and writing them out again was most of what a page cost past its one statement: in
# PostgreSQL's output, psycopg's loading and the view's encoding (docs/benchmarks.md, the twelfth
# pass). So the page's statement reads only each row's id and version, and a row's values come from
# this cache of row versions, read in full (one statement per table) only for the versions this
# process has not seen.
#
# A row's version on PostgreSQL is its `xmin` and `cmin`: the transaction that wrote this version of
# the row, and the command within it. Every write of a row, through any path (the services, a
# queryset's `update()`, the recount, SQL by hand), writes a new version with the writer's own
# transaction id, so a version is a fact that never changes under its key, as the house rule for
# in-process caches asks (`lms/lru.py`); nothing needs invalidating. The command id tells apart two
# versions that one transaction wrote (a test's transaction, a command in `atomic()`), which that
# transaction alone can see before it commits. Freezing keeps the raw `xmin` (PostgreSQL >= 9.4), so
# a version's key could come back only once the transaction counter wraps around (2^32 transactions)
# and only while this process still held the old entry. Npgsql's Entity Framework provider uses
# `xmin` as its row version for optimistic concurrency on the same grounds. SQLite keeps no version
# of a row: there the version reads NULL, so its rows are read in full on every page and never cached.
#
# Keyed by (database alias, table, id, version), the id and version as the statements give them
# (text on PostgreSQL): each database counts its own transactions. Every entry is reached only
# through a statement that named the tenant and the user (the page's, or the read of the missing
# rows), so the cache holds no path across tenants or learners. Bounded at 10,000 rows (some 2 kB
# each with the view's encoding: about 20 MB a process at worst), the rows of the last 250 or so
# learners' full pages.
_row_version_cache: WeightedLRU[RowVersion] = WeightedLRU(max_weight=10_000, weigh=lambda row: 1)


def row_version_cache_clear() -> None:
    """Empties the in-process cache of enrolment and track row versions (tests measure the cold path)."""
    _row_version_cache.clear()


def _version_sql(db, alias: str) -> str:
    # A row's version (see `_row_version_cache`): its writer's transaction and command on PostgreSQL,
    # as one text value; SQLite has none (NULL: never cached).
    if db.vendor == "postgresql":
        return f"{alias}.xmin::text || ':' || {alias}.cmin::text"
    return "NULL"


def _id_sql(db, column: str) -> str:
    # An id column as the page's binary rows carry it on PostgreSQL: its text (uuid_out, what the text
    # format would run for it anyway); SQLite's hex as it is.
    return f"{column}::text" if db.vendor == "postgresql" else column


# The field of a text column that no database converts: the select list's row versions.
_VERSION_FIELD = CourseTrack._meta.get_field("status")


@functools.lru_cache(maxsize=128)
def _row_read_sql(alias: str, model: type, rows: int) -> tuple[str, tuple]:
    """The read of `rows` enrolment or track rows of one user by id, with each row's version last:
    the rows of a home page that `_row_version_cache` lacks. Parameters: tenant, user, the ids. The
    user by value, as every statement on a per-user table names it (tests/scaling)."""
    db = connections[alias]
    fields = tuple(model._meta.get_field(name) for name in _ROW_VALUES[model])
    table = _table(db, model)
    sql = (
        f"SELECT {sql_select_list(db, fields)}, {_version_sql(db, table)} FROM {table}"
        f" WHERE {sql_column(db, model, 'tenant')} = %s AND {sql_column(db, model, 'user_id')} = %s"
        f" AND {sql_column(db, model, 'id')} IN ({', '.join(['%s'] * rows)})"
    )
    return sql, (*fields, _VERSION_FIELD)


def _row_versions(
    db, model: type, *, tenant_id: uuid.UUID, user_id: uuid.UUID, wanted: list[tuple]
) -> dict:
    """The `RowVersion` of each (id, version) in `wanted` (ids as the page read them), by id: from
    the cache, or for the versions it lacks (and every row on SQLite) from one read of those rows,
    whose versions then join the cache. A row read again may have moved on since the page read it:
    it is rendered and cached as read, under the version it was read at. A row deleted since has none."""
    table = model._meta.db_table
    keyed = {row_id: (db.alias, table, row_id, version) for row_id, version in wanted if row_id is not None}
    found = _row_version_cache.get_many(key for key in keyed.values() if key[3] is not None)
    by_id = {row_id: found[key] for row_id, key in keyed.items() if key in found}
    missing = [row_id for row_id in keyed if row_id not in by_id]
    if missing:
        names = _ROW_VALUES[model]
        sql, fields = _row_read_sql(db.alias, model, len(missing))
        # The ids as the page read them: PostgreSQL's text goes as it is (psycopg sends a str untyped,
        # so the server reads it as the column's uuid; parsing 40 UUIDs a cold page cost more than the
        # rest of building its parameters), SQLite's UUIDs as its hex.
        ids = missing if db.vendor == "postgresql" else [sql_param(db, model, "id", row_id) for row_id in missing]
        params = [sql_param(db, model, "tenant", tenant_id), sql_param(db, model, "user_id", user_id), *ids]
        fresh = {}
        for values in sql_rows(db, sql, params, fields, native_timestamps=True, uuids_as_text=True):
            row = by_id[values[0]] = RowVersion(values=dict(zip(names, values[:-1], strict=True)))
            if values[-1] is not None:
                fresh[(db.alias, table, values[0], values[-1])] = row
        if fresh:
            _row_version_cache.put_many(fresh)
    return by_id



def _own_batch_completions_sql(db, course_id: str) -> str:
    """A select-list expression: the lessons the user has completed in the course's own batch, the
    completions `home_progress` needs when completions are not carried forward. On the page's own
    rows, so a warm home page is one statement rather than a page and then the completions (that
    second statement was 6 % of a request's instructions at S, 17 % at L: docs/benchmarks.md). A range of the consumption table's unique
    (user, tenant, collection, batch, content) index per course row, naming the user by value
    (tests/scaling). Parameters: user, tenant, the completed status. An array of UUIDs on PostgreSQL;
    SQLite, which has none, gets the ids (its 32-digit hex) joined by commas."""
    consumption = _table(db, ContentConsumption)
    where = (
        f"FROM {consumption} d WHERE d.user_id = %s AND d.tenant_id = %s AND d.collection_id = {course_id}"
        f" AND d.batch_id = {course_id} AND d.status = %s"
    )
    if db.vendor == "postgresql":
        return f"ARRAY(SELECT d.content_id::text {where})"
    return f"(SELECT group_concat(d.content_id, ',') {where})"


def _lesson_keys(completed) -> frozenset[str]:
    # `_own_batch_completions_sql`'s value as the outlines' lesson keys (each id's canonical text).
    if completed is None or isinstance(completed, str):  # SQLite: hex ids joined by commas, or no row
        return frozenset(_id_text(entry) for entry in completed.split(",")) if completed else frozenset()
    # PostgreSQL: a list of the ids' text (`uuids_as_text`), or of UUIDs; `str` is their key either way.
    return frozenset(map(str, completed))


def _id_text(value) -> str:
    # An id as the outlines key it (lessons, courses): its canonical text (`str(UUID)`, also PostgreSQL's
    # text of a uuid), of a UUID, a str or SQLite's hex. A str hashes in C, once per object; a UUID
    # hashes in Python code every time.
    return str(value) if isinstance(value, uuid.UUID) else str(uuid.UUID(str(value)))



def _home_page_fields() -> dict:
    fields = {name: Course._meta.get_field(name) for name in _PAGE_COURSE_VALUES}
    fields["enrollment__id"] = Enrollment._meta.get_field("id")
    fields["enrollment__version"] = _VERSION_FIELD
    fields["track__id"] = CourseTrack._meta.get_field("id")
    fields["track__version"] = _VERSION_FIELD
    fields["tenant__carry_forward"] = Tenant._meta.get_field("carry_forward")
    # The lessons completed in the course's own batch (`_own_batch_completions_sql`), then the window's
    # total, last: an integer column's field, so converted not at all (`_lesson_keys` decodes the list).
    fields["_completed"] = Course._meta.get_field("content_version")
    fields["_total"] = Course._meta.get_field("content_version")
    return fields


@functools.lru_cache(maxsize=64)
def _home_page_sql(alias: str, statuses: int, categories: int) -> tuple[str, str, dict]:
    """The texts of `home_page`'s reads (the count, the page with the count) and the page's fields, fixed per
    database and shape: the courses the user is enrolled in (any batch), by the last access of the
    track in the course's own batch, latest first (never accessed last), then title."""
    db = connections[alias]
    fields = _home_page_fields()
    course, enrollment, track = _table(db, Course), _table(db, Enrollment), _table(db, CourseTrack)
    column = partial(sql_column, db)
    through = Course.categories.through
    in_category = (
        f" AND EXISTS (SELECT 1 FROM {_table(db, through)} cc WHERE cc.course_id = {column(Course, 'id')}"
        f" AND cc.category_id IN ({', '.join(['%s'] * categories)}))"
        if categories else ""
    )
    # Parameters: tenant, user (the EXISTS), tenant, statuses, categories. The count's condition only
    # (a second statement past the last page); the page finds the same courses through `mine`.
    where = (
        f" WHERE EXISTS (SELECT 1 FROM {enrollment} e2 WHERE e2.tenant_id = %s AND e2.user_id = %s"
        f" AND e2.course_id = {column(Course, 'id')})"
        f" AND {column(Course, 'tenant')} = %s AND {column(Course, 'status')} IN ({', '.join(['%s'] * statuses)})"
        f"{in_category}"
    )
    count = f"SELECT COUNT(*) FROM {course}{where}"
    # Parameters: tenant, user (the enrolments), user (the tracks), tenant, statuses, categories, limit,
    # offset, then tenant (the carry-forward setting), then user, tenant and the completed status (the
    # own-batch completions).
    #
    # `mine`: one row per course the user is enrolled in (any batch), from one range of the
    # enrolments' (user, tenant, ...) index, with the own-batch enrolment (batch = course: at most one,
    # the unique (user, tenant, course, batch)) and its track (at most one: the track's unique
    # enrolment), each as its id and version (`_row_version_cache`): the rows' values come from
    # there. The statement runs on a generic plan whose estimate (~6 enrolments a user) joined the
    # course to the enrolments and then to the tracks by nested loops over every pair (1,225 pairs
    # twice at L); the grouped form joins the enrolments to the tracks once (below) and the courses by
    # hash (docs/benchmarks.md, the seventh pass). Of the course, only its id, version and status:
    # `home_page` takes the rest of its row from the outline cache. The tenant's carry-forward setting
    # is read once (an InitPlan), not joined to each row: the courses' tenant is the parameter.
    #
    # The tracks are joined by a FULL JOIN on PostgreSQL, which it can only run as a hash (or merge)
    # join: on the generic plan's estimate it looped over every enrolment × track pair (1,225 at L,
    # ~70 µs of the statement). The user's tracks of no own-batch enrolment come with no enrolment,
    # so in the group of no course, which the join to the courses drops: the rows are the LEFT
    # JOIN's. SQLite, which plans each run afresh, keeps the LEFT JOIN.
    tracks_join = "FULL JOIN" if db.vendor == "postgresql" else "LEFT JOIN"
    own_batch = "FILTER (WHERE e.batch_id = e.course_id)"
    mine = (
        f"SELECT e.course_id, MIN(e.id_text) {own_batch} AS enrollment_id, MIN(e.version) {own_batch} AS enrollment_version,"
        f" MIN(t.id_text) AS track_id, MIN(t.version) AS track_version, MAX(t.last_accessed_date) AS last_access"
        f" FROM (SELECT {_id_sql(db, 'e.id')} AS id_text, {_version_sql(db, 'e')} AS version, e.id, e.course_id,"
        f" e.batch_id FROM {enrollment} e WHERE e.tenant_id = %s AND e.user_id = %s) e"
        f" {tracks_join} (SELECT {_id_sql(db, 't.id')} AS id_text, {_version_sql(db, 't')} AS version, t.enrollment_id,"
        f" t.last_accessed_date FROM {track} t WHERE t.user_id = %s) t"
        f" ON t.enrollment_id = CASE WHEN e.batch_id = e.course_id THEN e.id END"
        f" GROUP BY e.course_id"
    )
    page = (
        f"WITH mine AS ({mine}),"
        f" page AS (SELECT {column(Course, 'id')} AS course_id, mine.enrollment_id, mine.enrollment_version,"
        f" mine.track_id, mine.track_version, mine.last_access, {column(Course, 'title')} AS title,"
        f" {column(Course, 'content_version')} AS content_version, {column(Course, 'status')} AS status,"
        f" COUNT(*) OVER () AS total FROM {course}"
        f" JOIN mine ON mine.course_id = {column(Course, 'id')}"
        f" WHERE {column(Course, 'tenant')} = %s AND {column(Course, 'status')} IN ({', '.join(['%s'] * statuses)})"
        f"{in_category}"
        f" ORDER BY mine.last_access DESC NULLS LAST, {column(Course, 'title')} ASC, {column(Course, 'id')} ASC"
        f" LIMIT %s OFFSET %s)"
        f" SELECT {_id_sql(db, 'page.course_id')}, page.content_version, page.status, page.enrollment_id,"
        f" page.enrollment_version, page.track_id, page.track_version,"
        f" (SELECT {column(Tenant, 'carry_forward')} FROM {_table(db, Tenant)} WHERE {column(Tenant, 'id')} = %s),"
        f" {_own_batch_completions_sql(db, 'page.course_id')}, page.total FROM page"
        f" ORDER BY page.last_access DESC NULLS LAST, page.title ASC, page.course_id ASC"
    )
    return count, page, fields


def home_page(
    *, tenant_id: uuid.UUID, learner: bool, user_id: uuid.UUID, category_ids: list[uuid.UUID] | None,
    offset: int, limit: int,
) -> HomePage:
    """A page of `GET /enrollments/users-courses?hasEnroll=true`: the courses the user is enrolled
    in that the caller may see, with the own-batch enrolment, its track, the lessons completed in the
    own batch and the tenant's carry-forward setting read with them.

    One hand-written read when the page's enrolment and track rows are known at their versions (a
    read per table of those that are not; the count past the last page): this runs on every opening
    of a player app, and building the ORM's count, page and enrolment reads cost more than the
    database did."""
    db = connections[router.db_for_read(Course)]
    statuses = (ContentStatus.PUBLISHED,) if learner else LIVE_STATUSES
    count_sql, page_sql, fields = _home_page_sql(db.alias, len(statuses), len(category_ids or ()))
    tenant = sql_param(db, Course, "tenant", tenant_id)
    user = sql_param(db, Enrollment, "user_id", user_id)
    where = [
        tenant, user, tenant, *(status.value for status in statuses),
        *(sql_param(db, Course, "id", category_id) for category_id in category_ids or ()),
    ]
    # The UUIDs as their text: the view only writes them out (orjson writes a UUID as that same text),
    # and the completions and course ids only key dicts and sets, where a str hashes in C. In binary
    # (`_id_sql`: the ids cast to text): the rows' integers load in C.
    completed_status = ConsumptionStatus.COMPLETED.value
    rows = sql_rows(
        db, page_sql, [tenant, user, user, *where[2:], limit, offset, tenant, user, tenant, completed_status],
        fields.values(), native_timestamps=True, uuids_as_text=True, binary=True,
    )
    if rows:
        count = rows[0][-1]  # the window's total, last (`_home_page_fields`)
    elif offset:  # past the last page: the window had no row to ride on
        with db.cursor() as cursor:
            cursor.execute(count_sql, where)
            (count,) = cursor.fetchone()
    else:
        count = 0
    carry = bool(rows) and rows[0][7] == Tenant.CarryForward.CARRY
    enrollments = _row_versions(
        db, Enrollment, tenant_id=tenant_id, user_id=user_id, wanted=[(values[3], values[4]) for values in rows]
    )
    tracks = _row_versions(
        db, CourseTrack, tenant_id=tenant_id, user_id=user_id, wanted=[(values[5], values[6]) for values in rows]
    )
    versions = {values[0]: values[1] for values in rows}  # by course id, in page order (a course is on a page once)
    # The rest of each course's row comes with its outline at the version just read (a second
    # statement only for the outlines this process lacks): the rows are shared, never mutated.
    outlines = _outlines(tenant_id=tenant_id, course_versions=versions) if versions else {}
    courses, page_enrollments, page_tracks, completed, page_outlines = [], [], [], [], []
    for course_id, _, status, enrollment_id, _, track_id, _, _, done, _ in rows:
        outline = outlines.get(course_id)
        if outline is None:  # deleted since the statement read it (`_outlines`)
            continue
        course = outline.course
        if course["status"] != status:  # kept live, though a status change bumps the version
            course = {**course, "status": status}
        courses.append(course)
        page_enrollments.append(enrollments.get(enrollment_id))
        page_tracks.append(tracks.get(track_id))
        completed.append(_lesson_keys(done))
        page_outlines.append(outline)
    return HomePage(
        count=count, courses=courses, enrollments=page_enrollments, tracks=page_tracks, carry=carry,
        completed=completed, outlines=page_outlines,
    )


def home_page_progress(*, tenant_id: uuid.UUID, user_id: uuid.UUID, page: HomePage) -> list[HomeProgress]:
    """`home_progress` of a home page's courses, in its order: from the page's own-batch completions
    without a query, or, when the tenant carries completions forward, with the one it needs."""
    if not page.carry:
        return [_outline_progress(outline, done) for outline, done in zip(page.outlines, page.completed, strict=True)]
    course_ids = [course["id"] for course in page.courses]
    progress = home_progress(
        tenant_id=tenant_id, user_id=user_id, course_ids=course_ids, carry=True,
        outlines=dict(zip(course_ids, page.outlines, strict=True)),
    )
    return [progress[course_id] for course_id in course_ids]


def _table(db, model) -> str:
    return db.ops.quote_name(model._meta.db_table)


# --- the home screen's progress ---------------------------------------------------------------
#
# `courses_progress` reads every required placement of every course on each call: right for one
# course's module list, far too slow for a home page of 20 courses of 400 lessons. The home screen
# needs three figures per course (published modules, completed modules, the next lesson), and
# all but the user's completions are facts of the course's content at its `content_version`: its
# outline, cached in the process, so that a warm request reads only the user's completions.
# "Done" is the recount's rule (`tracking.selectors.completed_consumption`): completed in the
# course's own batch, or anywhere when the tenant carries completions forward.


@dataclass(frozen=True)
class HomeProgress:
    total_modules: int
    completed_modules: int
    next_lesson: NextLesson | None


@dataclass(frozen=True)
class _CourseOutline:
    """What a course's home figures need of its content at one version. Shared between requests
    and threads, so never mutated but for its memo of figures (any entry of which is right). Lessons
    go by their id's canonical text (`_id_text`: hashed in C, as the page's completions come)."""

    # The distinct required lessons of each published module, in course order (0: an empty module).
    module_sizes: tuple[int, ...]
    # Each required lesson's modules (indexes into module_sizes; a lesson may be placed in several).
    lesson_modules: dict[str, tuple[int, ...]]
    # The required placements in course order: (lesson, the NextLesson it makes, its prerequisites).
    placements: tuple[tuple[str, NextLesson, tuple[str, ...]], ...]
    # Every prerequisite any of them names (they may lie outside the course).
    prerequisites: frozenset[str]
    # The course's row at this version (`.values()` of `COURSE_VALUES`), which the page renders: a
    # fact of the version as the outline is (every write to the row bumps it), so the home page's
    # statement reads only each course's id, version and status (docs/benchmarks.md, the narrow page).
    course: dict = field(default_factory=dict, compare=False, repr=False)
    # `_outline_progress`'s answers by the own-batch lessons done: a user's completions change far
    # less often than their home page is read, and a page of 20 courses spent some 0.1 ms working
    # them out again. The one part that changes, a memo of a pure function: any entry is right.
    progress_memo: dict[frozenset[str], HomeProgress] = field(default_factory=dict, compare=False, repr=False)
    # The lessons its keys hold (one more each): bounded by `_memo_limit`.
    memo_weight: list[int] = field(default_factory=lambda: [0], compare=False, repr=False)
    # The home view's encoded fragments of this course at this version (`tracking.api.home`): a memo
    # the view owns, living and dying with the outline's cache entry; any entry is right.
    rendered: dict = field(default_factory=dict, compare=False, repr=False)


def _memo_limit(outline: _CourseOutline) -> int:
    # Some 50 bytes a lesson held: at most a third of the outline's own ~300 bytes a placement, so the
    # outline cache's bound (`_outline_cache`) still bounds the process's memory, memos included.
    return 64 + 2 * len(outline.placements)


# Outlines by (tenant, course, content_version). Every content write bumps the course's
# `content_version` through the services, in the write's own transaction, so an entry is an
# immutable fact needing no invalidation (as `tracking.insight`'s and the viewer's caches); the
# version is read with the home page, before the outline, so an entry is never older than its key.
# Bounded at 50,000 placements (some 300 bytes each: about 15 MB a process at worst).
_outline_cache: WeightedLRU[_CourseOutline] = WeightedLRU(
    max_weight=50_000, weigh=lambda outline: max(1, len(outline.placements))
)


def home_outline_cache_clear() -> None:
    """Empties the in-process cache of course outlines (tests measure the cold path with it)."""
    _outline_cache.clear()


@functools.lru_cache(maxsize=64)
def _outline_sql(alias: str, courses: int) -> tuple[str, tuple]:
    """The text of the outlines' read, and the fields of its select list: first each course's row
    (`COURSE_VALUES`, the outline part NULL), then each published module of the courses in course
    order (the course part NULL), with its placements that are not archived (their lesson's status
    decides in Python whether they are required), in placement order; a module without any gives
    one row of NULLs. One statement, so a cold home page stays at two."""
    db = connections[alias]
    module, placement, lesson = _table(db, Module), _table(db, LessonPlacement), _table(db, Lesson)
    course_fields = [Course._meta.get_field(name) for name in COURSE_VALUES]
    outline_fields = [
        Module._meta.get_field("course"), Module._meta.get_field("id"), LessonPlacement._meta.get_field("lesson"),
        Lesson._meta.get_field("status"), Lesson._meta.get_field("title"), Lesson._meta.get_field("eligibility_criteria"),
    ]
    # The order's keys, in the select list as a UNION's ORDER BY needs (0: a course's row, first).
    order_fields = [
        Course._meta.get_field("content_version"), Module._meta.get_field("ordering"),
        Module._meta.get_field("created_at"), Module._meta.get_field("id"), LessonPlacement._meta.get_field("ordering"),
        LessonPlacement._meta.get_field("created_at"), LessonPlacement._meta.get_field("id"),
    ]
    in_page = ", ".join(["%s"] * courses)
    nulls = partial(", ".join)
    sql = (
        f"SELECT {sql_select_list(db, course_fields)}, {nulls(['NULL'] * len(outline_fields))},"
        f" 0, {nulls(['NULL'] * (len(order_fields) - 1))} FROM {_table(db, Course)}"
        f" WHERE {sql_column(db, Course, 'tenant')} = %s AND {sql_column(db, Course, 'id')} IN ({in_page})"
        f" UNION ALL"
        f" SELECT {nulls(['NULL'] * len(course_fields))},"
        f" m.course_id, m.id, p.lesson_id, l.status, l.title, l.eligibility_criteria,"
        f" 1, m.ordering, m.created_at, m.id, p.ordering, p.created_at, p.id FROM {module} m"
        f" LEFT JOIN {placement} p ON p.module_id = m.id AND p.course_id = m.course_id AND NOT p.archived"
        f" LEFT JOIN {lesson} l ON l.id = p.lesson_id"
        f" WHERE m.tenant_id = %s AND m.course_id IN ({in_page}) AND m.status = %s"
    )
    first_key = len(course_fields) + len(outline_fields) + 1  # positions count from 1
    keys = [first_key, len(course_fields) + 1, *range(first_key + 1, first_key + len(order_fields))]
    sql += f" ORDER BY {', '.join(map(str, keys))}"
    return sql, (*course_fields, *outline_fields, *order_fields)


def _outlines(*, tenant_id: uuid.UUID, course_versions: dict[uuid.UUID, int]) -> dict[uuid.UUID, _CourseOutline]:
    """Each course's outline at its version: from the cache, or for the courses it lacks, from one
    read (`_outline_sql`): the modules and placements `courses_progress` reads, by its rules."""
    # Keyed by the ids' text: the home page's ids come as text (`uuids_as_text`), other callers' as
    # UUIDs (`str` of a str is itself), and a str hashes in C where a UUID's hash is Python code.
    # So `course_versions` is keyed by UUIDs or by their canonical text (PostgreSQL's), never by hex.
    tenant_key = str(tenant_id)
    keys = {course_id: (tenant_key, str(course_id), version) for course_id, version in course_versions.items()}
    cached = _outline_cache.get_many(keys.values())
    missing = [course_id for course_id, key in keys.items() if key not in cached]
    if missing:
        db = connections[router.db_for_read(Module)]
        tenant = sql_param(db, Module, "tenant", tenant_id)
        in_page = [sql_param(db, Module, "course", c) for c in missing]
        course_versions_by_text = {keys[c][1]: keys[c][2] for c in missing}
        sql, fields = _outline_sql(db.alias, len(missing))
        # The course's columns converted as the page's statement converted them before (`sql_rows`).
        rows = sql_rows(
            db, sql, [tenant, *in_page, tenant, *in_page, ContentStatus.PUBLISHED.value], fields,
            native_timestamps=True,
        )
        # By the course ids' text (`_id_text`: of a UUID or of SQLite's hex alike).
        modules: dict[str, dict[uuid.UUID, dict[str, None]]] = {keys[c][1]: {} for c in missing}
        placements: dict[str, list] = {keys[c][1]: [] for c in missing}
        courses: dict[str, dict] = {}
        width = len(COURSE_VALUES)
        for values in rows:
            if values[width + 6] == 0:  # a course's row
                course = dict(zip(COURSE_VALUES, values[:width], strict=True))
                courses[_id_text(course["id"])] = course
                continue
            course_id, module_id, lesson_id, status, title, criteria = values[width:width + 6]
            course_id, module_id = _id_text(course_id), _as_uuid(module_id)
            lessons = modules[course_id].setdefault(module_id, {})
            if lesson_id is None or status != ContentStatus.PUBLISHED:
                continue  # an empty module, or a placement of a lesson that is not published: not required
            lesson_id = _as_uuid(lesson_id)
            criteria = json.loads(criteria) if isinstance(criteria, str) else criteria
            prerequisites = tuple(
                _id_text(entry)
                for entry in _prerequisite_ids({"lesson_id": lesson_id, "lesson__eligibility_criteria": criteria})
            )
            lessons[str(lesson_id)] = None
            placements[course_id].append(
                (str(lesson_id), NextLesson(lesson_id=lesson_id, title=title, module_id=module_id), prerequisites)
            )
        loaded = {}
        # A course deleted since the page's statement read it has no row now: it gets no outline
        # (its enrolments went with it), so the page leaves it out rather than fail on it.
        for course_id in (keys[c][1] for c in missing if keys[c][1] in courses):
            lesson_modules: dict[str, list[int]] = defaultdict(list)
            for index, lessons in enumerate(modules[course_id].values()):
                for lesson in lessons:
                    lesson_modules[lesson].append(index)
            loaded[(tenant_key, course_id, course_versions_by_text[course_id])] = _CourseOutline(
                module_sizes=tuple(len(lessons) for lessons in modules[course_id].values()),
                lesson_modules={lesson: tuple(indexes) for lesson, indexes in lesson_modules.items()},
                placements=tuple(placements[course_id]),
                prerequisites=frozenset(p for _, _, prerequisites in placements[course_id] for p in prerequisites),
                course=courses[course_id],
            )
        _outline_cache.put_many(loaded)
        cached.update(loaded)
    return {course_id: cached[key] for course_id, key in keys.items() if key in cached}


@functools.lru_cache(maxsize=256)
def _completions_sql(alias: str, courses: int, carry: bool, prerequisites: int) -> str:
    """The text of the user's completions the home figures need: (collection, lesson) of the rows
    completed in the courses' own batches or, carried forward, (NULL, lesson) of the lessons
    completed anywhere that are placed in the courses or named as prerequisites. Both are ranges
    of the consumption table's (user, tenant, ...) indexes, and name the user by value (tests/scaling)."""
    db = connections[alias]
    consumption = _table(db, ContentConsumption)
    page = ", ".join(["%s"] * courses)
    where = "WHERE d.user_id = %s AND d.tenant_id = %s AND d.status = %s"
    if not carry:
        return (
            f"SELECT d.collection_id, d.content_id FROM {consumption} d {where}"
            f" AND d.collection_id IN ({page}) AND d.batch_id = d.collection_id"
        )
    named = f" OR d.content_id IN ({', '.join(['%s'] * prerequisites)})" if prerequisites else ""
    return (
        f"SELECT DISTINCT NULL, d.content_id FROM {consumption} d {where} AND (d.content_id IN"
        f" (SELECT p.lesson_id FROM {_table(db, LessonPlacement)} p WHERE p.course_id IN ({page})){named})"
    )


def home_progress(
    *, tenant_id: uuid.UUID, user_id: uuid.UUID, course_ids: list[uuid.UUID], carry: bool | None = None,
    versions: dict[uuid.UUID, int] | None = None, completed: dict[uuid.UUID, frozenset[str]] | None = None,
    outlines: dict | None = None,
) -> dict[uuid.UUID, HomeProgress]:
    """Module counts and the next lesson of one user in each course's own batch (the home screen).

    The same answers as `courses_progress` gives for the (course, course) contexts. One query whatever
    the number of courses and lessons (the user's completions) once the courses' outlines at their
    `versions` are cached, one more for those that are not; and when not given, one for the tenant's
    carry-forward setting and one for the versions. `completed`: the lessons completed in each
    course's own batch, as `home_page` reads them with the page; when the tenant does not carry
    completions forward, they are all the completions needed, and the query is spared. `outlines`:
    the courses' outlines at their versions, as `home_page` read them (then `versions` is not read).
    """
    if not course_ids:
        return {}
    if carry is None:
        carry = tenant_carries_forward(tenant_id=tenant_id)
    if outlines is None or any(course_id not in outlines for course_id in course_ids):
        if versions is None:
            versions = dict(Course.objects.filter(pk__in=course_ids).values_list("id", "content_version"))
        outlines = _outlines(tenant_id=tenant_id, course_versions={course_id: versions[course_id] for course_id in course_ids})
    if completed is not None and not carry:
        return {course_id: _outline_progress(outlines[course_id], completed[course_id]) for course_id in course_ids}

    db = connections[router.db_for_read(ContentConsumption)]
    prerequisites = sorted({p for outline in outlines.values() for p in outline.prerequisites}) if carry else []
    params = [
        sql_param(db, ContentConsumption, "user_id", user_id), sql_param(db, ContentConsumption, "tenant", tenant_id),
        ConsumptionStatus.COMPLETED.value, *(sql_param(db, Course, "id", course_id) for course_id in course_ids),
        *(sql_param(db, ContentConsumption, "content_id", uuid.UUID(p)) for p in prerequisites),
    ]
    with db.cursor() as cursor:
        cursor.execute(_completions_sql(db.alias, len(course_ids), carry, len(prerequisites)), params)
        rows = cursor.fetchall()
    anywhere: set[str] = set()
    done_in: dict[str, set[str]] = defaultdict(set)
    for collection_id, content_id in rows:
        if carry:
            anywhere.add(_id_text(content_id))
        else:
            done_in[_id_text(collection_id)].add(_id_text(content_id))
    return {
        course_id: _outline_progress(outlines[course_id], anywhere if carry else done_in[_id_text(course_id)])
        for course_id in course_ids
    }


def _outline_progress(outline: _CourseOutline, done: set[str] | frozenset[str]) -> HomeProgress:
    """The home figures of one course from its outline and the lessons done: in time of the user's
    completions, plus the placements before the next lesson (`courses_progress`'s rules). Remembered
    in the outline for a frozenset of lessons (the own-batch completions `home_page` reads)."""
    if isinstance(done, frozenset):
        remembered = outline.progress_memo.get(done)
        if remembered is None:
            remembered = _outline_progress_of(outline, done)
            memo, weight = outline.progress_memo, outline.memo_weight
            if weight[0] + len(done) + 1 > _memo_limit(outline):
                # Full: start again. Threads may race here; the worst is a figure worked out again.
                memo.clear()
                weight[0] = 0
            memo[done] = remembered
            weight[0] += len(done) + 1
        return remembered
    return _outline_progress_of(outline, done)


def _outline_progress_of(outline: _CourseOutline, done: set[str] | frozenset[str]) -> HomeProgress:
    completed_in = [0] * len(outline.module_sizes)
    completed_lessons = 0
    for lesson in done:
        indexes = outline.lesson_modules.get(lesson)
        if indexes is not None:
            completed_lessons += 1
            for index in indexes:
                completed_in[index] += 1
    # A module with no required lesson is never completed (DECISIONS §11).
    completed_modules = sum(1 for size, count in zip(outline.module_sizes, completed_in, strict=True) if size and count >= size)
    next_lesson = None
    if completed_lessons < len(outline.lesson_modules):  # else every required lesson is done
        for lesson, candidate, prerequisites in outline.placements:
            # The first required lesson not done whose prerequisites are (as `_next_lesson`).
            if lesson not in done and all(prerequisite in done for prerequisite in prerequisites):
                next_lesson = candidate
                break
    return HomeProgress(
        total_modules=len(outline.module_sizes), completed_modules=completed_modules, next_lesson=next_lesson
    )


# --- the dashboard ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dashboard:
    enrolled: int
    not_started: int
    in_progress: int
    completed: int
    certificates: int
    assigned_due: int
    overdue: int
    by_category: list[dict]


def learner_dashboard(*, tenant_id: uuid.UUID, user_id: uuid.UUID, now: dt.datetime | None = None) -> Dashboard:
    """The learner dashboard (DECISIONS §11) over the user's active enrolments, aggregated in SQL:
    three queries whatever the number of enrolments (the counts, the certificates, the categories)."""
    now = now or timezone.now()
    active = Enrollment.objects.filter(tenant_id=tenant_id, user_id=user_id, active=True)
    done = Q(track__status=CourseTrackStatus.COMPLETED)
    counts = active.aggregate(
        enrolled=Count("id"),
        not_started=Count("id", filter=Q(track__status=CourseTrackStatus.NOT_STARTED) | Q(track__isnull=True)),
        in_progress=Count("id", filter=Q(track__status=CourseTrackStatus.IN_PROGRESS)),
        completed=Count("id", filter=done),
        # Assigned: enrolled by someone else (staff, a program); self-enrolments are the learner's own choice.
        assigned_due=Count("id", filter=Q(enrolled_by__isnull=False) & ~Q(enrolled_by=user_id) & ~done),
        overdue=Count("id", filter=Q(end_time__lt=now) & ~done),
    )
    certificates = IssuedCertificate.objects.filter(
        tenant_id=tenant_id, user_id=user_id, track__enrollment__active=True
    ).count()
    # From the user's enrolments out to their courses' categories: only this user's rows are joined.
    per_category = (
        active.filter(course__categories__isnull=False)
        .order_by("course__categories__ordering", "course__categories__name", "course__categories__id")
        .values("course__categories__id", "course__categories__name", "course__categories__ordering")
        .annotate(enrolled=Count("id", distinct=True), completed=Count("id", filter=done, distinct=True))
    )
    by_category = [
        {"categoryId": str(row["course__categories__id"]), "name": row["course__categories__name"],
         "enrolled": row["enrolled"], "completed": row["completed"]}
        for row in per_category
    ]
    return Dashboard(certificates=certificates, by_category=by_category, **counts)


__all__ = [
    "CourseProgress", "Dashboard", "HomeProgress", "ModuleProgress", "ModuleStatus", "NextLesson",
    "HomePage", "catalogue_page", "courses_progress", "home_page", "home_page_progress",
    "home_outline_cache_clear", "home_progress",
    "learner_dashboard", "module_counts",
]


def visible_course_or_404(*, tenant_id: uuid.UUID, course_id: uuid.UUID, learner: bool) -> None:
    """Raises NotFoundError unless the caller may see the course (a learner: published only)."""
    from courses.selectors import course_row
    from lms.api.errors import NotFoundError

    if course_row(tenant_id=tenant_id, course_id=course_id, learner=learner) is None:
        raise NotFoundError("No course with that id in this tenant.")
