"""Reads for insight (DECISIONS §10): the course report, "why is this not complete?" and
certificate verification.

These are selectors, kept beside `selectors.py` rather than in it because they read across the
whole course (every learner at once) where `selectors.py` reads one learner's facts. The report
is the one source of the course's figures: the report API, its CSV and the admin dashboards all
call `course_report` / `course_learner_rows`, so they can never disagree. Explain reuses the
recount's own definitions: what counts as completed (`completed_consumption`), the certificate
rule (`certificate_rule_met`) and the grading policy (`lesson_grades`), so its answer is the
decision the service takes, put into words.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property, partial
from itertools import chain, repeat
from typing import Any

import orjson
from django.db import connection, connections, router
from django.db.models import (
    Case,
    F,
    IntegerField,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone

from courses.models import LIVE_STATUSES, CertificateTerm, ContentStatus, Course, Lesson, LessonPlacement
from courses.selectors import course_required_lesson_ids
from enrollment.models import Enrollment
from lms.api.envelope import encode_json, encode_json_to_keep
from lms.api.errors import NotFoundError
from lms.lru import WeightedLRU
from lms.models import Tenant, learner_label
from lms.rawsql import adapt_params, sql_column, sql_param, sql_select_list, sql_values_rows
from lms.selectors import learner_directory
from tracking.grading import LessonGrade
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
from tracking.selectors import lesson_grades

REPORT_WEEKS = 12
# Best scores fall into this many equal bins between 0 and the lesson's total marks.
SCORE_BINS = 10
# Without total marks, scores are read as percentages.
DEFAULT_SCORE_SCALE = 100


# The report and explain read every lesson and learner on every request, so their reads are
# written as SQL (`lms.rawsql`, built once per database): building and compiling the querysets
# cost several times the database's work. Columns, parameters and conversions still go through
# the models' fields, so the rows are what the ORM would give, on PostgreSQL and SQLite alike.

_COURSE_ATTNAMES = [field.attname for field in Course._meta.concrete_fields]
_TRACK_ATTNAMES = [field.attname for field in CourseTrack._meta.concrete_fields]
_CERTIFICATE_ATTNAMES = [field.attname for field in IssuedCertificate._meta.concrete_fields]
_COURSE_FIELDS = {
    **{field.attname: field for field in Course._meta.concrete_fields},
    "tenant_carry_forward": Tenant._meta.get_field("carry_forward"),
}
_LEARNER_FIELDS = {
    "enrollment.batch_id": Enrollment._meta.get_field("batch_id"),
    "enrollment.active": Enrollment._meta.get_field("active"),
    **{f"track.{field.attname}": field for field in CourseTrack._meta.concrete_fields},
    **{f"certificate.{field.attname}": field for field in IssuedCertificate._meta.concrete_fields},
}

# Explain reads only these of the course (its policy, and the content version its lessons are
# cached at): the rest of the row cost the database and this process more than the join did.
# In the model's field order, as `Course.from_db` takes them.
_EXPLAIN_COURSE_ATTNAMES = [
    name for name in _COURSE_ATTNAMES if name in {"id", "tenant_id", "certificate_term", "content_version"}
]
# The report and its CSV read only the course's id (and tenant) and the content version its lessons
# are cached at: the other columns (a description, the params and category ids to convert) cost
# this process more than the rest of the course's read. In the model's field order.
_REPORT_COURSE_ATTNAMES = [name for name in _COURSE_ATTNAMES if name in {"id", "tenant_id", "content_version"}]
_REPORT_COURSE_FIELDS = {
    **{name: _COURSE_FIELDS[name] for name in _REPORT_COURSE_ATTNAMES},
    "tenant_carry_forward": _COURSE_FIELDS["tenant_carry_forward"],
}
_COURSE_AND_LEARNER_FIELDS = {
    **{name: _COURSE_FIELDS[name] for name in _EXPLAIN_COURSE_ATTNAMES},
    "tenant_carry_forward": _COURSE_FIELDS["tenant_carry_forward"],
    **_LEARNER_FIELDS,
}


@functools.lru_cache(maxsize=16)
def _course_sql(alias: str, statuses: int, with_learner: bool) -> str:
    """The course's columns the report reads (`_REPORT_COURSE_ATTNAMES`) with its tenant's policy;
    `with_learner`: the course's columns explain reads (`_EXPLAIN_COURSE_ATTNAMES`), and the enrollment a learner's progress
    counts for, as attempts choose it (the direct one, batch = course, else the earliest), with
    its track and the track's certificate, all NULL when the learner has none."""
    db = connections[alias]
    quote = db.ops.quote_name
    course = partial(sql_column, db, Course)
    course_fields = [
        Course._meta.get_field(name) for name in (_EXPLAIN_COURSE_ATTNAMES if with_learner else _REPORT_COURSE_ATTNAMES)
    ]
    select = f"SELECT {sql_select_list(db, course_fields)}, {sql_column(db, Tenant, 'carry_forward')}"
    joins = f" JOIN {quote(Tenant._meta.db_table)} ON {sql_column(db, Tenant, 'id')} = {course('tenant')}"
    order = ""
    if with_learner:
        enrollment = partial(sql_column, db, Enrollment)
        track = partial(sql_column, db, CourseTrack)
        certificate = partial(sql_column, db, IssuedCertificate)
        select += (f", {enrollment('batch_id')}, {enrollment('active')},"
                   f" {sql_select_list(db, CourseTrack._meta.concrete_fields)},"
                   f" {sql_select_list(db, IssuedCertificate._meta.concrete_fields)}")
        joins += (
            f" LEFT JOIN {quote(Enrollment._meta.db_table)} ON {enrollment('course')} = {course('id')}"
            f" AND {enrollment('tenant')} = {course('tenant')} AND {enrollment('user_id')} = %s"
            # Each per-user table is joined on the user as well as on its key: Citus co-locates a
            # join (and routes the statement to one shard) only on the distribution column.
            f" LEFT JOIN {quote(CourseTrack._meta.db_table)} ON {track('enrollment')} = {enrollment('id')}"
            f" AND {track('user_id')} = {enrollment('user_id')}"
            f" LEFT JOIN {quote(IssuedCertificate._meta.db_table)} ON {certificate('track')} = {track('id')}"
            f" AND {certificate('user_id')} = {track('user_id')}"
        )
        order = (f" ORDER BY CASE WHEN {enrollment('batch_id')} = {course('id')} THEN 0 ELSE 1 END,"
                 f" {enrollment('enrolled_on_time')}, {enrollment('id')} LIMIT 1")
    return (
        f"{select} FROM {quote(Course._meta.db_table)}{joins}"
        f" WHERE {course('id')} = %s AND {course('tenant')} = %s AND {course('status')} IN ({', '.join(['%s'] * statuses)})"
        f"{order}"
    )


