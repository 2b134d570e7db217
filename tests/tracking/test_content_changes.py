"""Content changes recount every track of the course in bulk: never above 100 %, completed stays completed."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from courses.models import ContentStatus, Course
from courses.signals import course_content_changed
from enrollment.models import Enrollment
from tests.factories import PlacementFactory, build_course
from tests.tracking.helpers import enroll, lessons_of
from tracking.models import CourseTrack, IssuedCertificate
from tracking.services import lesson_completion_record

pytestmark = pytest.mark.django_db


def content_changed(course):
    """What the courses services send inside a content write."""
    course_content_changed.send(sender=Course, course_id=course.id)


def complete(course, user_id, lessons):
    for lesson in lessons:
        lesson_completion_record(
            tenant_id=course.tenant_id, user_id=user_id, course_id=course.id, batch_id=course.id, lesson_id=lesson.id
        )


@pytest.fixture
def tracks(course):
    """Three learners: not started, half way (2 of 4), completed (4 of 4)."""
    lessons = lessons_of(course)
    idle, halfway, done = (enroll(course).user_id for _ in range(3))
    complete(course, halfway, lessons[:2])
    complete(course, done, lessons)
    return {name: CourseTrack.objects.get(course=course, user_id=user_id)
            for name, user_id in (("idle", idle), ("halfway", halfway), ("done", done))}


def refreshed(tracks):
    return {name: CourseTrack.objects.get(pk=track.pk) for name, track in tracks.items()}


def test_adding_a_lesson_raises_every_track_and_reopens_nothing_completed(course, tenant, tracks):
    done_timeend = tracks["done"].timeend
    PlacementFactory(module=course.modules.first(), course=course, tenant=tenant)
    content_changed(course)
    after = refreshed(tracks)
    assert {name: (t.no_of_lessons, t.completed_lessons, t.status) for name, t in after.items()} == {
        "idle": (5, 0, "not_started"), "halfway": (5, 2, "in_progress"), "done": (5, 4, "completed"),
    }
    assert after["done"].timeend == done_timeend
    assert all(t.completed_lessons <= t.no_of_lessons for t in after.values())  # never above 100 %
    assert Enrollment.objects.get(pk=after["done"].enrollment_id).state == 2


def test_archiving_a_lesson_lowers_it_and_can_complete_open_tracks(tenant):
    course = build_course(tenant=tenant, modules=1, lessons_per_module=3, certificate_term="COMPLETE_ALL")
    first, second, third = lessons_of(course)
    learner = enroll(course).user_id
    complete(course, learner, [first, second])
    bystander = enroll(course).user_id
    complete(course, bystander, [third])

    placement = course.placements.get(lesson=third)
    placement.archived = True
    placement.save(update_fields=["archived"])
    content_changed(course)

    track = CourseTrack.objects.get(course=course, user_id=learner)
    assert (track.no_of_lessons, track.completed_lessons, track.status) == (2, 2, "completed")
    assert track.timeend is not None and IssuedCertificate.objects.filter(track=track).count() == 1
    assert Enrollment.objects.get(pk=track.enrollment_id).state == 2
    # The archived lesson no longer counts for anyone; nothing shows above 100 %.
    other = CourseTrack.objects.get(course=course, user_id=bystander)
    assert (other.no_of_lessons, other.completed_lessons, other.status) == (2, 0, "in_progress")

    placement.archived = False
    placement.save(update_fields=["archived"])
    content_changed(course)
    other.refresh_from_db()
    track.refresh_from_db()
    assert (other.no_of_lessons, other.completed_lessons) == (3, 1)
    assert (track.no_of_lessons, track.completed_lessons, track.status) == (3, 2, "completed")


def test_unpublishing_a_lesson_lowers_no_of_lessons(course, tracks):
    lesson = lessons_of(course)[3]
    lesson.status = ContentStatus.UNPUBLISHED
    lesson.save(update_fields=["status"])
    content_changed(course)
    after = refreshed(tracks)
    assert {name: (t.no_of_lessons, t.completed_lessons) for name, t in after.items()} == {
        "idle": (3, 0), "halfway": (3, 2), "done": (3, 3),
    }


def test_publishing_a_lesson_already_completed_starts_the_track(course, tenant):
    extra = PlacementFactory(module=course.modules.first(), course=course, tenant=tenant)
    extra.lesson.status = ContentStatus.UNPUBLISHED
    extra.lesson.save(update_fields=["status"])
    user_id = enroll(course).user_id
    complete(course, user_id, [extra.lesson])  # e.g. through the viewer, before it counted
    track = CourseTrack.objects.get(course=course, user_id=user_id)
    assert (track.completed_lessons, track.status) == (0, "in_progress")  # activity alone starts it
    CourseTrack.objects.filter(pk=track.pk).update(status="not_started")
    Enrollment.objects.filter(pk=track.enrollment_id).update(state=0)

    extra.lesson.status = ContentStatus.PUBLISHED
    extra.lesson.save(update_fields=["status"])
    content_changed(course)
    track.refresh_from_db()
    assert (track.no_of_lessons, track.completed_lessons, track.status) == (5, 1, "in_progress")
    assert Enrollment.objects.get(pk=track.enrollment_id).state == 1


def test_the_bulk_recount_does_not_grow_with_the_number_of_tracks(course, tenant):
    def recount_queries():
        PlacementFactory(module=course.modules.first(), course=course, tenant=tenant)
        with CaptureQueriesContext(connection) as queries:
            content_changed(course)
        return len(queries)

    for _ in range(2):
        enroll(course)
    few = recount_queries()
    for _ in range(20):
        enroll(course, uuid.uuid4())
    assert recount_queries() == few
    assert set(CourseTrack.objects.filter(course=course).values_list("no_of_lessons", flat=True)) == {6}
