"""Real threads on PostgreSQL: completions and starts stay exact under concurrency.

Each thread has its own connection (closed at the end), so row locks and unique constraints
are exercised exactly as under gunicorn. After every scenario `recount_tracking --dry-run`
must find nothing to fix.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from courses.models import Course
from courses.signals import course_content_changed
from enrollment.models import Enrollment
from tests.conftest import make_client
from tests.factories import PlacementFactory, build_course
from tests.tracking.helpers import enroll, lessons_of, result, start, update
from tracking.models import ContentConsumption, CourseTrack, IssuedCertificate, LessonAttempt, LessonAttemptCounter
from tracking.services import lesson_completion_record

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_concurrently(n: int, work):
    """Runs work(i) in n threads released together; returns the results in order."""
    barrier = threading.Barrier(n)

    def worker(i):
        try:
            barrier.wait(timeout=30)
            return work(i)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(worker, range(n)))


def assert_recount_finds_nothing():
    out = StringIO()
    call_command("recount_tracking", "--dry-run", stdout=out)
    assert "0 with differences" in out.getvalue(), out.getvalue()


def learner(tenant, user_id):
    return make_client(tenant_id=tenant.id, roles=["learner"], user_id=user_id)


def test_twenty_completions_of_one_attempt_count_once(tenant):
    course = build_course(tenant=tenant, modules=1, lessons_per_module=2, certificate_term="COMPLETE_ALL")
    first, second = lessons_of(course)
    enrollment = enroll(course)
    client = learner(tenant, enrollment.user_id)
    update(client, result(start(client, first))["id"], status="completed")
    attempt_id = result(start(client, second))["id"]

    statuses = run_concurrently(
        20, lambda i: update(learner(tenant, enrollment.user_id), attempt_id, status="completed", score=i).status_code
    )

    assert sorted(statuses) == [200] + [409] * 19
    track = CourseTrack.objects.get(enrollment=enrollment)
    assert (track.completed_lessons, track.status) == (2, "completed")
    assert IssuedCertificate.objects.filter(track=track).count() == 1
    assert_recount_finds_nothing()


def test_twenty_threads_completing_the_same_lesson_count_one_completion(tenant):
    course = build_course(tenant=tenant, modules=1, lessons_per_module=1, certificate_term="COMPLETE_ALL")
    lesson = lessons_of(course)[0]
    enrollment = enroll(course)
    client = learner(tenant, enrollment.user_id)
    attempt_ids = [result(start(client, lesson))["id"] for _ in range(20)]

    statuses = run_concurrently(
        20, lambda i: update(learner(tenant, enrollment.user_id), attempt_ids[i], status="completed").status_code
    )

    assert statuses == [200] * 20
    track = CourseTrack.objects.get(enrollment=enrollment)
    assert (track.completed_lessons, track.no_of_lessons, track.status) == (1, 1, "completed")
    assert IssuedCertificate.objects.filter(track=track).count() == 1
    assert ContentConsumption.objects.filter(user_id=enrollment.user_id, content_id=lesson.id).count() == 1
    assert Enrollment.objects.get(pk=enrollment.pk).state == 2
    assert_recount_finds_nothing()


def test_twenty_threads_completing_the_same_lesson_through_the_service(tenant):
    course = build_course(tenant=tenant, modules=1, lessons_per_module=1, certificate_term="COMPLETE_ALL")
    lesson = lessons_of(course)[0]
    enrollment = enroll(course)

    run_concurrently(20, lambda i: lesson_completion_record(
        tenant_id=tenant.id, user_id=enrollment.user_id, course_id=course.id, batch_id=course.id, lesson_id=lesson.id,
    ))

    track = CourseTrack.objects.get(enrollment=enrollment)
    assert (track.completed_lessons, track.status) == (1, "completed")
    assert IssuedCertificate.objects.count() == 1
    assert_recount_finds_nothing()


def test_twenty_threads_completing_twenty_lessons_of_one_enrollment(tenant):
    course = build_course(tenant=tenant, modules=4, lessons_per_module=5, certificate_term="COMPLETE_ALL")
    lessons = lessons_of(course)
    assert len(lessons) == 20
    enrollment = enroll(course)

    def start_and_complete(i):
        client = learner(tenant, enrollment.user_id)
        started = start(client, lessons[i])
        completed = update(client, result(started)["id"], status="completed", score=90)
        return started.status_code, completed.status_code

    assert run_concurrently(20, start_and_complete) == [(201, 200)] * 20
    track = CourseTrack.objects.get(enrollment=enrollment)
    assert (track.completed_lessons, track.no_of_lessons, track.status) == (20, 20, "completed")
    assert track.timeend is not None and track.cert_gen_date is not None
    assert IssuedCertificate.objects.filter(track=track).count() == 1
    assert Enrollment.objects.get(pk=enrollment.pk).state == 2
    assert_recount_finds_nothing()


def test_ten_concurrent_starts_get_distinct_numbers(tenant):
    course = build_course(tenant=tenant, modules=1, lessons_per_module=1)
    lesson = lessons_of(course)[0]
    enrollment = enroll(course)

    responses = run_concurrently(10, lambda i: start(learner(tenant, enrollment.user_id), lesson))

    assert [r.status_code for r in responses] == [201] * 10
    numbers = sorted(result(r)["attempt"] for r in responses)
    assert numbers == list(range(1, 11))
    assert sorted(LessonAttempt.objects.values_list("attempt", flat=True)) == numbers
    assert CourseTrack.objects.get(enrollment=enrollment).status == "in_progress"
    assert_recount_finds_nothing()


def test_ten_concurrent_starts_of_a_resumable_lesson_make_one_attempt(tenant):
    course = build_course(tenant=tenant, modules=1, lessons_per_module=1)
    lesson = lessons_of(course)[0]
    lesson.resume = True
    lesson.save(update_fields=["resume"])
    enrollment = enroll(course)

    responses = run_concurrently(10, lambda i: start(learner(tenant, enrollment.user_id), lesson))

    assert sorted(r.status_code for r in responses) == [200] * 9 + [201]
    assert len({result(r)["id"] for r in responses}) == 1
    assert LessonAttempt.objects.count() == 1
    assert_recount_finds_nothing()


def test_ten_concurrent_starts_with_an_attempt_limit_never_exceed_it(tenant):
    course = build_course(tenant=tenant, modules=1, lessons_per_module=1)
    lesson = lessons_of(course)[0]
    lesson.no_of_attempts = 3
    lesson.save(update_fields=["no_of_attempts"])
    enrollment = enroll(course)

    responses = run_concurrently(10, lambda i: start(learner(tenant, enrollment.user_id), lesson))

    assert sorted(r.status_code for r in responses) == [201] * 3 + [400] * 7
    assert sorted(LessonAttempt.objects.values_list("attempt", flat=True)) == [1, 2, 3]


def test_completions_racing_a_content_change_stay_exact(tenant):
    course = build_course(tenant=tenant, modules=2, lessons_per_module=5)
    lessons = lessons_of(course)
    enrollments = [enroll(course) for _ in range(3)]

    def work(i):
        if i == 10:
            with transaction.atomic():
                PlacementFactory(module=course.modules.first(), course=course, tenant=tenant)
                course_content_changed.send(sender=Course, course_id=course.id)
            return
        for enrollment in enrollments:
            lesson_completion_record(
                tenant_id=tenant.id, user_id=enrollment.user_id, course_id=course.id, batch_id=course.id,
                lesson_id=lessons[i].id,
            )

    run_concurrently(11, work)
    for track in CourseTrack.objects.filter(course=course):
        assert (track.completed_lessons, track.no_of_lessons) == (10, 11)
        # Completed only if all ten completions landed before the new lesson did; never reopened.
        assert track.status == "in_progress" or track.timeend is not None
    assert_recount_finds_nothing()


def test_a_content_recount_waiting_on_a_completion_sees_it(tenant):
    """The bulk recount blocks on a track a completion holds; once that commits, the recount must
    count it rather than overwrite the track with a count from before it waited."""
    course = build_course(tenant=tenant, modules=1, lessons_per_module=3)
    lesson = lessons_of(course)[0]
    enrollment = enroll(course)
    holding, release = threading.Event(), threading.Event()

    def complete_and_hold():
        try:
            with transaction.atomic():
                lesson_completion_record(
                    tenant_id=tenant.id, user_id=enrollment.user_id, course_id=course.id, batch_id=course.id,
                    lesson_id=lesson.id,
                )
                holding.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    def recount_course():
        try:
            holding.wait(timeout=30)
            with transaction.atomic():
                PlacementFactory(module=course.modules.first(), course=course, tenant=tenant)
                course_content_changed.send(sender=Course, course_id=course.id)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        completion, content_change = pool.submit(complete_and_hold), pool.submit(recount_course)
        holding.wait(timeout=30)
        with connection.cursor() as cursor:
            for _ in range(200):  # until the recount is queued behind the completion's row lock
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"
                )
                if cursor.fetchone()[0]:
                    break
                threading.Event().wait(0.05)
        release.set()
        completion.result()
        content_change.result()

    track = CourseTrack.objects.get(enrollment=enrollment)
    assert (track.completed_lessons, track.no_of_lessons) == (1, 4)
    assert_recount_finds_nothing()


def test_twenty_concurrent_starts_without_a_counter_row_number_on_from_the_attempts(tenant):
    """Attempts written before the counter existed: the first claims race to create its row."""
    course = build_course(tenant=tenant, modules=1, lessons_per_module=1)
    lesson = lessons_of(course)[0]
    enrollment = enroll(course)
    client = learner(tenant, enrollment.user_id)
    for _ in range(2):
        update(client, result(start(client, lesson))["id"], status="completed")
    LessonAttemptCounter.objects.all().delete()

    responses = run_concurrently(20, lambda i: start(learner(tenant, enrollment.user_id), lesson))

    assert [r.status_code for r in responses] == [201] * 20
    assert sorted(result(r)["attempt"] for r in responses) == list(range(3, 23))
    counter = LessonAttemptCounter.objects.get(user_id=enrollment.user_id, lesson_id=lesson.id)
    assert (counter.last_attempt, counter.attempts_started) == (22, 22)
    assert_recount_finds_nothing()


def test_twenty_concurrent_starts_without_a_counter_row_keep_the_limit(tenant):
    course = build_course(tenant=tenant, modules=1, lessons_per_module=1)
    lesson = lessons_of(course)[0]
    lesson.no_of_attempts = 5
    lesson.save(update_fields=["no_of_attempts"])
    enrollment = enroll(course)
    client = learner(tenant, enrollment.user_id)
    for _ in range(2):
        start(client, lesson)
    LessonAttemptCounter.objects.all().delete()

    responses = run_concurrently(20, lambda i: start(learner(tenant, enrollment.user_id), lesson))

    assert sorted(r.status_code for r in responses) == [201] * 3 + [400] * 17
    assert sorted(LessonAttempt.objects.values_list("attempt", flat=True)) == [1, 2, 3, 4, 5]
    assert_recount_finds_nothing()


def test_twenty_starts_of_a_resumable_lesson_taking_both_paths_at_once(tenant):
    """`action: "start"` takes the one-statement start, the default action the checked path (it may
    resume): both take the counter lock first, so they neither deadlock nor open two attempts that
    the default action would both have resumed."""
    course = build_course(tenant=tenant, modules=1, lessons_per_module=1)
    lesson = lessons_of(course)[0]
    lesson.resume = True
    lesson.save(update_fields=["resume"])
    enrollment = enroll(course)

    def work(i):
        body = {"action": "start"} if i % 2 else {}
        return start(learner(tenant, enrollment.user_id), lesson, **body)

    responses = run_concurrently(20, work)

    assert all(r.status_code in (200, 201) for r in responses), [r.json() for r in responses]
    explicit = [r for i, r in enumerate(responses) if i % 2]
    default = [r for i, r in enumerate(responses) if not i % 2]
    assert [r.status_code for r in explicit] == [201] * 10
    # The default action creates only when nothing is unfinished, which is true for one start at most.
    assert [r.status_code for r in default].count(201) <= 1
    created = sum(r.status_code == 201 for r in responses)
    assert sorted(LessonAttempt.objects.values_list("attempt", flat=True)) == list(range(1, created + 1))
    ids = set(LessonAttempt.objects.values_list("id", flat=True))
    assert {result(r)["id"] for r in responses} <= {str(i) for i in ids}
    assert_recount_finds_nothing()