def _course_row(*, tenant_id, course_id, published_only: bool, learner_id: uuid.UUID | None = None
                ) -> tuple[Course, dict[str, Any]]:
    """The course (`_course_sql`) as a model with `tenant_carry_forward`, and its row. Raises
    NotFoundError for an archived course, one of another tenant, or with `published_only` a draft."""
    db = connections[router.db_for_read(Course)]
    statuses = (ContentStatus.PUBLISHED,) if published_only else LIVE_STATUSES
    params = [sql_param(db, Course, "id", course_id), sql_param(db, Course, "tenant", tenant_id), *statuses]
    if learner_id is not None:
        params.insert(0, sql_param(db, Enrollment, "user_id", learner_id))
    rows = sql_values_rows(
        db, _course_sql(db.alias, len(statuses), learner_id is not None),
        params, _REPORT_COURSE_FIELDS if learner_id is None else _COURSE_AND_LEARNER_FIELDS,
        native_timestamps=True,  # the course's, track's and certificate's, up to nine a row
    )
    if not rows:
        raise NotFoundError("No course with that id in this tenant.")
    row = rows[0]
    # from_db takes the values in the model's field order (only those read: the others are deferred).
    attnames = _REPORT_COURSE_ATTNAMES if learner_id is None else _EXPLAIN_COURSE_ATTNAMES
    course = Course.from_db(db.alias, attnames, [row[name] for name in attnames])
    # The tenant's carry-forward policy comes along: every reader of the course needs it.
    course.tenant_carry_forward = row["tenant_carry_forward"]
    return course, row


def report_course(*, tenant_id: uuid.UUID, course_id: uuid.UUID, published_only: bool = False) -> Course:
    """The course a report is about (drafts included: staff read it), with its tenant's
    carry-forward policy (`carries_forward`). One query. Only its id, tenant and content version
    are read (`_REPORT_COURSE_ATTNAMES`): reading another field is a query of its own. Raises NotFoundError for an
    archived course, one of another tenant, or with `published_only` (learners) a draft."""
    return _course_row(tenant_id=tenant_id, course_id=course_id, published_only=published_only)[0]


# A missing lesson's state in explain's answer.
LESSON_NOT_STARTED = "not_started"
LESSON_IN_PROGRESS = "in_progress"
LESSON_NOT_PASSED = "not_passed"


@dataclass(frozen=True, slots=True)
class CourseLesson:
    """A required lesson of the course, in course order, with the module of its first placement.

    Built once per content version (`course_layouts_cached`), so what every answer derives from a
    lesson is derived here once: its reference as the answers show it ({lessonId, title,
    moduleId}), its entry in explain's `missing` for each state, its prerequisites, and the
    sentence saying it is not completed."""

    id: uuid.UUID
    title: str
    module_id: uuid.UUID
    consider_marks: bool
    attempts_grade: str
    passing_marks: int | None
    total_marks: int | None
    eligibility_criteria: Any
    key: str = field(init=False)  # the id as the JSON answers and the consumption rows show it
    reference: dict[str, str] = field(init=False)  # shared by every answer: copy before changing
    missing_entries: dict[str, dict[str, str]] = field(init=False)  # by state; shared like `reference`
    missing_encoded: dict[str, bytes] = field(init=False)  # by state: each entry, encoded
    report_head: bytes = field(init=False)  # its entry in the report's `lessons`, encoded up to the figures
    prerequisites: tuple[uuid.UUID, ...] = field(init=False)
    not_completed_reason: str = field(init=False)

    def __post_init__(self) -> None:
        key = str(self.id)
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "reference", {"lessonId": key, "title": self.title, "moduleId": str(self.module_id)})
        # Explain lists most of a course's lessons for a learner who has just begun: built once here
        # rather than a dict per lesson on every request.
        object.__setattr__(self, "missing_entries", {
            state: {**self.reference, "state": state}
            for state in (LESSON_NOT_STARTED, LESSON_IN_PROGRESS, LESSON_NOT_PASSED)
        })
        # And encoded once: orjson spent longer on a beginner's hundreds of entries than the rest
        # of the answer took (`Explanation.as_encoded_result`).
        object.__setattr__(self, "missing_encoded", {
            state: encode_json_to_keep(entry) for state, entry in self.missing_entries.items()
        })
        # The report writes every lesson's entry on every request; only the figures differ
        # (`CourseReport.as_encoded_result`).
        object.__setattr__(self, "report_head", encode_json(self.reference)[:-1] + b',"completed":')
        object.__setattr__(self, "prerequisites", tuple(_prerequisites(self)) if self.eligibility_criteria else ())
        object.__setattr__(self, "not_completed_reason", f"Lesson '{self.title}' is not completed.")


def carries_forward(course: Course) -> bool:
    """The policy `report_course` read with the course (as `tenant_carries_forward` decides it)."""
    return course.tenant_carry_forward == Tenant.CarryForward.CARRY


def course_lessons_in_order(*, course_id: uuid.UUID) -> list[CourseLesson]:
    """The course's required lessons (`course_required_lesson_ids`' rule) in course order: modules
    by ordering, placements by ordering; a lesson placed twice counts once, at its first place.
    One query."""
    placements = (
        LessonPlacement.objects.filter(
            course_id=course_id, archived=False, module__status=ContentStatus.PUBLISHED,
            lesson__status=ContentStatus.PUBLISHED,
        )
        .order_by("module__ordering", "module__created_at", "module_id", "ordering", "created_at", "id")
        .values_list(
            "lesson_id", "lesson__title", "module_id", "lesson__consider_marks", "lesson__attempts_grade",
            "lesson__passing_marks", "lesson__total_marks", "lesson__eligibility_criteria",
        )
    )
    lessons: dict[uuid.UUID, CourseLesson] = {}
    for lesson_id, title, module_id, marks, grade, passing, total, criteria in placements:
        if lesson_id not in lessons:
            lessons[lesson_id] = CourseLesson(lesson_id, title, module_id, marks, grade, passing, total, criteria)
    return list(lessons.values())


@dataclass(frozen=True, slots=True)
class ExplainLayout:
    """A course's required lessons at one content version, with what explain writes of them all,
    encoded once (`CourseLayouts.explain`). A learner has touched a few of a course's hundreds of
    lessons (a consumption row: a view, an attempt): every other lesson is missing as not started,
    and its reason says it is not completed. So an answer copies runs of untouched lessons' entries
    and reasons from here, and works out only the touched lessons itself: its Python work follows
    the learner's rows, not the course's size (a dict lookup, a state and a list entry per lesson
    and request had been most of explain's time at 400 lessons)."""

    lessons: tuple[CourseLesson, ...]
    position: dict[str, int]  # each lesson's index in `lessons`, by its `key`
    marked: tuple[CourseLesson, ...]  # the lessons graded under a policy (`consider_marks`)
    # Every lesson's `missing` entry as not started, comma-joined; entry i starts at
    # `not_started_starts[i]` (one start past the end closes the last entry).
    not_started: bytes
    not_started_starts: tuple[int, ...]
    # Every lesson's `not_completed_reason` as a JSON string, comma-joined, indexed the same way.
    reasons: bytes
    reasons_starts: tuple[int, ...]

    @classmethod
    def build(cls, lessons: tuple[CourseLesson, ...]) -> ExplainLayout:
        not_started, not_started_starts = _joined([lesson.missing_encoded[LESSON_NOT_STARTED] for lesson in lessons])
        reasons, reasons_starts = _joined([encode_json(lesson.not_completed_reason) for lesson in lessons])
        return cls(
            lessons=lessons, position={lesson.key: index for index, lesson in enumerate(lessons)},
            marked=tuple(lesson for lesson in lessons if lesson.consider_marks),
            not_started=not_started, not_started_starts=not_started_starts,
            reasons=reasons, reasons_starts=reasons_starts,
        )


