"""A progress report finds the learner's course track through the learner's index (issue 15).

With many tracks per course and a batch that is the course itself, the planner took
`track_course_batch` for the lookup of one learner's track and read every track of the course:
in the attempt start's and the attempt update's statements (their key joined from the chosen
context or the updated attempt), and in the prepared statements' generic plans of the view update. These check the plans PostgreSQL
chooses once the table is analysed (migration 0009's statistics); SQLite has no planner to ask.
On the skewed data below each test fails without either fix: the statistics dropped, all three
choose `track_course_batch`; the statements' old joined keys, the two attempt tests do.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager

import pytest
from django.db import connection

from courses.models import LessonPlacement
from enrollment.services import enrollments_bulk_create
from tests.factories import build_course
from tracking.models import CourseTrack, LessonAttempt
from tracking.services import lesson_attempt_start, lesson_attempt_update

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

SHARED_COURSES = 10
SHARED_LEARNERS = 100
SMALL_BATCHES = 150
SMALL_BATCH_LEARNERS = 2


def _track_indexes_of(plan: str) -> set[str]:
    return {
        line.split(" using ")[1].split()[0]
        for line in plan.splitlines() if CourseTrack._meta.db_table in line and " using " in line
    }


@contextmanager
def explained(statement_start: str):
    """The plans of the statements beginning with `statement_start` sent inside the block, with
    the parameters they were sent with."""
    plans: list[str] = []

    def explain(execute, sql, params, many, context):
        if sql.lstrip().startswith(statement_start):
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN {sql}", params)
                plans.append("\n".join(row[0] for row in cursor.fetchall()))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(explain):
        yield plans


def test_a_generic_plan_finds_one_learners_track_by_the_learners_index(learners_in_many_courses_and_batches):
    table = CourseTrack._meta.db_table
    course = learners_in_many_courses_and_batches[0]
    track = CourseTrack.objects.filter(course=course, batch_id=course.id).first()
    with connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_generic_plan")
        try:
            cursor.execute(
                f"PREPARE track_of_learner (uuid, uuid, uuid, uuid) AS SELECT id FROM {table} "
                "WHERE user_id = $1 AND tenant_id = $2 AND course_id = $3 AND batch_id = $4"
            )
            # EXECUTE takes no bound parameters; the values are UUIDs, quoted as literals.
            keys = ", ".join(f"'{key}'" for key in (track.user_id, track.tenant_id, track.course_id, track.batch_id))
            cursor.execute(f"EXPLAIN EXECUTE track_of_learner ({keys})")
            plan = "\n".join(row[0] for row in cursor.fetchall())
            cursor.execute("DEALLOCATE track_of_learner")
        finally:
            cursor.execute("RESET plan_cache_mode")
    assert _track_indexes_of(plan) == {"track_user_context"}, plan


def test_an_attempt_progress_report_finds_the_track_by_the_learners_index(learners_in_many_courses_and_batches):
    course = learners_in_many_courses_and_batches[0]
    track = CourseTrack.objects.filter(course=course, batch_id=course.id).first()
    lesson = LessonPlacement.objects.filter(course=course).first().lesson
    attempt, _ = lesson_attempt_start(
        tenant_id=track.tenant_id, user_id=track.user_id, lesson_id=lesson.id, course_id=course.id
    )
    with explained("WITH attempt AS") as plans:
        lesson_attempt_update(
            tenant_id=track.tenant_id, attempt_id=attempt.id, updated_by=track.user_id, may_update_others=False,
            changes={"total_content": 10, "current_position": 3},
        )
    assert len(plans) == 1
    assert _track_indexes_of(plans[0]) == {"track_user_context"}, plans[0]
    assert LessonAttempt.objects.get(pk=attempt.id).current_position == 3
    track.refresh_from_db()
    assert track.last_accessed_date is not None


@pytest.fixture
def learners_in_many_courses_and_batches(tenant):
    """As at L: each learner has several tracks, and besides each course's own batch there are
    many small batches, so the planner expects about one track per (course, batch) and costs the
    course's index like the learner's. Analysed."""
    courses = [build_course(tenant=tenant, modules=1, lessons_per_module=1) for _ in range(SHARED_COURSES)]
    learners = [uuid.uuid4() for _ in range(SHARED_LEARNERS)]
    for course in courses:
        enrollments_bulk_create(tenant_id=tenant.id, course=course, user_ids=learners, enrolled_by=None)
    for index in range(SMALL_BATCHES):
        enrollments_bulk_create(
            tenant_id=tenant.id, course=courses[index % SHARED_COURSES], batch_id=uuid.uuid4(),
            user_ids=[uuid.uuid4() for _ in range(SMALL_BATCH_LEARNERS)], enrolled_by=None,
        )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {CourseTrack._meta.db_table}")
    return courses


def test_an_attempt_start_finds_the_track_by_the_learners_index(learners_in_many_courses_and_batches):
    course = learners_in_many_courses_and_batches[0]
    track = CourseTrack.objects.filter(course=course, batch_id=course.id).first()
    lesson = LessonPlacement.objects.filter(course=course).first().lesson
    with explained("WITH chosen AS") as plans:
        attempt, _ = lesson_attempt_start(
            tenant_id=track.tenant_id, user_id=track.user_id, lesson_id=lesson.id, course_id=course.id
        )
    assert len(plans) == 1
    # The context's check of the track and the track's update: both by the learner's index.
    assert _track_indexes_of(plans[0]) == {"track_user_context"}, plans[0]
    track.refresh_from_db()
    assert track.last_accessed_date is not None
    assert attempt.attempt == 1
