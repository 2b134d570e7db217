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
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import TruncWeek
from django.utils import timezone

from courses.models import LIVE_STATUSES, CertificateTerm, ContentStatus, Course, Lesson, LessonPlacement
from enrollment.models import Enrollment
from lms.api.errors import NotFoundError
from lms.models import Tenant, learner_label
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
from tracking.selectors import completed_consumption, lesson_grades

REPORT_WEEKS = 12
# Best scores fall into this many equal bins between 0 and the lesson's total marks.
SCORE_BINS = 10
# Without total marks, scores are read as percentages.
DEFAULT_SCORE_SCALE = 100


def report_course(*, tenant_id: uuid.UUID, course_id: uuid.UUID, published_only: bool = False) -> Course:
    """The course a report or dashboard is about (drafts included: staff read it), with its
    tenant's carry-forward policy (`carries_forward`). One query. Raises NotFoundError for an
    archived course, one of another tenant, or with `published_only` (learners) a draft."""
    course = (
        Course.objects.filter(tenant_id=tenant_id, pk=course_id,
                              status__in=(ContentStatus.PUBLISHED,) if published_only else LIVE_STATUSES)
        # The tenant's carry-forward policy comes along: every reader of the course needs it.
        .annotate(tenant_carry_forward=F("tenant__carry_forward"))
        .first()
    )
    if course is None:
        raise NotFoundError("No course with that id in this tenant.")
    return course


@dataclass(frozen=True)
class CourseLesson:
    """A required lesson of the course, in course order, with the module of its first placement."""

    id: uuid.UUID
    title: str
    module_id: uuid.UUID
    consider_marks: bool
    attempts_grade: str
    passing_marks: int | None
    total_marks: int | None
    eligibility_criteria: Any


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


# ---------------------------------------------------------------------------------------------
# The course report


def _own_batch_enrollments(*, tenant_id, course_id) -> QuerySet:
    """Report counts are of enrollments in the course's own batch (DECISIONS §10)."""
    return Enrollment.objects.filter(tenant_id=tenant_id, course_id=course_id, batch_id=course_id)


def _week_start(moment: dt.datetime) -> dt.date:
    day = moment.astimezone(dt.UTC).date()
    return day - dt.timedelta(days=day.weekday())


@dataclass
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
    lessons: list[LessonFigures]
    weekly: list[dict[str, Any]]

    def as_result(self) -> dict[str, Any]:
        """The §10 shape of `GET /courses/:id/report`."""
        return {
            "courseId": str(self.course.id),
            "enrolled": self.enrolled,
            "active": self.active,
            "byStatus": self.by_status,
            "completionRate": self.completion_rate,
            "certificatesIssued": self.certificates_issued,
            "lessons": [
                {
                    "lessonId": str(figures.lesson.id),
                    "title": figures.lesson.title,
                    "moduleId": str(figures.lesson.module_id),
                    "completed": figures.completed,
                    "started": figures.started,
                    "averageBestScore": figures.average_best_score,
                }
                for figures in self.lessons
            ],
            "weekly": self.weekly,
        }


def course_report(*, tenant_id: uuid.UUID, course_id: uuid.UUID, now: dt.datetime | None = None) -> CourseReport:
    """The course's figures (DECISIONS §10), every one aggregated in SQL: seven queries whatever the
    number of learners or lessons (course with its tenant's policy, lessons in order, enrollment and
    track counts, per-lesson started/completed, best-score bins, weekly enrollments, weekly
    completions). Raises NotFoundError for an unknown course."""
    now = now or timezone.now()
    course = report_course(tenant_id=tenant_id, course_id=course_id)
    carry = carries_forward(course)
    lessons = course_lessons_in_order(course_id=course_id)
    enrollments = _own_batch_enrollments(tenant_id=tenant_id, course_id=course_id)

    # The counts follow the course tracks: a track's status is what every other read shows.
    totals = enrollments.aggregate(
        enrolled=Count("id"),
        active=Count("id", filter=Q(active=True)),
        not_started=Count("id", filter=Q(track__status=CourseTrackStatus.NOT_STARTED)),
        in_progress=Count("id", filter=Q(track__status=CourseTrackStatus.IN_PROGRESS)),
        completed=Count("id", filter=Q(track__status=CourseTrackStatus.COMPLETED)),
        certificates=Count("track__certificate"),
    )
    enrolled = totals["enrolled"]
    figures = {lesson.id: LessonFigures(lesson=lesson) for lesson in lessons}
    _count_lesson_progress(figures, tenant_id=tenant_id, course_id=course_id, carry=carry, enrollments=enrollments)
    _best_score_figures(figures, tenant_id=tenant_id, course_id=course_id)
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
        lessons=list(figures.values()),
        weekly=_weekly(tenant_id=tenant_id, course_id=course_id, now=now, enrollments=enrollments),
    )