def _joined(encoded: list[bytes]) -> tuple[bytes, tuple[int, ...]]:
    """`encoded` comma-joined, with where each item starts and, last, one past the end (as if a
    comma followed the last item): items i to j-1 are `joined[starts[i]:starts[j] - 1]`."""
    starts = []
    offset = 0
    for item in encoded:
        starts.append(offset)
        offset += len(item) + 1
    starts.append(offset)
    return b",".join(encoded), tuple(starts)


def _spliced(joined: bytes, starts: tuple[int, ...], changes: list[tuple[int, bytes | None]]) -> list[bytes]:
    """The items of `joined` (`_joined`) in order, as comma-joinable pieces, with the item at each
    index of `changes` (ascending) replaced by its bytes, or left out for None."""
    pieces = []
    run = 0
    for index, replacement in changes:
        if index > run:
            pieces.append(joined[starts[run]:starts[index] - 1])
        if replacement is not None:
            pieces.append(replacement)
        run = index + 1
    if len(starts) - 1 > run:
        pieces.append(joined[starts[run]:starts[-1] - 1])
    return pieces


@dataclass(frozen=True, slots=True)
class ReportLayout:
    """The report's `lessons` list at one content version as one bytes template
    (`CourseLayouts.report`): every lesson's entry (`CourseLesson.report_head`) with a `%d` for its
    `completed` and `started` and, for a marked lesson, a `%b` for its encoded average best score
    (the others' is always null). An answer fills it in one `%` from the figures in course order:
    writing an entry per lesson in Python (a lookup, a tuple unpacking and a formatting for each of a
    course's hundreds of lessons) had been the report's largest cost in this process."""

    keys: tuple[str, ...]  # the lessons' `key`, in course order
    marked: tuple[bool, ...]  # whether each lesson takes a score (`consider_marks`)
    any_marked: bool
    template: bytes

    @classmethod
    def build(cls, lessons: tuple[CourseLesson, ...]) -> ReportLayout:
        entries = [
            # A title's `%` is the template's own: doubled, it prints as itself.
            lesson.report_head.replace(b"%", b"%%")
            + (b'%d,"started":%d,"averageBestScore":' + (b"%b}" if lesson.consider_marks else b"null}"))
            for lesson in lessons
        ]
        marked = tuple(lesson.consider_marks for lesson in lessons)
        return cls(keys=tuple(lesson.key for lesson in lessons), marked=marked, any_marked=any(marked),
                   template=b"[" + b",".join(entries) + b"]")


class CourseLayouts:
    """A course's required lessons in course order at one content version, and what explain and the
    report build from them (their layouts, each made on first use). One cache entry per course
    version holds all three, so a request looks the course up once.

    Every content write bumps the course's `content_version` through the services, in the write's
    own transaction, so an entry is an immutable fact needing no invalidation (as the viewer's
    `_required_lessons_cache`); the version is read with the course, before the placements, so an
    entry is never older than its key. A layout is a pure function of the lessons: two threads that
    build it at once build the same value, and either may be kept."""

    __slots__ = ("lessons", "_explain", "_report")

    def __init__(self, lessons: tuple[CourseLesson, ...]) -> None:
        self.lessons = lessons
        self._explain: ExplainLayout | None = None
        self._report: ReportLayout | None = None

    @property
    def explain(self) -> ExplainLayout:
        layout = self._explain
        if layout is None:
            layout = self._explain = ExplainLayout.build(self.lessons)
        return layout

    @property
    def report(self) -> ReportLayout:
        layout = self._report
        if layout is None:
            layout = self._report = ReportLayout.build(self.lessons)
        return layout


# Bounded at 50,000 lessons over all entries: about 1 kB a lesson, plus some 200 bytes for explain's
# layout and 150 for the report's (some 70 MB a process at worst, far less for courses of ordinary size).
_course_layouts_cache: WeightedLRU[CourseLayouts] = WeightedLRU(
    max_weight=50_000, weigh=lambda layouts: max(1, len(layouts.lessons))
)


def course_lessons_cache_clear() -> None:
    """Empties the in-process cache of course lessons and their layouts (tests measure the cold path with it)."""
    _course_layouts_cache.clear()


def course_layouts_cached(course: Course) -> CourseLayouts:
    """`course_lessons_in_order` at the course's content version, with its layouts: no query once
    this process has read them at that version (the report and explain read every lesson on every
    request)."""
    key = (course.tenant_id, course.id, course.content_version)
    layouts = _course_layouts_cache.get(key)
    if layouts is None:
        layouts = CourseLayouts(tuple(course_lessons_in_order(course_id=course.id)))
        _course_layouts_cache.put(key, layouts)
    return layouts


# ---------------------------------------------------------------------------------------------
# The course report


def _own_batch_enrollments(*, tenant_id, course_id) -> QuerySet:
    """Report counts are of enrollments in the course's own batch (DECISIONS §10)."""
    return Enrollment.objects.filter(tenant_id=tenant_id, course_id=course_id, batch_id=course_id)


def week_start(moment: dt.datetime) -> dt.date:
    day = moment.astimezone(dt.UTC).date()
    return day - dt.timedelta(days=day.weekday())


@dataclass(slots=True)
class LessonFigures:
    lesson: CourseLesson
    completed: int = 0
    started: int = 0
    average_best_score: float | None = None
    # Learners per best-score bin (marked lessons only), bin i covering [i, i+1) tenths of the scale.
    score_bins: list[int] = field(default_factory=list)
    score_scale: int = DEFAULT_SCORE_SCALE


