"""A completed course's certificate waits for an active enrollment (pending approval or
deactivated enrollments complete, but earn no certificate until activated)."""

from __future__ import annotations

import uuid

import pytest

from enrollment.models import Enrollment
from enrollment.services import enrollment_approve, enrollment_deactivate
from lms.models import Tenant
from tests.factories import build_course
from tests.tracking.helpers import COURSE_TRACKING, enroll, lessons_of, result
from tracking.models import CourseTrack, CourseTrackStatus, IssuedCertificate
from tracking.services import course_tracks_recount_for_course

pytestmark = pytest.mark.django_db


@pytest.fixture
def carry_tenant(tenant):
    tenant.carry_forward = Tenant.CarryForward.CARRY
    tenant.save(update_fields=["carry_forward"])
    return tenant


@pytest.fixture
def approval_course(carry_tenant):
    """One lesson, self-enrollment by admin approval, a certificate on completion."""
    return build_course(
        tenant=carry_tenant, modules=1, lessons_per_module=1, admin_approval=True, certificate_term="COMPLETE_ALL"
    )


def _complete_standalone(client, lesson):
    # Scenario 3 of the viewer design: standalone content is its own collection and batch.
    response = client.post("/v1/view/end", {"request": {"contentId": str(lesson.id)}}, format="json")
    assert response.status_code == 200, response.json()


def _track(enrollment_id) -> CourseTrack:
    return CourseTrack.objects.get(enrollment_id=enrollment_id)


def test_pending_enrollment_completes_without_certificate_until_approved(
    learner_client, admin_client, approval_course
):
    [lesson] = lessons_of(approval_course)
    _complete_standalone(learner_client, lesson)

    created = learner_client.post(
        "/enrollments", {"course_id": str(approval_course.id), "user_id": str(learner_client.user_id)}, format="json"
    )

    assert created.status_code == 201, created.json()
    enrollment = result(created)
    assert (enrollment["active"], enrollment["state"]) == (False, 2)
    track = _track(enrollment["id"])
    assert track.status == CourseTrackStatus.COMPLETED and track.timeend is not None
    assert track.cert_gen_date is None
    assert not IssuedCertificate.objects.filter(track=track).exists()

    approved = admin_client.put(f"/enrollments/{enrollment['id']}", {"active": True}, format="json")

    assert approved.status_code == 200, approved.json()
    track.refresh_from_db()
    certificate = IssuedCertificate.objects.get(track=track)
    assert track.cert_gen_date == certificate.issued_at

    # Approving again, or deactivating and re-activating, issues nothing more.
    admin_client.put(f"/enrollments/{enrollment['id']}", {"active": True}, format="json")
    admin_client.delete(f"/enrollments/{enrollment['id']}")
    admin_client.put(f"/enrollments/{enrollment['id']}", {"active": True}, format="json")
    assert list(IssuedCertificate.objects.filter(track=track)) == [certificate]


def test_bulk_approval_issues_the_certificates_that_waited(learner_client, approval_course):
    [lesson] = lessons_of(approval_course)
    _complete_standalone(learner_client, lesson)
    waiting = enroll(approval_course, learner_client.user_id, active=False)
    not_completed = enroll(approval_course, active=False)
    assert not IssuedCertificate.objects.exists()

    approved = enrollment_approve(enrollment_ids=[waiting.pk, not_completed.pk], approved_by=uuid.uuid4())

    assert approved == 2
    assert IssuedCertificate.objects.filter(track=_track(waiting.pk)).count() == 1
    assert not IssuedCertificate.objects.filter(track=_track(not_completed.pk)).exists()
    assert _track(not_completed.pk).status == CourseTrackStatus.NOT_STARTED


def test_deactivated_learner_completing_earns_the_certificate_on_reactivation(
    learner_client, admin_client, approval_course
):
    enrollment = enroll(approval_course, learner_client.user_id)
    enrollment_deactivate(enrollment_ids=[enrollment.pk], deactivated_by=admin_client.user_id)
    [lesson] = lessons_of(approval_course)

    _complete_standalone(learner_client, lesson)
    # A content change recounts every track of the course: this one completes, still inactive.
    course_tracks_recount_for_course(course_id=approval_course.id)

    track = _track(enrollment.pk)
    assert track.status == CourseTrackStatus.COMPLETED and track.cert_gen_date is None
    assert Enrollment.objects.get(pk=enrollment.pk).state == 2

    enrollment_approve(enrollment_ids=[enrollment.pk], approved_by=admin_client.user_id)

    track.refresh_from_db()
    assert track.cert_gen_date is not None
    assert IssuedCertificate.objects.filter(track=track).count() == 1


def test_activation_issues_the_certificate_a_standalone_completion_earned_while_pending(learner_client, approval_course):
    enrollment = enroll(approval_course, learner_client.user_id, active=False)
    [lesson] = lessons_of(approval_course)
    # With carry-forward a standalone completion counts for this track at once, but the pending
    # enrollment's certificate waits for the approval.
    _complete_standalone(learner_client, lesson)
    assert _track(enrollment.pk).status == CourseTrackStatus.COMPLETED
    assert not IssuedCertificate.objects.filter(track=_track(enrollment.pk)).exists()

    enrollment_approve(enrollment_ids=[enrollment.pk], approved_by=uuid.uuid4())

    track = _track(enrollment.pk)
    assert (track.status, track.completed_lessons) == (CourseTrackStatus.COMPLETED, 1)
    assert IssuedCertificate.objects.filter(track=track).count() == 1


@pytest.mark.drift_expected("a staff override sets counters the facts do not derive")
def test_staff_completing_an_inactive_enrollments_track_issues_no_certificate(admin_client, approval_course):
    enrollment = enroll(approval_course, active=False)
    track = _track(enrollment.pk)
    lessons = len(lessons_of(approval_course))

    response = admin_client.put(
        f"{COURSE_TRACKING}/{track.pk}", {"status": "completed", "completed_lessons": lessons}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert result(response)["cert_gen_date"] is None
    assert not IssuedCertificate.objects.filter(track=track).exists()
