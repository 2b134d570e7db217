"""Catalogue rules through the services: dense ordering, archive/restore, signals, versions, duplicate."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from courses import services
from courses.models import ContentStatus, Course, LessonPlacement, Module
from courses.signals import course_content_changed
from enrollment.services import enrollment_create
from lms.api.errors import ApiError, ConflictError, NotFoundError
from tests.factories import CourseFactory, LessonFactory, ModuleFactory, PlacementFactory, build_course

ACTOR = uuid.UUID("11111111-1111-4111-8111-111111111111")


def _orderings(course):
    return list(
        Module.objects.filter(course=course, status__in=services.LIVE_STATUSES)
        .order_by("ordering")
        .values_list("title", "ordering")
    )


def _modules(course, *titles):
    return [services.module_create(course=course, created_by=ACTOR, title=title, description="d") for title in titles]


@pytest.fixture
def announced():
    """Course ids announced through course_content_changed, and whether inside a transaction."""
    calls = []

    def receiver(sender, *, course_id, **kwargs):
        calls.append((course_id, connection.in_atomic_block))

    course_content_changed.connect(receiver, dispatch_uid="tests.courses.announced")
    yield calls
    course_content_changed.disconnect(dispatch_uid="tests.courses.announced")


# --- ordering ---------------------------------------------------------------------------------


def test_modules_are_appended_and_inserted_densely(course):
    _modules(course, "A", "B", "C")
    services.module_create(course=course, created_by=ACTOR, title="First", description="d", ordering=1)
    services.module_create(course=course, created_by=ACTOR, title="Last", description="d", ordering=99)
    assert _orderings(course) == [("First", 1), ("A", 2), ("B", 3), ("C", 4), ("Last", 5)]


@pytest.mark.parametrize(
    ("moved", "target", "expected"),
    [
        ("D", 2, ["A", "D", "B", "C", "E"]),
        ("B", 4, ["A", "C", "D", "B", "E"]),
        ("A", 0, ["A", "B", "C", "D", "E"]),
        ("B", 50, ["A", "C", "D", "E", "B"]),
        ("E", 1, ["E", "A", "B", "C", "D"]),
    ],
)
def test_moving_a_module_shifts_its_siblings(course, moved, target, expected):
    modules = {module.title: module for module in _modules(course, "A", "B", "C", "D", "E")}
    services.module_update(module=modules[moved], updated_by=ACTOR, changes={"ordering": target})
    assert _orderings(course) == [(title, position) for position, title in enumerate(expected, start=1)]


def test_a_move_shifts_siblings_in_one_update_statement(course):
    modules = _modules(course, "A", "B", "C", "D")
    with CaptureQueriesContext(connection) as queries:
        services.module_update(module=modules[3], updated_by=ACTOR, changes={"ordering": 1})
    module_updates = [q["sql"] for q in queries if q["sql"].startswith('UPDATE "courses_module"')]
    # One statement shifts A, B, C; one saves D itself.
    assert len(module_updates) == 2
    assert any("FOR UPDATE" in q["sql"] for q in queries) or connection.vendor == "sqlite"


def test_archiving_a_module_closes_the_gap_and_restoring_appends(course):
    a, b, c = _modules(course, "A", "B", "C")
    services.module_archive(module=a, updated_by=ACTOR)
    assert _orderings(course) == [("B", 1), ("C", 2)]
    services.module_restore(module=a, updated_by=ACTOR)
    assert _orderings(course) == [("B", 1), ("C", 2), ("A", 3)]
    a.refresh_from_db()
    assert a.status == ContentStatus.UNPUBLISHED


def test_placements_are_dense_within_their_module(module, tenant):
    lessons = [LessonFactory(tenant=tenant, title=title) for title in "ABCD"]
    placements = [
        services.placement_create(course=module.course, module=module, lesson=lesson, created_by=ACTOR)
        for lesson in lessons[:3]
    ]
    services.placement_create(course=module.course, module=module, lesson=lessons[3], created_by=ACTOR, ordering=1)
    services.placement_update(placement=placements[0], ordering=4)
    services.placement_archive(placement=placements[1])

    def order():
        return list(
            LessonPlacement.objects.filter(module=module, archived=False)
            .order_by("ordering")
            .values_list("lesson__title", "ordering")
        )

    assert order() == [("D", 1), ("C", 2), ("A", 3)]
    services.placement_restore(placement=placements[1])
    assert order() == [("D", 1), ("C", 2), ("A", 3), ("B", 4)]


def test_placement_is_unique_per_module_and_lesson(placement):
    with pytest.raises(ConflictError):
        services.placement_create(
            course=placement.course, module=placement.module, lesson=placement.lesson, created_by=ACTOR
        )


def test_placement_across_tenants_is_not_found(module, other_tenant):
    with pytest.raises(NotFoundError):
        services.placement_create(
            course=module.course, module=module, lesson=LessonFactory(tenant=other_tenant), created_by=ACTOR
        )


# --- archive and restore ----------------------------------------------------------------------


def test_course_archive_and_restore_is_an_exact_undo(tenant):
    course = build_course(tenant=tenant, modules=3, lessons_per_module=2)
    first, second, third = course.modules.order_by("ordering")
    services.module_update(module=second, updated_by=ACTOR, changes={"status": ContentStatus.UNPUBLISHED})
    services.module_archive(module=third, updated_by=ACTOR)
    lone = LessonPlacement.objects.filter(module=first).first()
    services.placement_archive(placement=lone)

    services.course_archive(course=course, updated_by=ACTOR)
    assert set(Module.objects.filter(course=course).values_list("status", flat=True)) == {ContentStatus.ARCHIVED}
    assert not LessonPlacement.objects.filter(course=course, archived=False).exists()

    services.course_restore(course=course, updated_by=ACTOR)
    course.refresh_from_db()
    assert course.status == ContentStatus.PUBLISHED
    statuses = dict(Module.objects.filter(course=course).values_list("pk", "status"))
    assert statuses == {
        first.pk: ContentStatus.PUBLISHED,
        second.pk: ContentStatus.UNPUBLISHED,
        third.pk: ContentStatus.ARCHIVED,  # archived on its own before: stays archived
    }
    assert LessonPlacement.objects.get(pk=lone.pk).archived is True
    assert LessonPlacement.objects.filter(course=course, archived=False).count() == 5


def test_restoring_a_module_of_an_archived_course_is_refused(module):
    services.course_archive(course=module.course, updated_by=ACTOR)
    with pytest.raises(ApiError, match="restore the course first"):
        services.module_restore(module=module, updated_by=ACTOR)


def test_lesson_archive_and_restore_keep_its_status(lesson):
    services.lesson_archive(lesson=lesson, updated_by=ACTOR)
    lesson.refresh_from_db()
    assert lesson.status == ContentStatus.ARCHIVED and lesson.status_before_archive == ContentStatus.PUBLISHED
    services.lesson_restore(lesson=lesson, updated_by=ACTOR)
    lesson.refresh_from_db()
    assert lesson.status == ContentStatus.PUBLISHED


# --- signals and content versions -------------------------------------------------------------


def test_every_required_lessons_change_is_announced_inside_the_transaction(announced, tenant):
    course = build_course(tenant=tenant, modules=1, lessons_per_module=1)
    module = course.modules.get()
    lesson = LessonFactory(tenant=tenant)
    placement = services.placement_create(course=course, module=module, lesson=lesson, created_by=ACTOR)
    services.placement_archive(placement=placement)
    services.placement_restore(placement=placement)
    services.module_update(module=module, updated_by=ACTOR, changes={"status": ContentStatus.UNPUBLISHED})
    services.module_archive(module=module, updated_by=ACTOR)
    services.module_restore(module=module, updated_by=ACTOR)
    services.lesson_set_status(lesson=lesson, status=ContentStatus.UNPUBLISHED, updated_by=ACTOR)
    services.lesson_archive(lesson=lesson, updated_by=ACTOR)
    services.lesson_restore(lesson=lesson, updated_by=ACTOR)
    services.course_archive(course=course, updated_by=ACTOR)
    services.course_restore(course=course, updated_by=ACTOR)
    assert [course_id for course_id, _ in announced] == [course.pk] * 11
    assert all(in_transaction for _, in_transaction in announced)


def test_writes_that_keep_required_lessons_announce_nothing(announced, module, lesson):
    services.module_update(module=module, updated_by=ACTOR, changes={"title": "Renamed", "ordering": 1})
    services.lesson_update(lesson=lesson, updated_by=ACTOR, changes={"title": "Renamed"})
    services.course_update(course=module.course, updated_by=ACTOR, changes={"featured": True})
    assert announced == []


def test_a_lesson_placed_in_two_courses_announces_both(announced, tenant, lesson):
    placements = [
        PlacementFactory(tenant=tenant, lesson=lesson, module=ModuleFactory(course=CourseFactory(tenant=tenant), tenant=tenant))
        for _ in range(2)
    ]
    versions_before = {p.course_id: p.course.content_version for p in placements}
    services.lesson_set_status(lesson=lesson, status=ContentStatus.UNPUBLISHED, updated_by=ACTOR)
    assert {course_id for course_id, _ in announced} == set(versions_before)
    versions_after = dict(Course.objects.filter(pk__in=versions_before).values_list("pk", "content_version"))
    assert all(versions_after[pk] == versions_before[pk] + 1 for pk in versions_before)


def test_content_writes_bump_the_course_version(module, lesson):
    course = module.course

    def version():
        return Course.objects.values_list("content_version", flat=True).get(pk=course.pk)

    start = version()
    services.module_update(module=module, updated_by=ACTOR, changes={"title": "x"})
    placement = services.placement_create(course=course, module=module, lesson=lesson, created_by=ACTOR)
    services.lesson_update(lesson=lesson, updated_by=ACTOR, changes={"title": "y"})
    services.placement_update(placement=placement, ordering=1)
    services.course_update(course=course, updated_by=ACTOR, changes={"title": "z"})
    assert version() == start + 4  # the ordering no-op changes nothing


def test_track_counts_follow_content_changes(tenant):
    course = build_course(tenant=tenant, modules=1, lessons_per_module=2)
    enrollment = enrollment_create(tenant_id=tenant.pk, course=course, user_id=uuid.uuid4(), enrolled_by=ACTOR)
    from tracking.models import CourseTrack

    def no_of_lessons():
        return CourseTrack.objects.get(course_id=course.pk, user_id=enrollment.user_id).no_of_lessons

    assert no_of_lessons() == 2
    services.lesson_create(
        tenant_id=tenant.pk, created_by=ACTOR, title="New", description="d", status=ContentStatus.PUBLISHED,
        module=course.modules.get(),
    )
    assert no_of_lessons() == 3
    services.course_archive(course=course, updated_by=ACTOR)
    assert no_of_lessons() == 0


# --- duplicate --------------------------------------------------------------------------------


def test_duplicate_copies_modules_and_placements_with_new_ids(tenant):
    course = build_course(tenant=tenant, modules=2, lessons_per_module=3)
    services.module_archive(module=course.modules.order_by("ordering").last(), updated_by=ACTOR)
    copy = services.course_duplicate(course=course, created_by=ACTOR)
    assert copy.pk != course.pk and copy.status == ContentStatus.UNPUBLISHED
    assert copy.title == f"{course.title} (copy)" and copy.created_by == ACTOR
    modules = list(copy.modules.order_by("ordering"))
    assert [m.ordering for m in modules] == [1]
    original_lessons = list(
        LessonPlacement.objects.filter(module=course.modules.get(ordering=1)).order_by("ordering").values_list("lesson_id", flat=True)
    )
    copied = LessonPlacement.objects.filter(module=modules[0]).order_by("ordering")
    assert list(copied.values_list("lesson_id", flat=True)) == original_lessons
    assert list(copied.values_list("ordering", flat=True)) == [1, 2, 3]
    assert all(p.course_id == copy.pk for p in copied)