@dataclass
class CourseReport:
    course: Course
    enrolled: int
    active: int
    by_status: dict[str, int]
    completion_rate: float
    certificates_issued: int
    course_lessons: tuple[CourseLesson, ...]
    # By the lesson's `key` (a str hashes in C, a UUID in Python): (completed, started) of the
    # lessons anyone started, in the answer's order, and the best-score figures of the marked lessons.
    progress: dict[str, tuple[int, int]]
    scored: dict[str, LessonFigures]
    weekly: list[dict[str, Any]]
    layout: ReportLayout

    @cached_property
    def lessons(self) -> list[LessonFigures]:
        """Every lesson's figures in course order (the dashboard's charts)."""
        figures = []
        for lesson in self.course_lessons:
            lesson_figures = self.scored.get(lesson.key) or LessonFigures(lesson)
            lesson_figures.completed, lesson_figures.started = self.progress.get(lesson.key, _NO_PROGRESS)
            figures.append(lesson_figures)
        return figures

    def as_result(self) -> dict[str, Any]:
        """The §10 shape of `GET /courses/:id/report`."""
        lessons = []
        for lesson in self.course_lessons:
            completed, started = self.progress.get(lesson.key, _NO_PROGRESS)
            scored = self.scored.get(lesson.key)
            lessons.append({**lesson.reference, "completed": completed, "started": started,
                            "averageBestScore": scored.average_best_score if scored else None})
        return self._shape(lessons)

    def as_encoded_result(self) -> bytes:
        """`encode_json(self.as_result())`, byte for byte: the lessons' entries are the course's
        `ReportLayout.template` filled with each lesson's figures in one `%` (the figures gathered
        in C: `map` over the lessons' keys, each (completed, started) pair chained into one tuple),
        and orjson copies the Fragment as it is."""
        layout = self.layout
        progress = self.progress
        if not layout.any_marked:
            figures = tuple(chain.from_iterable(map(progress.get, layout.keys, repeat(_NO_PROGRESS))))
        else:
            scored = self.scored
            figures = []
            for key, marked in zip(layout.keys, layout.marked, strict=True):
                figures += progress.get(key, _NO_PROGRESS)
                if marked:
                    figures.append(encode_json(scored[key].average_best_score))
            figures = tuple(figures)
        return encode_json(self._shape(orjson.Fragment(layout.template % figures)))

    def _shape(self, lessons) -> dict[str, Any]:
        return {
            "courseId": str(self.course.id),
            "enrolled": self.enrolled,
            "active": self.active,
            "byStatus": self.by_status,
            "completionRate": self.completion_rate,
            "certificatesIssued": self.certificates_issued,
            "lessons": lessons,
            "weekly": self.weekly,
        }


_NO_PROGRESS = (0, 0)


def course_report(*, tenant_id: uuid.UUID, course_id: uuid.UUID, now: dt.datetime | None = None) -> CourseReport:
    """The course's figures (DECISIONS §10), every one aggregated in SQL, in a constant number of
    queries whatever the number of learners or lessons: the course with its tenant's policy, its
    lessons in order (none once cached at the course's content version), the enrollment, track,
    certificate and weekly counts, the per-lesson started/completed counts, and for courses with
    marked lessons the best-score bins. Raises NotFoundError for an unknown course."""
    now = now or timezone.now()
    course = report_course(tenant_id=tenant_id, course_id=course_id)
    weeks = _report_weeks(now)
    totals = _enrollment_counts(tenant_id=tenant_id, course_id=course_id, weeks=weeks)
    enrolled = totals["enrolled"]
    layouts = course_layouts_cached(course)
    lessons = layouts.lessons
    scored = {lesson.key: LessonFigures(lesson) for lesson in lessons if lesson.consider_marks}
    _best_score_figures(scored, tenant_id=tenant_id, course_id=course_id)
    return CourseReport(
        course=course,
        enrolled=enrolled,
        active=totals["active"],
        by_status={
            "not_started": totals["not_started"], "in_progress": totals["in_progress"],
            "completed": totals["completed"],
        },
        completion_rate=round(totals["completed"] * 100 / enrolled, 1) if enrolled else 0.0,
        certificates_issued=totals["certificates"],
        course_lessons=lessons,
        progress=_lesson_progress(tenant_id=tenant_id, course_id=course_id, carry=carries_forward(course))
        if lessons else {},
        scored=scored,
        layout=layouts.report,
        weekly=[
            {"weekStart": week.isoformat(), "enrolled": enrolled_in_week, "completed": completed_in_week}
            for week, enrolled_in_week, completed_in_week in zip(
                weeks, totals["enrolled_weekly"], totals["completed_weekly"], strict=True
            )
        ],
    )


def _report_weeks(now: dt.datetime) -> list[dt.date]:
    """The Mondays (UTC) of the last REPORT_WEEKS weeks, oldest first, this week's last."""
    this_week = week_start(now)
    return [this_week - dt.timedelta(weeks=back) for back in range(REPORT_WEEKS - 1, -1, -1)]


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _own_batch_learners_sql() -> str:
    """The users enrolled in the course's own batch, as a subquery (params: tenant, course, course)."""
    return (f"SELECT learner.user_id FROM {_table(Enrollment)} learner "
            f"WHERE learner.tenant_id = %s AND learner.course_id = %s AND learner.batch_id = %s")


def _enrollment_counts(*, tenant_id, course_id, weeks: list[dt.date]) -> dict[str, Any]:
    """Over the course's own batch: enrolled, active, by track status (the status every other read
    shows), certificates issued, and per week of `weeks` (`enrolled_weekly`, `completed_weekly`)
    the enrollments made and the tracks completed in it. One statement of three grouped reads, each
    one scan of its own table by the course (a track per enrollment, of the same batch: joining
    the two row by row costs three times the buffers of reading each once).

    Written as SQL, kept under psycopg's limits for caching a parsed statement (4 kB, 50
    parameters): the ORM spends longer building and compiling the conditions than the database
    spends counting. Each row's week is found once (`_week_of`) and rows are grouped by it: a
    conditional count per week evaluated every row's week a dozen times more (at L, 1.5 ms of the
    database's time a report against 0.7).
    """
    mondays = [dt.datetime.combine(week, dt.time.min, tzinfo=dt.UTC) for week in weeks]
    # The week after the last counts nothing (a date in the future).
    bounds = [mondays[-1] + dt.timedelta(weeks=1), *reversed(mondays)]
    context = [tenant_id, course_id, course_id]
    params = [*bounds, *context, CourseTrackStatus.COMPLETED, *bounds, *context, *context]
    with connection.cursor() as cursor:
        cursor.execute(_enrollment_counts_sql(connection.vendor, len(weeks)), adapt_params(params))
        rows = cursor.fetchall()
    enrolled_weekly = [0] * len(weeks)
    completed_weekly = [0] * len(weeks)
    by_status = {CourseTrackStatus.NOT_STARTED: 0, CourseTrackStatus.IN_PROGRESS: 0, CourseTrackStatus.COMPLETED: 0}
    enrolled = active = certificates = 0
    for part, status, week, count, active_count in rows:
        if part == 0:
            enrolled += count
            active += active_count
            if week is not None:
                enrolled_weekly[week] = count
        elif part == 1:
            if status in by_status:
                by_status[status] += count
            if week is not None:
                completed_weekly[week] = count
        else:
            certificates = count
    return {
        "enrolled": enrolled, "active": active, "not_started": by_status[CourseTrackStatus.NOT_STARTED],
        "in_progress": by_status[CourseTrackStatus.IN_PROGRESS], "completed": by_status[CourseTrackStatus.COMPLETED],
        "certificates": certificates, "enrolled_weekly": enrolled_weekly, "completed_weekly": completed_weekly,
    }


