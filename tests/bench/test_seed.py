"""The smoke-scale seed on PostgreSQL (it uses COPY): consistent with the service rules."""

import pytest
from django.db.models import Count, F, Q

from bench import plan
from bench.scenarios import build_workload
from bench.seed import is_seeded, seed_database
from enrollment.models import Enrollment, EnrollmentState
from tracking.models import ConsumptionStatus, ContentConsumption, CourseTrack, CourseTrackStatus
from viewer.models import ProgramCourse

pytestmark = pytest.mark.postgres


@pytest.fixture
def seeded(db):
    scale = plan.SCALES["smoke"]
    report = seed_database(scale=scale, log=lambda message: None)
    return scale, report


def test_seed_writes_the_planned_rows_and_marks_itself_finished(seeded):
    scale, report = seeded
    direct, programs = plan.heavy_user_plan(scale)
    heavy = len(direct) + programs * plan.PROGRAM_SIZE if scale.courses >= plan.PROGRAM_SIZE else None
    assert report.courses == scale.courses
    assert report.lessons == scale.courses * scale.lessons_per_course
    assert Enrollment.objects.count() == CourseTrack.objects.count() == report.enrollments
    assert ContentConsumption.objects.count() == report.consumption_rows
    csv_user = plan.csv_user_id(scale)
    assert Enrollment.objects.filter(user_id=csv_user).count() == scale.csv_enrolments
    heavy_counts = Enrollment.objects.filter(user_id=plan.heavy_user_id(scale, 0)).count()
    assert heavy_counts >= plan.HEAVY_ENROLMENTS and (heavy is None or heavy_counts == heavy)
    assert is_seeded(scale)


def test_course_tracks_agree_with_the_consumption_facts(seeded):
    # completed_lessons is what the tracking service recounted; it must equal the completed rows per context.
    completed = {
        (row["user_id"], row["collection_id"], row["batch_id"]): row["n"]
        for row in ContentConsumption.objects.filter(status=ConsumptionStatus.COMPLETED)
        .values("user_id", "collection_id", "batch_id").annotate(n=Count("content_id", distinct=True))
    }
    for track in CourseTrack.objects.all():
        assert track.completed_lessons == completed.get((track.user_id, track.course_id, track.batch_id), 0)
        assert track.no_of_lessons == plan.SCALES["smoke"].lessons_per_course
    started = Q(status=CourseTrackStatus.IN_PROGRESS, enrollment__state=EnrollmentState.IN_PROGRESS)
    not_started = Q(status=CourseTrackStatus.NOT_STARTED, enrollment__state=EnrollmentState.NOT_STARTED)
    assert CourseTrack.objects.exclude(started | not_started).count() == 0
    assert not CourseTrack.objects.exclude(batch_id=F("enrollment__batch_id"), course_id=F("enrollment__course_id")).exists()
    # A batch is the course itself (direct enrolment) or a program holding that course.
    program_batches = Enrollment.objects.exclude(batch_id=F("course_id"))
    assert program_batches.exists()
    for batch_id, course_id in program_batches.values_list("batch_id", "course_id")[:50]:
        assert ProgramCourse.objects.filter(program_id=batch_id, course_id=course_id).exists()


def test_workload_names_only_seeded_rows(seeded, tmp_path):
    scale, _ = seeded
    workload = build_workload(scale=scale, seed=plan.SEED)
    assert len(workload.users) == scale.token_users
    assert all(len(lessons) == scale.lessons_per_course for _, lessons in workload.courses)
    user_ids = {u for u, _ in workload.users}
    for user_index, course_index in workload.enrolments:
        assert Enrollment.objects.filter(
            user_id=workload.users[user_index][0], course_id=workload.courses[course_index][0],
            batch_id=workload.courses[course_index][0],
        ).exists()
    assert workload.attempts and all(workload.users[u][0] in user_ids for _, u, _, _ in workload.attempts)
    text, _ = workload.write(tmp_path)
    kinds = [line.split()[0] for line in text.read_text().splitlines()]
    assert kinds.count("user") == scale.token_users and kinds.count("attempt") == len(workload.attempts)
