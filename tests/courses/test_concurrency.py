"""Concurrent writes keep ordering dense and placements unique (PostgreSQL row locks, real threads)."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection

from courses import services
from courses.models import LessonPlacement, Module
from lms.api.errors import ConflictError
from tests.factories import CourseFactory, LessonFactory, ModuleFactory, TenantFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ACTOR = uuid.uuid4()


def _run_together(work, count: int) -> list:
    barrier = threading.Barrier(count)
    outcomes: list = []

    def run(index):
        try:
            barrier.wait()
            outcomes.append(work(index))
        except Exception as error:  # collected and asserted by the test
            outcomes.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_concurrent_module_creates_get_distinct_dense_positions():
    course = CourseFactory(tenant=TenantFactory())
    outcomes = _run_together(
        lambda index: services.module_create(course=course, created_by=ACTOR, title=f"M{index}", description="d"), 6
    )
    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert sorted(Module.objects.filter(course=course).values_list("ordering", flat=True)) == [1, 2, 3, 4, 5, 6]


def test_concurrent_moves_keep_ordering_a_permutation():
    course = CourseFactory(tenant=TenantFactory())
    modules = [ModuleFactory(course=course, tenant=course.tenant, ordering=n) for n in range(1, 7)]
    _run_together(
        lambda index: services.module_update(module=modules[index], updated_by=ACTOR, changes={"ordering": 6 - index}), 6
    )
    assert sorted(Module.objects.filter(course=course).values_list("ordering", flat=True)) == [1, 2, 3, 4, 5, 6]


def test_concurrent_placements_of_one_lesson_conflict_once():
    tenant = TenantFactory()
    module = ModuleFactory(course=CourseFactory(tenant=tenant), tenant=tenant)
    lesson = LessonFactory(tenant=tenant)
    outcomes = _run_together(
        lambda index: services.placement_create(course=module.course, module=module, lesson=lesson, created_by=ACTOR), 4
    )
    assert len([o for o in outcomes if isinstance(o, LessonPlacement)]) == 1
    assert all(isinstance(o, ConflictError) for o in outcomes if not isinstance(o, LessonPlacement))
    assert LessonPlacement.objects.filter(module=module).count() == 1