@functools.lru_cache(maxsize=4)
def _enrollment_counts_sql(vendor: str, weeks: int) -> str:
    """`_enrollment_counts`' statement (its text depends only on the database and the number of
    weeks: built once, not on every report). Rows: (part, track status, week index or NULL, rows,
    active rows); part 0 the enrollments by week, 1 the tracks by status and completion week, 2
    the certificates."""
    return (
        f"SELECT 0, NULL, week, COUNT(*), COUNT(CASE WHEN active THEN 1 END)"
        f" FROM (SELECT e.active, {_week_of('e.enrolled_on_time', weeks)} AS week FROM {_table(Enrollment)} e"
        f" WHERE e.tenant_id = %s AND e.course_id = %s AND e.batch_id = %s) e GROUP BY week"
        f" UNION ALL SELECT 1, status, week, COUNT(*), 0"
        f" FROM (SELECT t.status, CASE WHEN t.status = %s THEN {_week_of('t.timeend', weeks)} END AS week"
        f" FROM {_table(CourseTrack)} t WHERE t.tenant_id = %s AND t.course_id = %s AND t.batch_id = %s) t"
        f" GROUP BY status, week"
        f" UNION ALL SELECT 2, NULL, NULL, COUNT(*), 0 FROM {_table(IssuedCertificate)} c"
        f" JOIN {_table(CourseTrack)} ct ON ct.id = c.track_id"
        f" WHERE c.tenant_id = %s AND c.course_id = %s AND ct.batch_id = %s"
    )


def _week_of(moment: str, weeks: int) -> str:
    """The index of the week `moment` falls in (0 the oldest), NULL outside them; the parameters
    are the Monday after the last week, then each week's Monday from the last back to the first."""
    return ("CASE WHEN {0} >= %s THEN NULL "
            + " ".join(f"WHEN {{0}} >= %s THEN {index}" for index in range(weeks - 1, -1, -1)) + " END").format(moment)


# The content id as text, grouped by the id itself: PostgreSQL's text form is `str(uuid)`, the
# lessons' `key`, so the rows load as str (no UUID object per lesson, and a str hashes in C).
_content_key = "CAST(fact.content_id AS TEXT)"


@functools.lru_cache(maxsize=2)
def _lesson_progress_sql(vendor: str) -> str:
    """`_lesson_progress`' statement without carry-forward (built once, not on every report)."""
    return (
        f"SELECT {_content_key}, COUNT(CASE WHEN fact.status = %s THEN 1 END), COUNT(*)"
        f" FROM {_table(ContentConsumption)} fact"
        f" WHERE fact.tenant_id = %s AND fact.collection_id = %s AND fact.batch_id = %s"
        f" AND fact.user_id IN ({_own_batch_learners_sql()}) GROUP BY fact.content_id"
    )


def _lesson_progress(*, tenant_id, course_id, carry: bool) -> dict[str, tuple[int, int]]:
    """Per lesson (by its `CourseLesson.key`), (completed, started), in the order the answer
    writes them: the enrolled learners who completed it in the course context (or, with
    carry-forward, anywhere, as the recount counts it) and who started it (a consumption row in
    the course context: a view or an attempt). One grouped statement, driven by the
    enrolled learners: each learner's rows are one range of the consumption's (user, tenant,
    context) index, whatever the table's size, read from the index alone on PostgreSQL (it includes
    `status`: migration 0011; keep this statement to the index's columns). Written as SQL for the reason of
    `_enrollment_counts`. Lessons nobody started, and content the course no longer requires, may
    be missing or present: callers look up the lessons they show."""
    completed = ConsumptionStatus.COMPLETED
    if carry:
        # A learner may have completed a lesson in several contexts: each learner counts once.
        # Only the course's lessons: the learners' completions elsewhere are many.
        lessons_sql, lessons_params = course_required_lesson_ids(course_id=course_id).order_by().query.sql_with_params()
        sql = (
            f"SELECT {_content_key}, COUNT(DISTINCT CASE WHEN fact.status = %s THEN fact.user_id END), "
            f"COUNT(DISTINCT fact.user_id) FROM {_table(ContentConsumption)} fact "
            f"WHERE fact.tenant_id = %s AND fact.user_id IN ({_own_batch_learners_sql()}) "
            f"AND ((fact.collection_id = %s AND fact.batch_id = %s) OR fact.status = %s) "
            f"AND fact.content_id IN ({lessons_sql}) GROUP BY fact.content_id"
        )
        params = [completed, tenant_id, tenant_id, course_id, course_id, course_id, course_id, completed,
                  *lessons_params]
    else:
        # One row per learner and lesson in a context (its unique constraint): plain counts, no
        # sort for DISTINCT.
        sql = _lesson_progress_sql(connection.vendor)
        params = [completed, tenant_id, course_id, course_id, tenant_id, course_id, course_id]
    with connection.cursor() as cursor:
        cursor.execute(sql, adapt_params(params))
        rows = cursor.fetchall()
    if connection.vendor == "postgresql":
        return {content_key: (completed, started) for content_key, completed, started in rows}
    # SQLite stores a UUID as its 32 hex digits.
    return {str(uuid.UUID(content_key)): (completed, started) for content_key, completed, started in rows}


def _best_score_figures(figures: dict[str, LessonFigures], *, tenant_id, course_id) -> None:
    """For each marked lesson: each enrolled learner's best score (the highest of their completed
    attempts and viewer assessments in the course's own batch, as the viewer reports best),
    averaged, and counted into SCORE_BINS bins of the lesson's total marks. One statement: the
    per-learner best is a subquery, and only (lesson, bin) rows come back. `figures` are keyed by
    the lesson's `key`."""
    marked = [lesson.lesson.id for lesson in figures.values() if lesson.lesson.consider_marks]
    if not marked:
        return
    # The learners the other figures count (DECISIONS §10); they lead both tables' user indexes.
    learners = _own_batch_enrollments(tenant_id=tenant_id, course_id=course_id).values("user_id")
    attempts = LessonAttempt.objects.filter(
        tenant_id=tenant_id, course_id=course_id, batch_id=course_id, lesson_id__in=marked,
        status=AttemptStatus.COMPLETED, user_id__in=learners,
    ).order_by().values_list("lesson_id", "user_id", "score")
    assessments = AssessmentAttempt.objects.filter(
        tenant_id=tenant_id, collection_id=course_id, batch_id=course_id, content_id__in=marked, user_id__in=learners,
    ).order_by().values_list("content_id", "user_id", "score")
    attempts_sql, attempts_params = attempts.query.sql_with_params()
    assessments_sql, assessments_params = assessments.query.sql_with_params()
    quote = connection.ops.quote_name
    lesson_table = quote(Lesson._meta.db_table)
    scale = (f"CASE WHEN {lesson_table}.{quote('total_marks')} > 0 THEN {lesson_table}.{quote('total_marks')} "
             f"ELSE {DEFAULT_SCORE_SCALE} END")
    sql = (
        f"SELECT best.lesson_id, {scale}, "
        f"CASE WHEN best.score >= {scale} THEN {SCORE_BINS - 1} "
        f"ELSE CAST(FLOOR(best.score * {SCORE_BINS} / {scale}) AS INTEGER) END AS score_bin, "
        f"COUNT(*), SUM(best.score) "
        f"FROM (SELECT facts.lesson_id, facts.user_id, MAX(facts.score) AS score "
        # The union's columns take the names of the first select list: lesson_id, user_id, score.
        f"FROM ({attempts_sql} UNION ALL {assessments_sql}) AS facts "
        f"GROUP BY facts.lesson_id, facts.user_id) AS best "
        f"JOIN {lesson_table} ON {lesson_table}.{quote('id')} = best.lesson_id "
        f"GROUP BY best.lesson_id, {scale}, score_bin"
    )
    sums: dict[uuid.UUID, list[float]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [*attempts_params, *assessments_params])
        rows = cursor.fetchall()
    lesson_field = LessonAttempt._meta.get_field("lesson")
    for raw_lesson_id, scale_value, score_bin, learners, total in rows:
        lesson_id = lesson_field.to_python(raw_lesson_id)
        lesson = figures[str(lesson_id)]
        if not lesson.score_bins:
            lesson.score_bins = [0] * SCORE_BINS
            lesson.score_scale = int(scale_value)
        lesson.score_bins[max(0, min(SCORE_BINS - 1, int(score_bin)))] += learners
        learners_and_total = sums.setdefault(lesson_id, [0, 0.0])
        learners_and_total[0] += learners
        learners_and_total[1] += float(total)
    for lesson_id in marked:
        lesson = figures[str(lesson_id)]
        if not lesson.score_bins:
            lesson.score_bins = [0] * SCORE_BINS
            if lesson.lesson.total_marks:
                lesson.score_scale = lesson.lesson.total_marks
        if lesson_id in sums:
            learners, total = sums[lesson_id]
            lesson.average_best_score = round(total / learners, 2)


