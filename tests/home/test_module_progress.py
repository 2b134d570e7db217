"""Module progress (DECISIONS §11): derived from the course track's own facts, so the modules and
the track always agree, under the recount invariant."""

from __future__ import annotations

import uuid

import pytest

from courses import services as course_services
from tests.factories import ModuleFactory, PlacementFactory, build_course
from tests.tracking.helpers import enroll, lessons_of, result, start, start_and_complete
from tracking import home
from tracking.models import CourseTrack
from tracking.services import course_tracks_drift

MODULES = "/courses/tracking/modules"


def modules_of(client, course, **params):
    response = client.get(MODULES, {"course_id": str(course.id), **params})
    assert response.status_code == 200, response.json()
    return result(response)["modules"]


def assert_modules_agree_with_track(track: CourseTrack) -> None:
    """The lessons over the modules are the track's lessons, and the completed ones its completed ones."""
    progress = home.courses_progress(
        tenant_id=track.tenant_id, user_id=track.user_id, contexts=[(track.course_id, track.batch_id)]
    )[(track.course_id, track.batch_id)]
    assert len(progress.required_lesson_ids) == track.no_of_lessons
    assert len(progress.completed_lesson_ids) == track.completed_lessons
    assert not list(course_tracks_drift())


def test_modules_move_with_the_lessons(enrolled_learner, course):
    first, second, third, _ = lessons_of(course)
    modules = modules_of(enrolled_learner, course)
    assert [(m["totalLessons"], m["completedLessons"], m["status"]) for m in modules] == [
        (2, 0, "not_started"), (2, 0, "not_started"),
    ]
    start_and_complete(enrolled_learner, first)
    start(enrolled_learner, third)
    start_and_complete(enrolled_learner, second)
    modules = modules_of(enrolled_learner, course)
    assert [(m["completedLessons"], m["status"]) for m in modules] == [(2, "completed"), (0, "in_progress")]
    assert [m["moduleId"] for m in modules] == [str(m.id) for m in course.modules.order_by("ordering")]
    assert_modules_agree_with_track(CourseTrack.objects.get(enrollment=enrolled_learner.enrollment))


def test_an_empty_module_is_never_completed_and_a_lesson_in_two_modules_counts_once(enrolled_learner, course, tenant):
    empty = ModuleFactory(course=course, tenant=tenant, ordering=3)
    lesson = lessons_of(course)[0]
    later = ModuleFactory(course=course, tenant=tenant, ordering=4)
    PlacementFactory(module=later, course=course, tenant=tenant, lesson=lesson)
    start_and_complete(enrolled_learner, lesson)
    modules = {m["moduleId"]: m for m in modules_of(enrolled_learner, course)}
    assert modules[str(empty.id)]["status"] == "not_started" and modules[str(empty.id)]["totalLessons"] == 0
    assert modules[str(later.id)]["status"] == "completed"
    assert_modules_agree_with_track(CourseTrack.objects.get(enrollment=enrolled_learner.enrollment))


def test_unpublished_and_archived_content_does_not_count(enrolled_learner, course, admin_client):
    first, second, *_ = lessons_of(course)
    start_and_complete(enrolled_learner, first)
    course_services.lesson_set_status(lesson=second, status="unpublished", updated_by=None)
    modules = modules_of(enrolled_learner, course)
    assert (modules[0]["totalLessons"], modules[0]["status"]) == (1, "completed")
    assert_modules_agree_with_track(CourseTrack.objects.get(enrollment=enrolled_learner.enrollment))


def test_carry_forward_counts_as_the_recount_does(tenant, learner_client):
    tenant.carry_forward = "carry"
    tenant.save(update_fields=["carry_forward"])
    one = build_course(tenant=tenant, modules=1, lessons_per_module=1)
    shared = lessons_of(one)[0]
    other = build_course(tenant=tenant, modules=1, lessons_per_module=0)
    PlacementFactory(module=other.modules.get(), course=other, tenant=tenant, lesson=shared)
    enroll(one, learner_client.user_id)
    enroll(other, learner_client.user_id)
    start_and_complete(learner_client, shared, course_id=str(one.id))
    assert modules_of(learner_client, other)[0]["status"] == "completed"
    for track in CourseTrack.objects.all():
        assert_modules_agree_with_track(track)


def test_access_and_bad_input(enrolled_learner, course, admin_client, other_admin_client, tenant):
    assert enrolled_learner.get(MODULES).status_code == 400  # course_id is required
    assert enrolled_learner.get(MODULES, {"course_id": "x"}).status_code == 400
    someone = enrolled_learner.get(MODULES, {"course_id": str(course.id), "user_id": str(uuid.uuid4())})
    assert someone.status_code == 403
    assert admin_client.get(MODULES, {"course_id": str(course.id), "user_id": str(enrolled_learner.user_id)}).status_code == 200
    assert other_admin_client.get(MODULES, {"course_id": str(course.id)}).status_code == 404
    course.status = "unpublished"
    course.save(update_fields=["status"])
    assert enrolled_learner.get(MODULES, {"course_id": str(course.id)}).status_code == 404


def test_query_count_is_constant(tenant, learner_client, django_assert_max_num_queries):
    small = build_course(tenant=tenant, modules=2, lessons_per_module=2)
    big = build_course(tenant=tenant, modules=10, lessons_per_module=10)
    for course in (small, big):
        enroll(course, learner_client.user_id)
        start_and_complete(learner_client, lessons_of(course)[0])
    for course in (small, big):
        # the course (visibility); carry setting; published modules; required placements; consumption
        with django_assert_max_num_queries(5):
            modules_of(learner_client, course)


@pytest.mark.parametrize("completed", [0, 1, 4])
def test_completed_module_count_matches_the_modules(enrolled_learner, course, completed):
    for lesson in lessons_of(course)[:completed]:
        start_and_complete(enrolled_learner, lesson)
    response = enrolled_learner.get("/enrollments/users-courses", {"hasEnroll": "true"})
    item = result(response)["courses"][0]
    modules = modules_of(enrolled_learner, course)
    assert item["completedModuleCount"] == sum(m["status"] == "completed" for m in modules)
    assert item["totalModuleCount"] == len(modules)
