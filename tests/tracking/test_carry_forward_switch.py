"""Switching a tenant's carry-forward policy queues the recount of its course tracks after the commit
(a `tracking.tenant_tracks_recount` task; the suite runs tasks in place when on-commit callbacks run)."""

from __future__ import annotations

import pytest

from lms.models import Tenant
from lms.services import tenant_ensure
from tests.tracking.helpers import enroll, lessons_of
from tests.viewer.conftest import wrapped
from tracking.models import CourseTrack, CourseTrackStatus
from tracking.services import course_tracks_drift
from tracking.tasks import tenant_tracks_recount

pytestmark = pytest.mark.django_db


def _complete_standalone(client, lesson):
    response = client.post("/v1/view/end", wrapped(contentId=lesson.id), format="json")
    assert response.status_code == 200, response.json()


def test_switching_to_carry_counts_earlier_standalone_completions_and_back_uncounts_them(
    learner_client, tenant, course, django_capture_on_commit_callbacks
):
    enrollment = enroll(course, learner_client.user_id)
    lesson = lessons_of(course)[0]
    _complete_standalone(learner_client, lesson)
    track = CourseTrack.objects.get(enrollment=enrollment)
    assert (track.completed_lessons, track.status) == (0, CourseTrackStatus.NOT_STARTED)

    with django_capture_on_commit_callbacks(execute=True) as queued:
        tenant_ensure(name=tenant.name, tenant_id=tenant.id, carry_forward=Tenant.CarryForward.CARRY)
    assert len(queued) == 1  # the recount task, nothing else

    track.refresh_from_db()
    assert (track.completed_lessons, track.status) == (1, CourseTrackStatus.IN_PROGRESS)
    assert not list(course_tracks_drift())

    tenant_ensure(name=tenant.name, tenant_id=tenant.id, carry_forward=Tenant.CarryForward.STRICT)
    # In this test's one transaction the recount queued above stands for this change too (one per
    # transaction); in production each change commits and queues its own.
    tenant_tracks_recount(str(tenant.id))

    track.refresh_from_db()
    # The carried completion no longer counts; the track stays started (it never goes back).
    assert (track.completed_lessons, track.status) == (0, CourseTrackStatus.IN_PROGRESS)
    assert not list(course_tracks_drift())


def test_the_admin_switch_goes_through_the_same_service(
    admin_user, client, tenant, course, learner_client, django_capture_on_commit_callbacks
):
    enrollment = enroll(course, learner_client.user_id)
    _complete_standalone(learner_client, lessons_of(course)[0])
    client.force_login(admin_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/admin/lms/tenant/{tenant.pk}/change/",
            {"name": tenant.name, "carry_forward": "carry",
             "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0"},  # the empty staff inline
        )

    assert response.status_code == 302
    assert CourseTrack.objects.get(enrollment=enrollment).completed_lessons == 1


def test_the_policy_change_itself_waits_for_no_recount(learner_client, tenant, course):
    """The change commits with the tracks as they were; the queued task recounts them."""
    enrollment = enroll(course, learner_client.user_id)
    _complete_standalone(learner_client, lessons_of(course)[0])

    tenant_ensure(name=tenant.name, tenant_id=tenant.id, carry_forward=Tenant.CarryForward.CARRY)

    assert CourseTrack.objects.get(enrollment=enrollment).completed_lessons == 0
    tenant_tracks_recount(str(tenant.id))
    assert CourseTrack.objects.get(enrollment=enrollment).completed_lessons == 1