# ---------------------------------------------------------------------------------------------
# One row per learner: the CSV and the dashboard's learners table

LEARNER_CSV_FIELDS = (
    "userId", "name", "email", "status", "progress", "completedLessons", "noOfLessons", "lastAccessedOn",
    "certificateIssuedOn",
)
# The dashboard's sortable columns, each with the expression it sorts by.
LEARNER_ORDERINGS = {
    "progress": "progress", "status": "status_rank", "lastAccessedOn": "last_accessed_date",
    "certificateIssuedOn": "certificate__issued_at", "enrolledOn": "enrollment__enrolled_on_time",
    "completedLessons": "completed_lessons",
}
CSV_CHUNK_SIZE = 500


def progress_expression() -> Case:
    """The viewer summary's progress (integer percent; 100 once completed), in SQL, so the learners
    table sorts by it and the CSV shows what the summaries show."""
    return Case(
        When(status=CourseTrackStatus.COMPLETED, then=Value(100)),
        When(no_of_lessons=0, then=Value(0)),
        default=F("completed_lessons") * 100 / F("no_of_lessons"),
        output_field=IntegerField(),
    )


def course_learner_rows(*, tenant_id: uuid.UUID, course_id: uuid.UUID, order: str = "-progress") -> QuerySet:
    """The course tracks of the course's own batch with their enrollment and certificate, and
    `progress` annotated, sorted by one of LEARNER_ORDERINGS (`-` for descending; unknown keys sort
    by progress). One query per page."""
    descending = order.startswith("-")
    key = LEARNER_ORDERINGS.get(order.lstrip("-"), "progress")
    expression = F(key).desc(nulls_last=True) if descending else F(key).asc(nulls_last=True)
    return (
        CourseTrack.objects.filter(tenant_id=tenant_id, course_id=course_id, batch_id=course_id)
        .select_related("enrollment", "certificate")
        .annotate(
            progress=progress_expression(),
            status_rank=Case(
                When(status=CourseTrackStatus.NOT_STARTED, then=Value(0)),
                When(status=CourseTrackStatus.IN_PROGRESS, then=Value(1)),
                default=Value(2), output_field=IntegerField(),
            ),
        )
        .order_by(expression, "user_id")
    )


def _certificate_of(track: CourseTrack) -> IssuedCertificate | None:
    try:
        return track.certificate
    except IssuedCertificate.DoesNotExist:
        return None


def learner_row(track: CourseTrack, entry) -> dict[str, Any]:
    certificate = _certificate_of(track)
    return {
        "userId": str(track.user_id),
        "name": entry.name if entry else None,
        "email": entry.email if entry else None,
        "status": track.status,
        "progress": track.progress,
        "completedLessons": track.completed_lessons,
        "noOfLessons": track.no_of_lessons,
        "lastAccessedOn": track.last_accessed_date,
        "certificateIssuedOn": certificate.issued_at if certificate else None,
        "certificateToken": certificate.token if certificate else None,
        "label": learner_label(user_id=track.user_id, name=entry.name if entry else None,
                               email=entry.email if entry else None),
    }


def learner_rows_with_directory(*, tenant_id: uuid.UUID, tracks) -> list[dict[str, Any]]:
    """Rows for a page of `course_learner_rows`, with names and emails: one directory query."""
    tracks = list(tracks)
    directory = learner_directory(tenant_id=tenant_id, user_ids=[track.user_id for track in tracks])
    return [learner_row(track, directory.get(track.user_id)) for track in tracks]


def course_learner_export(*, tenant_id: uuid.UUID, course_id: uuid.UUID) -> Iterator[dict[str, Any]]:
    """Every learner's CSV row, streamed from a server-side cursor chunk by chunk (one directory
    query per CSV_CHUNK_SIZE learners), so memory stays flat however many learners there are.
    Raises NotFoundError for an unknown course before the first row."""
    report_course(tenant_id=tenant_id, course_id=course_id)

    def rows() -> Iterator[dict[str, Any]]:
        tracks = course_learner_rows(tenant_id=tenant_id, course_id=course_id, order="enrolledOn").iterator(
            chunk_size=CSV_CHUNK_SIZE
        )
        chunk: list[CourseTrack] = []
        for track in tracks:
            chunk.append(track)
            if len(chunk) == CSV_CHUNK_SIZE:
                yield from learner_rows_with_directory(tenant_id=tenant_id, tracks=chunk)
                chunk = []
        if chunk:
            yield from learner_rows_with_directory(tenant_id=tenant_id, tracks=chunk)

    return rows()


# ---------------------------------------------------------------------------------------------
# Why is this not complete?


_POLICY_WORDS = {"highest": "highest", "average": "average", "first_attempt": "first attempt",
                 "last_attempt": "last attempt"}


def _score_text(score: float) -> str:
    return f"{score:g}" if score == int(score) else f"{score:.2f}".rstrip("0")


