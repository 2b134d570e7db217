"""`enrollments_bulk_create`: what `enrollment_create` does for each user, in bulk statements."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone

from enrollment.models import Enrollment
from enrollment.services import BULK_ENROLLMENT_MAX, enrollments_bulk_create
from lms.api.errors import ApiError
from lms.models import Tenant
from tracking.models import ConsumptionStatus, ContentConsumption, CourseTrack, CourseTrackStatus

pytestmark = pytest.mark.django_db


def bulk(course, user_ids, **kwargs):
    return enrollments_bulk_create(
        tenant_id=course.tenant_id, course=course, user_ids=user_ids, enrolled_by=uuid.uuid4(), **kwargs
    )


def test_creates_enrollments_and_tracks_as_enrollment_create_does(course, enroll):
    single = enroll(course)
    users = [uuid.uuid4() for _ in range(3)]

    result = bulk(course, users)

    assert [enrollment.user_id for enrollment in result.created] == users
    assert result.existing == {}
    for enrollment in result.created:
        stored = Enrollment.objects.get(pk=enrollment.pk)
        assert (stored.batch_id, stored.end_time, stored.active, stored.state) == (
            course.id, course.end_datetime, True, 0
        )
        track = CourseTrack.objects.get(enrollment=stored)
        assert (track.no_of_lessons, track.completed_lessons, track.status) == (4, 0, CourseTrackStatus.NOT_STARTED)
        assert track.timestart == stored.enrolled_on_time
    single_track = CourseTrack.objects.get(enrollment=single)
    assert single_track.no_of_lessons == 4


def test_repeated_and_existing_users_are_enrolled_once(course, enroll):
    already = enroll(course)
    newcomer = uuid.uuid4()

    result = bulk(course, [newcomer, already.user_id, newcomer])

    assert [enrollment.user_id for enrollment in result.created] == [newcomer]
    assert result.existing == {already.user_id: already.pk}
    assert Enrollment.objects.filter(user_id=newcomer).count() == 1
    assert CourseTrack.objects.count() == 2


def test_a_batch_is_its_own_context(course, enroll):
    already = enroll(course)
    batch_id = uuid.uuid4()

    result = bulk(course, [already.user_id], batch_id=batch_id)

    assert [enrollment.batch_id for enrollment in result.created] == [batch_id]
    assert CourseTrack.objects.get(enrollment=result.created[0]).batch_id == batch_id


def test_more_than_the_maximum_is_refused(course):
    with pytest.raises(ApiError) as raised:
        bulk(course, [uuid.uuid4() for _ in range(BULK_ENROLLMENT_MAX + 1)])
    assert raised.value.status_code == 400
    assert not Enrollment.objects.exists()


def test_carry_forward_counts_completions_from_other_contexts_at_once(tenant, course):
    tenant.carry_forward = Tenant.CarryForward.CARRY
    tenant.save(update_fields=["carry_forward"])
    learner = uuid.uuid4()
    lesson_ids = list(course.placements.values_list("lesson_id", flat=True))
    for lesson_id in lesson_ids[:1]:
        ContentConsumption.objects.create(
            user_id=learner, tenant=tenant, collection_id=lesson_id, batch_id=lesson_id, content_id=lesson_id,
            status=ConsumptionStatus.COMPLETED, progress=100, first_accessed_at=timezone.now(),
            last_accessed_at=timezone.now(), completed_at=timezone.now(),
        )

    result = bulk(course, [learner, uuid.uuid4()])

    tracks = {track.user_id: track for track in CourseTrack.objects.all()}
    assert tracks[learner].completed_lessons == 1
    assert tracks[learner].status == CourseTrackStatus.IN_PROGRESS
    assert {e.user_id: e.state for e in result.created}[learner] == 1


def test_the_recount_agrees_with_bulk_tracks_under_carry_forward(tenant, course, enroll):
    from tracking.services import course_tracks_drift

    tenant.carry_forward = Tenant.CarryForward.CARRY
    tenant.save(update_fields=["carry_forward"])
    learner = uuid.uuid4()
    lesson_ids = list(course.placements.values_list("lesson_id", flat=True))
    now = timezone.now()
    for lesson_id in lesson_ids:  # every lesson done elsewhere: the new track completes at once
        ContentConsumption.objects.create(
            user_id=learner, tenant=tenant, collection_id=lesson_id, batch_id=lesson_id, content_id=lesson_id,
            status=ConsumptionStatus.COMPLETED, progress=100, first_accessed_at=now, last_accessed_at=now,
            completed_at=now,
        )

    bulk(course, [learner, uuid.uuid4(), uuid.uuid4()])

    assert list(course_tracks_drift()) == []
    track = CourseTrack.objects.get(user_id=learner)
    assert (track.status, track.completed_lessons, track.timeend is not None) == (CourseTrackStatus.COMPLETED, 4, True)
    assert Enrollment.objects.get(user_id=learner).state == 2
