"""`manage.py recount_tracking [--course ID] [--dry-run]`: finds drift, fixes it, and finds none after."""

from __future__ import annotations

import uuid
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from enrollment.models import Enrollment
from tests.factories import build_course
from tests.tracking.helpers import enroll, lessons_of
from tracking.models import CourseTrack, IssuedCertificate
from tracking.services import lesson_completion_record

pytestmark = pytest.mark.django_db


def recount(*args) -> str:
    out = StringIO()
    call_command("recount_tracking", *args, stdout=out)
    return out.getvalue()


def complete(course, user_id, lessons):
    for lesson in lessons:
        lesson_completion_record(
            tenant_id=course.tenant_id, user_id=user_id, course_id=course.id, batch_id=course.id, lesson_id=lesson.id
        )


@pytest.fixture
def progress(tenant):
    """Two courses with learners at every stage, all written through the services."""
    course = build_course(tenant=tenant, modules=2, lessons_per_module=2, certificate_term="COMPLETE_ALL")
    other = build_course(tenant=tenant, modules=1, lessons_per_module=1)
    users = [enroll(course).user_id for _ in range(3)]
    complete(course, users[1], lessons_of(course)[:2])
    complete(course, users[2], lessons_of(course))
    enroll(other, users[0])
    return course, other, users


def test_a_consistent_database_has_no_differences(progress):
    for args in ((), ("--dry-run",)):
        output = recount(*args)
        assert output.strip() == "Checked 4 course tracks: 0 with differences."


def test_finds_and_fixes_a_corrupted_counter(progress):
    course, _, users = progress
    halfway = CourseTrack.objects.get(course=course, user_id=users[1])
    CourseTrack.objects.filter(pk=halfway.pk).update(completed_lessons=0, no_of_lessons=3)

    dry = recount("--dry-run")
    assert f"track {halfway.pk}" in dry
    assert "completed_lessons 0 -> 2" in dry and "no_of_lessons 3 -> 4" in dry
    assert dry.strip().endswith("1 with differences, would be fixed (dry run).")
    assert CourseTrack.objects.get(pk=halfway.pk).completed_lessons == 0  # a dry run writes nothing

    fixed = recount()
    assert "completed_lessons 0 -> 2" in fixed and fixed.strip().endswith("1 with differences, fixed.")
    halfway.refresh_from_db()
    assert (halfway.completed_lessons, halfway.no_of_lessons) == (2, 4)
    assert recount("--dry-run").strip() == "Checked 4 course tracks: 0 with differences."


def test_fixes_status_enrollment_state_and_a_missing_certificate(progress):
    course, _, users = progress
    done = CourseTrack.objects.get(course=course, user_id=users[2])
    IssuedCertificate.objects.filter(track=done).delete()
    CourseTrack.objects.filter(pk=done.pk).update(status="in_progress", cert_gen_date=None)
    Enrollment.objects.filter(pk=done.enrollment_id).update(state=1)

    dry = recount("--dry-run")
    assert "status in_progress -> completed" in dry and "enrollment.state 1 -> 2" in dry and "cert_gen_date" in dry
    recount()
    done.refresh_from_db()
    assert done.status == "completed" and done.cert_gen_date is not None
    assert IssuedCertificate.objects.filter(track=done).count() == 1
    assert Enrollment.objects.get(pk=done.enrollment_id).state == 2
    assert "0 with differences" in recount("--dry-run")


def test_course_option_limits_the_run(progress):
    course, other, users = progress
    CourseTrack.objects.filter(course=course).update(no_of_lessons=9)
    output = recount("--dry-run", "--course", str(other.id))
    assert output.strip() == "Checked 1 course tracks: 0 with differences."
    assert "3 with differences" in recount("--course", str(course.id))


def test_unknown_course_is_an_error(db):
    with pytest.raises(CommandError, match="No course"):
        recount("--course", str(uuid.uuid4()))


def _started_track(course):
    """A learner halfway through `course`, with the track as the services wrote it."""
    user_id = enroll(course).user_id
    complete(course, user_id, lessons_of(course)[:1])
    return CourseTrack.objects.get(course=course, user_id=user_id)


@pytest.mark.parametrize(
    "corrupt",
    [
        {"completed_lessons": 0},
        {"no_of_lessons": 9},
        {"status": "not_started"},
        {"status": "completed"},
        {"enrollment.state": 0},
        {"enrollment.state": 2},
        {"finished_without_certificate_date": True},
    ],
    ids=lambda corrupt: next(iter(corrupt)) + "=" + str(next(iter(corrupt.values()))),
)
def test_the_drift_scan_misses_no_kind_of_corruption(tenant, corrupt):
    from tracking.services import course_tracks_drift

    course = build_course(tenant=tenant, modules=1, lessons_per_module=2, certificate_term="COMPLETE_ALL")
    track = _started_track(course)
    if "finished_without_certificate_date" in corrupt:
        complete(course, track.user_id, lessons_of(course))
        CourseTrack.objects.filter(pk=track.pk).update(cert_gen_date=None)
    elif "enrollment.state" in corrupt:
        Enrollment.objects.filter(pk=track.enrollment_id).update(state=corrupt["enrollment.state"])
    else:
        CourseTrack.objects.filter(pk=track.pk).update(**corrupt)

    found = [(drifted.pk, differences) for drifted, differences in course_tracks_drift()]

    assert [pk for pk, _ in found] == [track.pk], found
    recount()  # fixed again, so the suite's own invariant check finds the database healthy


@pytest.mark.parametrize("learners", [3, 30])
def test_scanning_healthy_tracks_costs_a_query_per_course(tenant, learners, django_assert_max_num_queries):
    from tracking.services import course_tracks_drift

    course = build_course(tenant=tenant, modules=1, lessons_per_module=2, certificate_term="NA")
    for learner in range(learners):
        track = _started_track(course)
        if learner % 2:  # finished, in a course that issues no certificate: nothing to check per track
            complete(course, track.user_id, lessons_of(course))

    # the (tenant, course) pairs, the tenant's carry-forward setting, whether the course issues
    # certificates, the course's tracks with their facts
    with django_assert_max_num_queries(4):
        assert not list(course_tracks_drift())