@dataclass
class Explanation:
    track: CourseTrack
    course: Course
    layout: ExplainLayout
    completed: set[uuid.UUID]
    started: set[uuid.UUID]
    grades: dict[uuid.UUID, LessonGrade]
    # The course's lessons the learner has a row for, by ascending index in `layout.lessons`, each
    # with its state in `missing` (None: not missing). Every other lesson is missing, not started.
    touched: list[tuple[int, str | None]]
    certificate: IssuedCertificate | None
    eligible: bool
    enrollment_active: bool

    @property
    def lessons(self) -> list[CourseLesson]:
        return list(self.layout.lessons)

    def _missing_in_order(self) -> Iterator[tuple[CourseLesson, str]]:
        states = dict(self.touched)
        for index, lesson in enumerate(self.layout.lessons):
            state = states.get(index, LESSON_NOT_STARTED)
            if state is not None:
                yield lesson, state

    @cached_property
    def missing_lessons(self) -> list[tuple[CourseLesson, str]]:
        """The lessons not completed (or, under PASS_ALL, not passed), in course order, each with its state."""
        return list(self._missing_in_order())

    @property
    def missing(self) -> list[dict[str, Any]]:
        """The answer's `missing` entries (shared with the course's cached lessons: do not change)."""
        return [lesson.missing_entries[state] for lesson, state in self.missing_lessons]

    @cached_property
    def next_lesson(self) -> dict[str, Any] | None:
        # Lazily over the missing lessons: the first one usually answers.
        return _next_lesson(self._missing_in_order(), self.completed)

    @cached_property
    def _reason_parts(self) -> tuple[list[str], bool, list[str]]:
        return _certificate_reason_parts(
            course=self.course, layout=self.layout, grades=self.grades, certificate=self.certificate,
            eligible=self.eligible, enrollment_active=self.enrollment_active,
        )

    @cached_property
    def reasons(self) -> list[str]:
        """Each unmet condition of the course's certificate rule, in a sentence."""
        head, lessons_follow, tail = self._reason_parts
        not_completed = [
            lesson.not_completed_reason for lesson, state in self.missing_lessons if state != LESSON_NOT_PASSED
        ] if lessons_follow else []
        return [*head, *not_completed, *tail]

    def as_result(self) -> dict[str, Any]:
        """The §10 shape of `GET /courses/tracking/explain`."""
        return self._shape(self.missing, self.reasons)

    def as_encoded_result(self) -> bytes:
        """`encode_json(self.as_result())`, byte for byte, written from the course's layout, encoded
        once per content version (`ExplainLayout`): runs of untouched lessons' `missing` entries and
        reasons are copied as they are, and only the touched lessons' are worked out here. orjson
        copies a Fragment as it is, as the summary list's `contentStatus` is written."""
        layout = self.layout
        lessons = layout.lessons
        missing = _spliced(layout.not_started, layout.not_started_starts, [
            (index, None if state is None else lessons[index].missing_encoded[state]) for index, state in self.touched
        ])
        head, lessons_follow, tail = self._reason_parts
        reasons = [encode_json(head)[1:-1]] if head else []
        if lessons_follow:
            # A touched lesson keeps its reason unless it was completed (passed or not).
            reasons += _spliced(layout.reasons, layout.reasons_starts, [
                (index, None) for index, state in self.touched if state is None or state == LESSON_NOT_PASSED
            ])
        if tail:
            reasons.append(encode_json(tail)[1:-1])
        return encode_json(self._shape(orjson.Fragment(b"[" + b",".join(missing) + b"]"),
                                       orjson.Fragment(b"[" + b",".join(reasons) + b"]")))

    def _shape(self, missing, reasons) -> dict[str, Any]:
        return {
            "status": self.track.status,
            "completedLessons": self.track.completed_lessons,
            "noOfLessons": self.track.no_of_lessons,
            "missing": missing,
            "nextLesson": self.next_lesson,
            "certificate": {
                "term": self.course.certificate_term,
                "issued": self.certificate is not None,
                "eligible": self.eligible,
                "reasons": reasons,
            },
        }


@dataclass(frozen=True)
class _ExplainedEnrollment:
    batch_id: uuid.UUID
    active: bool
    track: CourseTrack
    certificate: IssuedCertificate | None


def _course_and_enrollment(*, tenant_id, course_id, user_id, published_only: bool
                           ) -> tuple[Course, _ExplainedEnrollment]:
    """The course (`report_course`, with only the fields explain reads: `_EXPLAIN_COURSE_ATTNAMES`;
    any other would be read by a query of its own) and the enrollment the learner's progress in it
    counts for, with its track and the track's certificate, in one query. Raises NotFoundError (unknown
    course; no enrollment: ERR_NOT_ENROLLED)."""
    course, row = _course_row(tenant_id=tenant_id, course_id=course_id, published_only=published_only,
                              learner_id=user_id)
    if row["track.id"] is None:
        raise NotFoundError(
            "This user has no enrollment in this course; enroll them (POST /enrollments) first.",
            code="ERR_NOT_ENROLLED",
        )
    alias = course._state.db
    track = CourseTrack.from_db(alias, _TRACK_ATTNAMES, [row[f"track.{name}"] for name in _TRACK_ATTNAMES])
    certificate = None
    if row["certificate.id"] is not None:
        certificate = IssuedCertificate.from_db(
            alias, _CERTIFICATE_ATTNAMES, [row[f"certificate.{name}"] for name in _CERTIFICATE_ATTNAMES]
        )
    # As select_related would: `track.certificate` then needs no query (None raises DoesNotExist).
    CourseTrack.certificate.related.set_cached_value(track, certificate)
    return course, _ExplainedEnrollment(
        batch_id=row["enrollment.batch_id"], active=row["enrollment.active"], track=track, certificate=certificate,
    )


def course_progress_explain(
    *, tenant_id: uuid.UUID, course_id: uuid.UUID, user_id: uuid.UUID, published_only: bool = False
) -> Explanation:
    """Where the learner stands in the course and why it is (not) complete and (not) certified.

    The figures are the track's; eligibility is the recount's own certificate decision
    (`certificate_rule_met`) on the track's counters, and the reasons name each unmet condition of
    the same rule. Seven queries at most whatever the size of the course (course with its
    tenant's policy and the learner's enrollment, track and certificate; the lessons in order
    unless cached at the course's content version; the learner's lesson states; marked lessons'
    attempts and assessments for the grades; and for a complete PASS_ALL track the rule's own
    marked lessons, attempts and assessments): two for a course without marked lessons once its
    lessons are cached. Raises NotFoundError (unknown course, or a draft with `published_only`, as learners
    see the catalogue; no enrollment: ERR_NOT_ENROLLED).
    """
    from tracking.services import certificate_rule_met  # services read these selectors: imported late

    course, enrollment = _course_and_enrollment(tenant_id=tenant_id, course_id=course_id, user_id=user_id,
                                                published_only=published_only)
    track = enrollment.track
    batch_id = enrollment.batch_id
    layout = course_layouts_cached(course).explain
    completed, started = _completed_and_started(
        tenant_id=tenant_id, user_id=user_id, course_id=course_id, batch_id=batch_id, carry=carries_forward(course),
    )
    grades = lesson_grades(
        tenant_id=tenant_id, user_id=user_id, course_id=course_id, batch_id=batch_id,
        lessons=[Lesson(id=lesson.id, attempts_grade=lesson.attempts_grade, passing_marks=lesson.passing_marks)
                 for lesson in layout.marked],
    ) if layout.marked else {}
    pass_all = course.certificate_term == CertificateTerm.PASS_ALL

    # Only the lessons the learner has a row for (every row is in `started`, completions
    # included) differ from "not started"; the sets may name content the course does not require.
    position = layout.position
    lessons = layout.lessons
    touched: list[tuple[int, str | None]] = []
    for content_id in started:
        index = position.get(str(content_id))  # matched by the id's text: a str hashes in C
        if index is None:
            continue
        lesson = lessons[index]
        if content_id not in completed:
            state = LESSON_IN_PROGRESS
        elif pass_all and lesson.consider_marks and not grades[lesson.id].passed:
            state = LESSON_NOT_PASSED
        else:
            state = None
        touched.append((index, state))
    touched.sort()

    # The rule on the track's stored counters: every write recounts them from the facts in its own
    # transaction (and the test suite checks after every test that they agree), so re-deriving
    # them here would cost a query and say nothing new.
    eligible = certificate_rule_met(track=track, course=course)
    return Explanation(
        track=track, course=course, layout=layout, completed=completed, started=started, grades=grades,
        touched=touched, certificate=enrollment.certificate, eligible=eligible, enrollment_active=enrollment.active,
    )


