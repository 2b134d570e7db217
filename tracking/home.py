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
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from courses.models import ContentStatus, Course, Module
from courses.selectors import course_search, required_placements
from enrollment.models import Enrollment
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


def courses_progress(
    *, tenant_id: uuid.UUID, user_id: uuid.UUID, contexts: list[tuple[uuid.UUID, uuid.UUID]],
    carry: bool | None = None,
) -> dict[tuple[uuid.UUID, uuid.UUID], CourseProgress]:
    """Module progress and the next lesson of one user in each (course, batch) context.

    Four queries whatever the number of contexts, modules and lessons: the tenant's carry-forward
    setting (unless given), the published modules, the required placements (with each lesson's
    title and prerequisites) in course order, and the user's consumption rows of those lessons.
    """
    if not contexts:
        return {}
    if carry is None:
        carry = tenant_carries_forward(tenant_id=tenant_id)
    course_ids = sorted({course_id for course_id, _ in contexts}, key=str)
    modules_by_course: dict[uuid.UUID, list[dict]] = defaultdict(list)
    for module in _published_modules(course_ids):
        modules_by_course[module["course_id"]].append(module)
    placements = list(
        required_placements(course_ids=course_ids)
        .order_by("module__ordering", "module__created_at", "module_id", "ordering", "created_at", "id")
        .values("course_id", "module_id", "lesson_id", "lesson__title", "lesson__eligibility_criteria")
    )
    lessons_in: dict[tuple[uuid.UUID, uuid.UUID], list[uuid.UUID]] = defaultdict(list)
    for placement in placements:
        lessons_in[(placement["course_id"], placement["module_id"])].append(placement["lesson_id"])
    consumption = ContentConsumption.objects.filter(
        tenant_id=tenant_id, user_id=user_id,
        content_id__in=required_placements(course_ids=course_ids).values("lesson_id"),
    ).values_list("collection_id", "batch_id", "content_id", "status")
    completed_anywhere: set[uuid.UUID] = set()
    completed_in: dict[tuple, set[uuid.UUID]] = defaultdict(set)
    started_in: dict[tuple, set[uuid.UUID]] = defaultdict(set)
    for collection_id, batch_id, content_id, status in consumption:
        started_in[(collection_id, batch_id)].add(content_id)
        if status == ConsumptionStatus.COMPLETED:
            completed_in[(collection_id, batch_id)].add(content_id)
            completed_anywhere.add(content_id)

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
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


# --- the catalogue search and the home screen --------------------------------------------------


def _enrolled(*, tenant_id: uuid.UUID, user_id: uuid.UUID) -> Exists:
    return Exists(Enrollment.objects.filter(tenant_id=tenant_id, user_id=user_id, course_id=OuterRef("pk")))


def catalogue_search(
    *, tenant_id: uuid.UUID, learner: bool, q: str | None, category_ids: list[uuid.UUID] | None,
    featured: bool | None, free: bool | None, user_id: uuid.UUID | None, has_enroll: bool | None,
) -> QuerySet[Course]:
    """`GET /courses/search`: the catalogue's search (`courses.selectors.course_search`), and with
    `has_enroll` the courses `user_id` is enrolled in (True) or the published ones they are not in
    (False, "discover"), as EXISTS / NOT EXISTS so the page is cut in the database."""
    courses = course_search(
        tenant_id=tenant_id, learner=learner, q=q, category_ids=category_ids, featured=featured, free=free
    )
    if has_enroll is True:
        courses = courses.filter(_enrolled(tenant_id=tenant_id, user_id=user_id))
    elif has_enroll is False:
        courses = courses.filter(~_enrolled(tenant_id=tenant_id, user_id=user_id), status=ContentStatus.PUBLISHED)
    return courses


def home_courses(
    *, tenant_id: uuid.UUID, learner: bool, user_id: uuid.UUID, has_enroll: bool | None,
    category_ids: list[uuid.UUID] | None,
) -> QuerySet[Course]:
    """`GET /enrollments/users-courses`: the courses of the home screen. With `has_enroll=True`,
    ordered by the last access of the user's track in the course's own batch, latest first (never
    accessed last), then title; otherwise by title."""
    courses = catalogue_search(
        tenant_id=tenant_id, learner=learner, q=None, category_ids=category_ids, featured=None, free=None,
        user_id=user_id, has_enroll=has_enroll,
    )
    if has_enroll is not True:
        return courses
    last_access = CourseTrack.objects.filter(
        tenant_id=tenant_id, user_id=user_id, course_id=OuterRef("pk"), batch_id=OuterRef("pk")
    ).values("last_accessed_date")[:1]
    return courses.annotate(_last_access=Subquery(last_access)).order_by(
        F("_last_access").desc(nulls_last=True), "title", "id"
    )


def module_counts(*, course_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """How many published modules each course has (`totalModuleCount`), in one query."""
    rows = (
        Module.objects.filter(course_id__in=course_ids, status=ContentStatus.PUBLISHED)
        .order_by()
        .values("course_id")
        .annotate(n=Count("id"))
    )
    return {row["course_id"]: row["n"] for row in rows}


def own_batch_enrollments(*, tenant_id: uuid.UUID, user_id: uuid.UUID, course_ids: list[uuid.UUID]) -> dict:
    """The user's enrolments in the courses' own batches, each with its track and its tenant (whose
    carry-forward setting the progress needs, so that it costs no query of its own), in one query."""
    enrollments = Enrollment.objects.filter(
        tenant_id=tenant_id, user_id=user_id, course_id__in=course_ids, batch_id=F("course_id")
    ).select_related("track", "tenant")
    return {enrollment.course_id: enrollment for enrollment in enrollments}


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
    "CourseProgress", "Dashboard", "ModuleProgress", "ModuleStatus", "NextLesson", "catalogue_search",
    "courses_progress", "home_courses", "learner_dashboard", "module_counts",
    "own_batch_enrollments",
]


def visible_course_or_404(*, tenant_id: uuid.UUID, course_id: uuid.UUID, learner: bool) -> None:
    """Raises NotFoundError unless the caller may see the course (a learner: published only)."""
    from courses.selectors import course_row
    from lms.api.errors import NotFoundError

    if course_row(tenant_id=tenant_id, course_id=course_id, learner=learner) is None:
        raise NotFoundError("No course with that id in this tenant.")