def _count_lesson_progress(figures: dict[uuid.UUID, LessonFigures], *, tenant_id, course_id, carry: bool,
                           enrollments: QuerySet) -> None:
    """Per lesson, the enrolled learners who started it (a consumption row in the course context:
    a view or an attempt) and who completed it there (or, with carry-forward, anywhere, as the
    recount counts it). One grouped query."""
    if not figures:
        return
    in_context = Q(collection_id=course_id, batch_id=course_id)
    counted = Q(status=ConsumptionStatus.COMPLETED) if carry else Q(pk__isnull=True)
    rows = (
        ContentConsumption.objects.filter(
            in_context | counted, tenant_id=tenant_id, content_id__in=list(figures),
            user_id__in=enrollments.values("user_id"),
        )
        .order_by()
        .values("content_id")
        .annotate(
            started=Count("user_id", distinct=True),
            completed=Count("user_id", distinct=True, filter=Q(status=ConsumptionStatus.COMPLETED)),
        )
    )
    for row in rows:
        lesson = figures[row["content_id"]]
        lesson.started, lesson.completed = row["started"], row["completed"]


def _best_score_figures(figures: dict[uuid.UUID, LessonFigures], *, tenant_id, course_id) -> None:
    """For each marked lesson: each learner's best score (the highest of their completed attempts
    and viewer assessments in the course's own batch, as the viewer reports best), averaged, and
    counted into SCORE_BINS bins of the lesson's total marks. One statement: the per-learner best
    is a subquery, and only (lesson, bin) rows come back."""
    marked = [lesson_id for lesson_id, lesson in figures.items() if lesson.lesson.consider_marks]
    if not marked:
        return
    attempts = LessonAttempt.objects.filter(
        tenant_id=tenant_id, course_id=course_id, batch_id=course_id, lesson_id__in=marked,
        status=AttemptStatus.COMPLETED,
    ).order_by().values_list("lesson_id", "user_id", "score")
    assessments = AssessmentAttempt.objects.filter(
        tenant_id=tenant_id, collection_id=course_id, batch_id=course_id, content_id__in=marked,
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
        lesson = figures[lesson_id]
        if not lesson.score_bins:
            lesson.score_bins = [0] * SCORE_BINS
            lesson.score_scale = int(scale_value)
        lesson.score_bins[max(0, min(SCORE_BINS - 1, int(score_bin)))] += learners
        learners_and_total = sums.setdefault(lesson_id, [0, 0.0])
        learners_and_total[0] += learners
        learners_and_total[1] += float(total)
    for lesson_id in marked:
        lesson = figures[lesson_id]
        if not lesson.score_bins:
            lesson.score_bins = [0] * SCORE_BINS
            if lesson.lesson.total_marks:
                lesson.score_scale = lesson.lesson.total_marks
        if lesson_id in sums:
            learners, total = sums[lesson_id]
            lesson.average_best_score = round(total / learners, 2)


def _weekly(*, tenant_id, course_id, now: dt.datetime, enrollments: QuerySet) -> list[dict[str, Any]]:
    """Enrollments and completions per week (weeks start on Monday, UTC), the last REPORT_WEEKS
    weeks, oldest first; two grouped queries."""
    this_week = _week_start(now)
    weeks = [this_week - dt.timedelta(weeks=back) for back in range(REPORT_WEEKS - 1, -1, -1)]
    since = dt.datetime.combine(weeks[0], dt.time.min, tzinfo=dt.UTC)
    enrolled = {
        _as_date(row["week"]): row["n"]
        for row in enrollments.filter(enrolled_on_time__gte=since)
        .annotate(week=TruncWeek("enrolled_on_time", tzinfo=dt.UTC))
        .order_by()
        .values("week")
        .annotate(n=Count("id"))
    }
    completed = {
        _as_date(row["week"]): row["n"]
        for row in CourseTrack.objects.filter(
            tenant_id=tenant_id, course_id=course_id, batch_id=course_id, status=CourseTrackStatus.COMPLETED,
            timeend__gte=since,
        )
        .annotate(week=TruncWeek("timeend", tzinfo=dt.UTC))
        .order_by()
        .values("week")
        .annotate(n=Count("id"))
    }
    return [
        {"weekStart": week.isoformat(), "enrolled": enrolled.get(week, 0), "completed": completed.get(week, 0)}
        for week in weeks
    ]


def _as_date(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


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

LESSON_NOT_STARTED = "not_started"
LESSON_IN_PROGRESS = "in_progress"
LESSON_NOT_PASSED = "not_passed"

_POLICY_WORDS = {"highest": "highest", "average": "average", "first_attempt": "first attempt",
                 "last_attempt": "last attempt"}


def _score_text(score: float) -> str:
    return f"{score:g}" if score == int(score) else f"{score:.2f}".rstrip("0")


@dataclass
class Explanation:
    track: CourseTrack
    course: Course
    lessons: list[CourseLesson]
    completed: set[uuid.UUID]
    started: set[uuid.UUID]
    grades: dict[uuid.UUID, LessonGrade]
    missing: list[dict[str, Any]]
    next_lesson: dict[str, Any] | None
    certificate: IssuedCertificate | None
    eligible: bool
    reasons: list[str]

    def as_result(self) -> dict[str, Any]:
        """The §10 shape of `GET /courses/tracking/explain`."""
        return {
            "status": self.track.status,
            "completedLessons": self.track.completed_lessons,
            "noOfLessons": self.track.no_of_lessons,
            "missing": self.missing,
            "nextLesson": self.next_lesson,
            "certificate": {
                "term": self.course.certificate_term,
                "issued": self.certificate is not None,
                "eligible": self.eligible,
                "reasons": self.reasons,
            },
        }


def _explained_enrollment(*, tenant_id, course_id, user_id) -> Enrollment:
    """The enrollment a learner's progress in the course counts for, as attempts choose it: the
    direct one (batch = course), else the earliest."""
    enrollment = (
        Enrollment.objects.filter(tenant_id=tenant_id, user_id=user_id, course_id=course_id)
        .select_related("track", "track__certificate")
        .order_by(Case(When(batch_id=course_id, then=Value(0)), default=Value(1)), "enrolled_on_time", "id")
        .first()
    )
    if enrollment is None or not hasattr(enrollment, "track"):
        raise NotFoundError(
            "This user has no enrollment in this course; enroll them (POST /enrollments) first.",
            code="ERR_NOT_ENROLLED",
        )
    return enrollment


def course_progress_explain(
    *, tenant_id: uuid.UUID, course_id: uuid.UUID, user_id: uuid.UUID, published_only: bool = False
) -> Explanation:
    """Where the learner stands in the course and why it is (not) complete and (not) certified.

    The figures are the track's; eligibility is the recount's own certificate decision
    (`certificate_rule_met`) on the track's counters, and the reasons name each unmet condition of
    the same rule. Nine queries at most whatever the size of the course (course, enrollment with
    track and certificate, carry setting, lessons in order, completions, starts, marked lessons'
    attempts and assessments for the grades, and for a complete PASS_ALL track the rule's own
    marked lessons, attempts and assessments).
    Raises NotFoundError (unknown course, or a draft with `published_only`, as learners see the
    catalogue; no enrollment: ERR_NOT_ENROLLED).
    """
    from tracking.services import certificate_rule_met  # services read these selectors: imported late

    course = report_course(tenant_id=tenant_id, course_id=course_id, published_only=published_only)
    enrollment = _explained_enrollment(tenant_id=tenant_id, course_id=course_id, user_id=user_id)
    track = enrollment.track
    batch_id = enrollment.batch_id
    carry = carries_forward(course)
    lessons = course_lessons_in_order(course_id=course_id)
    completed, started = _completed_and_started(
        tenant_id=tenant_id, user_id=user_id, course_id=course_id, batch_id=batch_id,
        lesson_ids=[lesson.id for lesson in lessons], carry=carry,
    )
    marked = [lesson for lesson in lessons if lesson.consider_marks]
    grades = lesson_grades(
        tenant_id=tenant_id, user_id=user_id, course_id=course_id, batch_id=batch_id,
        lessons=[Lesson(id=lesson.id, attempts_grade=lesson.attempts_grade, passing_marks=lesson.passing_marks)
                 for lesson in marked],
    ) if marked else {}
    pass_all = course.certificate_term == CertificateTerm.PASS_ALL

    missing = []
    for lesson in lessons:
        if lesson.id not in completed:
            state = LESSON_IN_PROGRESS if lesson.id in started else LESSON_NOT_STARTED
        elif pass_all and lesson.consider_marks and not grades[lesson.id].passed:
            state = LESSON_NOT_PASSED
        else:
            continue
        missing.append({"lessonId": str(lesson.id), "title": lesson.title, "moduleId": str(lesson.module_id),
                        "state": state})

    next_lesson = _next_lesson(lessons, missing, completed)
    certificate = _certificate_of(track)
    # The rule on the track's stored counters: every write recounts them from the facts in its own
    # transaction (and the test suite checks after every test that they agree), so re-deriving
    # them here would cost a query and say nothing new.
    eligible = certificate_rule_met(track=track, course=course)
    reasons = _certificate_reasons(
        course=course, lessons=lessons, completed=completed, grades=grades, certificate=certificate,
        eligible=eligible, enrollment_active=enrollment.active,
    )
    return Explanation(
        track=track, course=course, lessons=lessons, completed=completed, started=started, grades=grades,
        missing=missing, next_lesson=next_lesson, certificate=certificate, eligible=eligible, reasons=reasons,
    )


def _completed_and_started(*, tenant_id, user_id, course_id, batch_id, lesson_ids, carry: bool
                           ) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """Which lessons the user completed in the context (`completed_consumption`: the recount's own
    definition, carried completions included) and which they started there (a view or an attempt
    made a consumption row), in one query."""
    counted = completed_consumption(tenant_id=tenant_id, user_id=user_id, course_id=course_id, batch_id=batch_id,
                                    carry=carry)
    rows = ContentConsumption.objects.filter(
        Q(collection_id=course_id, batch_id=batch_id) | Q(pk__in=counted.values("pk")),
        user_id=user_id, tenant_id=tenant_id, content_id__in=lesson_ids,
    ).values_list("content_id", "status")
    completed, started = set(), set()
    for content_id, status in rows:
        started.add(content_id)
        if status == ConsumptionStatus.COMPLETED:
            completed.add(content_id)
    return completed, started


def _prerequisites(lesson: CourseLesson) -> list[uuid.UUID]:
    # The attempt service's own reading of `eligibilityCriteria` (a list, a single id, free text).
    from tracking.services import eligibility_lesson_ids

    return eligibility_lesson_ids(Lesson(id=lesson.id, eligibility_criteria=lesson.eligibility_criteria))


def _next_lesson(lessons: list[CourseLesson], missing: list[dict], completed: set[uuid.UUID]) -> dict | None:
    """The first missing lesson whose prerequisites are all completed; when every missing lesson
    waits for one, the first missing lesson, with `blockedBy` naming what it waits for."""
    by_id = {lesson.id: lesson for lesson in lessons}
    candidates = []
    for entry in missing:
        lesson = by_id[uuid.UUID(entry["lessonId"])]
        blocked_by = [str(p) for p in _prerequisites(lesson) if p not in completed]
        candidate = {"lessonId": entry["lessonId"], "title": lesson.title, "moduleId": entry["moduleId"],
                     "blockedBy": blocked_by}
        if not blocked_by:
            return candidate
        candidates.append(candidate)
    return candidates[0] if candidates else None


def _certificate_reasons(*, course: Course, lessons: list[CourseLesson], completed: set[uuid.UUID],
                         grades: dict[uuid.UUID, LessonGrade], certificate: IssuedCertificate | None,
                         eligible: bool, enrollment_active: bool) -> list[str]:
    """Each unmet condition of the course's certificate rule, in a sentence."""
    if certificate is not None:
        return [f"The certificate was issued on {certificate.issued_at:%Y-%m-%d}."]
    if course.certificate_term == CertificateTerm.NA:
        return ["This course issues no certificate (its certificate term is NA)."]
    reasons = []
    if not lessons:
        reasons.append("The course has no published lessons yet, so it cannot be completed.")
    reasons += [f"Lesson '{lesson.title}' is not completed." for lesson in lessons if lesson.id not in completed]
    if course.certificate_term == CertificateTerm.PASS_ALL:
        for lesson in lessons:
            if not lesson.consider_marks or grades[lesson.id].passed:
                continue
            policy = _POLICY_WORDS.get(lesson.attempts_grade, lesson.attempts_grade)
            score = grades[lesson.id].score
            if score is None:
                reasons.append(f"{lesson.title}: no completed attempt yet; passing is {lesson.passing_marks}.")
            else:
                reasons.append(f"{lesson.title}: best score {_score_text(score)} under '{policy}', "
                               f"passing is {lesson.passing_marks}.")
    if eligible and not enrollment_active:
        reasons.append("The enrollment is not active (awaiting approval or deactivated); the certificate is "
                       "issued once it is active again.")
    return reasons


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


# ---------------------------------------------------------------------------------------------
# Tenant overview (the admin index)

STUCK_AFTER = dt.timedelta(days=14)


@dataclass(frozen=True)
class TenantOverview:
    tenant: Tenant
    active_learners_this_week: int
    completions_this_week: int
    stuck_courses: list[dict[str, Any]]
    courses: list[dict[str, Any]]


def tenant_overview(*, tenant: Tenant, now: dt.datetime | None = None, stuck_limit: int = 5) -> TenantOverview:
    """Learners active this week (a track accessed since Monday), completions this week, the courses
    with the most learners stuck (in progress, not seen for 14 days) and the live courses with
    their learner counts. Four queries whatever the tenant's size."""
    now = now or timezone.now()
    week = dt.datetime.combine(_week_start(now), dt.time.min, tzinfo=dt.UTC)
    tracks = CourseTrack.objects.filter(tenant_id=tenant.id)
    active = tracks.filter(last_accessed_date__gte=week).values("user_id").distinct().count()
    completions = tracks.filter(status=CourseTrackStatus.COMPLETED, timeend__gte=week).count()
    stuck = list(
        tracks.filter(status=CourseTrackStatus.IN_PROGRESS)
        .filter(Q(last_accessed_date__lt=now - STUCK_AFTER) | Q(last_accessed_date__isnull=True,
                                                                timestart__lt=now - STUCK_AFTER))
        .order_by()
        .values("course_id", "course__title")
        .annotate(stuck=Count("id"))
        .order_by("-stuck", "course__title")[:stuck_limit]
    )
    courses = list(
        Course.objects.filter(tenant_id=tenant.id, status__in=LIVE_STATUSES)
        .annotate(learners=Count("enrollments", filter=Q(enrollments__batch_id=F("id"))))
        .order_by("-learners", "title")
        .values("id", "title", "status", "learners")[:50]
    )
    return TenantOverview(tenant=tenant, active_learners_this_week=active, completions_this_week=completions,
                          stuck_courses=stuck, courses=courses)