@functools.lru_cache(maxsize=8)
def _learner_lesson_states_sql(alias: str, carry: bool) -> str:
    db = connections[alias]
    row = partial(sql_column, db, ContentConsumption)
    in_context = f"{row('collection_id')} = %s AND {row('batch_id')} = %s"
    return (
        f"SELECT {row('content_id')}, {row('status')} FROM {db.ops.quote_name(ContentConsumption._meta.db_table)}"
        f" WHERE {row('user_id')} = %s AND {row('tenant')} = %s"
        # With carry-forward a completion anywhere counts (`completed_consumption`'s rule).
        + (f" AND (({in_context}) OR {row('status')} = %s)" if carry else f" AND {in_context}")
    )


def _completed_and_started(*, tenant_id, user_id, course_id, batch_id, carry: bool
                           ) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """Which lessons the user completed in the context (the recount's own definition,
    `completed_consumption`, carried completions included) and which they started there (a view
    or an attempt made a consumption row), in one query over the user's own rows (the user leads
    the index; the course's lessons are matched by the caller: an IN list of hundreds of lessons
    costs more to plan than it filters). The sets may name content the course does not require."""
    db = connections[router.db_for_read(ContentConsumption)]
    params = [sql_param(db, ContentConsumption, "user_id", user_id), sql_param(db, ContentConsumption, "tenant", tenant_id),
              sql_param(db, ContentConsumption, "collection_id", course_id),
              sql_param(db, ContentConsumption, "batch_id", batch_id)]
    if carry:
        params.append(ConsumptionStatus.COMPLETED)
    rows = sql_values_rows(db, _learner_lesson_states_sql(db.alias, carry), params, _LESSON_STATE_FIELDS)
    completed, started = set(), set()
    for state in rows:
        started.add(state["content_id"])
        if state["status"] == ConsumptionStatus.COMPLETED:
            completed.add(state["content_id"])
    return completed, started


_LESSON_STATE_FIELDS = {name: ContentConsumption._meta.get_field(name) for name in ("content_id", "status")}


def _prerequisites(lesson: CourseLesson) -> list[uuid.UUID]:
    # The attempt service's own reading of `eligibilityCriteria` (a list, a single id, free text).
    from tracking.services import eligibility_lesson_ids

    return eligibility_lesson_ids(Lesson(id=lesson.id, eligibility_criteria=lesson.eligibility_criteria))


def _next_lesson(missing: Iterable[tuple[CourseLesson, str]], completed: set[uuid.UUID]) -> dict | None:
    """The first missing lesson whose prerequisites are all completed; when every missing lesson
    waits for one, the first missing lesson, with `blockedBy` naming what it waits for."""
    first = None
    for lesson, _ in missing:
        if first is None:
            first = lesson
        if not any(prerequisite not in completed for prerequisite in lesson.prerequisites):
            return {**lesson.reference, "blockedBy": []}
    if first is None:
        return None
    return {**first.reference, "blockedBy": [str(p) for p in first.prerequisites if p not in completed]}


def _certificate_reason_parts(*, course: Course, layout: ExplainLayout, grades: dict[uuid.UUID, LessonGrade],
                              certificate: IssuedCertificate | None, eligible: bool, enrollment_active: bool
                              ) -> tuple[list[str], bool, list[str]]:
    """Each unmet condition of the course's certificate rule, in a sentence, in three parts: the
    reasons before the lessons', whether each lesson not completed follows with its
    `not_completed_reason` (in course order: `Explanation.reasons`), and the reasons after them."""
    if certificate is not None:
        return [f"The certificate was issued on {certificate.issued_at:%Y-%m-%d}."], False, []
    if course.certificate_term == CertificateTerm.NA:
        return ["This course issues no certificate (its certificate term is NA)."], False, []
    head = [] if layout.lessons else ["The course has no published lessons yet, so it cannot be completed."]
    tail = []
    if course.certificate_term == CertificateTerm.PASS_ALL:
        for lesson in layout.marked:
            if grades[lesson.id].passed:
                continue
            policy = _POLICY_WORDS.get(lesson.attempts_grade, lesson.attempts_grade)
            score = grades[lesson.id].score
            if score is None:
                tail.append(f"{lesson.title}: no completed attempt yet; passing is {lesson.passing_marks}.")
            else:
                tail.append(f"{lesson.title}: best score {_score_text(score)} under '{policy}', "
                            f"passing is {lesson.passing_marks}.")
    if eligible and not enrollment_active:
        tail.append("The enrollment is not active (awaiting approval or deactivated); the certificate is "
                    "issued once it is active again.")
    return head, True, tail


# ---------------------------------------------------------------------------------------------
# Certificate verification


@dataclass(frozen=True)
class VerifiedCertificate:
    certificate: IssuedCertificate
    course_title: str
    tenant_name: str
    learner_name: str | None

    def as_result(self) -> dict[str, Any]:
        """The §10 shape of `GET /certificates/verify/:token`."""
        from lms.api.fields import iso_utc

        return {
            "valid": True,
            "certificateId": str(self.certificate.id),
            "name": self.certificate.name,
            "courseId": str(self.certificate.course_id),
            "courseTitle": self.course_title,
            "learnerName": self.learner_name,
            "issuedOn": iso_utc(self.certificate.issued_at),
            "tenant": self.tenant_name,
        }


def certificate_verify(*, token: str) -> VerifiedCertificate:
    """The issued certificate with this token, across tenants (the token is the credential), with
    its course, tenant and learner's directory name. Two queries. Raises NotFoundError
    (ERR_CERTIFICATE_NOT_FOUND) for an unknown token."""
    certificate = (
        IssuedCertificate.objects.filter(token=token)
        .select_related("course")
        .annotate(tenant_name=F("tenant__name"))
        .first()
    )
    if certificate is None:
        raise NotFoundError(
            "No certificate has this verification token; check the link or ask the issuer.",
            code="ERR_CERTIFICATE_NOT_FOUND",
        )
    entry = learner_directory(tenant_id=certificate.tenant_id, user_ids=[certificate.user_id]).get(certificate.user_id)
    return VerifiedCertificate(
        certificate=certificate, course_title=certificate.course.title, tenant_name=certificate.tenant_name,
        learner_name=(entry.name or None) if entry else None,
    )
