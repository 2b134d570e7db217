"""The core rule: completing lessons recounts the track; content changes recount in bulk."""

import pytest

from courses.models import ContentStatus
from enrollment.services import enrollment_create
from tests.factories import PlacementFactory, build_course
from tracking.models import CourseTrack, CourseTrackStatus, IssuedCertificate
from tracking.services import course_tracks_recount_for_course, lesson_completion_record


@pytest.mark.django_db
def test_completing_every_lesson_completes_the_track_once(tenant):
    course = build_course(tenant=tenant, modules=2, lessons_per_module=2, certificate_term="COMPLETE_ALL")
    import uuid

    user_id = uuid.uuid4()
    enrollment = enrollment_create(tenant_id=tenant.id, course=course, user_id=user_id, enrolled_by=user_id)
    track = CourseTrack.objects.get(enrollment=enrollment)
    assert track.no_of_lessons == 4 and track.status == CourseTrackStatus.NOT_STARTED
    lesson_ids = [p.lesson_id for p in course.placements.all()]
    for lesson_id in lesson_ids + lesson_ids:  # repeated events change nothing
        lesson_completion_record(
            tenant_id=tenant.id, user_id=user_id, course_id=course.id, batch_id=course.id, lesson_id=lesson_id
        )
    track.refresh_from_db()
    enrollment.refresh_from_db()
    assert (track.completed_lessons, track.status, enrollment.state) == (4, CourseTrackStatus.COMPLETED, 2)
    assert track.timeend is not None and track.cert_gen_date is not None
    assert IssuedCertificate.objects.filter(track=track).count() == 1

    timeend = track.timeend
    PlacementFactory(module=course.modules.first(), course=course, tenant=tenant)
    course_tracks_recount_for_course(course_id=course.id)
    track.refresh_from_db()
    assert (track.no_of_lessons, track.completed_lessons, track.status) == (5, 4, CourseTrackStatus.COMPLETED)
    assert track.timeend == timeend


@pytest.mark.django_db
def test_archiving_the_last_missing_lesson_completes_open_tracks(tenant):
    import uuid

    course = build_course(tenant=tenant, modules=1, lessons_per_module=2)
    user_id = uuid.uuid4()
    enrollment = enrollment_create(tenant_id=tenant.id, course=course, user_id=user_id, enrolled_by=user_id)
    first, second = list(course.placements.order_by("ordering"))
    lesson_completion_record(
        tenant_id=tenant.id, user_id=user_id, course_id=course.id, batch_id=course.id, lesson_id=first.lesson_id
    )
    second.lesson.status = ContentStatus.ARCHIVED
    second.lesson.save(update_fields=["status"])
    course_tracks_recount_for_course(course_id=course.id)
    track = CourseTrack.objects.get(enrollment=enrollment)
    assert (track.no_of_lessons, track.completed_lessons, track.status) == (1, 1, CourseTrackStatus.COMPLETED)
