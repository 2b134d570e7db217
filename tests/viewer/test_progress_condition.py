"""The course-context condition that view/update's one statement carries (viewer.services), and
the named-placeholder form of `SqlCondition` it is written in (tracking.consumption)."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone

from enrollment.models import Enrollment
from tests.viewer.conftest import enrol, lesson_ids
from tracking.consumption import SqlCondition
from tracking.models import ContentConsumption
from tracking.services import lesson_progress_record
from viewer.services import _COURSE_CONTEXT

pytestmark = pytest.mark.django_db


def _record(*, tenant_id, user_id, course, lesson) -> bool:
    return lesson_progress_record(
        tenant_id=tenant_id,
        user_id=user_id,
        course_id=course.id,
        batch_id=course.id,
        lesson_id=lesson,
        progress=30,
        now=timezone.now(),
        only_if=_COURSE_CONTEXT,
    )


def test_the_condition_holds_for_an_active_enrolment_in_a_released_lesson(course):
    user_id = uuid.uuid4()
    enrol(course, user_id)
    lesson = lesson_ids(course)[0]

    assert _record(tenant_id=course.tenant_id, user_id=user_id, course=course, lesson=lesson)
    assert ContentConsumption.objects.get(user_id=user_id, content_id=lesson).progress == 30


def test_the_course_must_be_the_tenants_even_when_an_enrolment_row_says_otherwise(course, other_tenant):
    # The course is probed once, in the released check, which also checks its tenant: an enrolment
    # row filed under another tenant (which the services never write) does not make it that tenant's.
    user_id = uuid.uuid4()
    enrolled = enrol(course, user_id)
    Enrollment.objects.filter(pk=enrolled.pk).update(tenant_id=other_tenant.id)
    lesson = lesson_ids(course)[0]

    assert not _record(tenant_id=other_tenant.id, user_id=user_id, course=course, lesson=lesson)
    assert not ContentConsumption.objects.filter(user_id=user_id).exists()


def test_a_named_condition_becomes_positional_in_the_order_its_names_appear():
    condition = SqlCondition(
        "EXISTS (SELECT 1 FROM t WHERE t.user_id = %(user_id)s AND t.kind = %(kind)s AND t.owner = %(user_id)s)",
        {"kind": "x"},
    )
    user_id = uuid.uuid4()

    sql, params = condition.positional({"user_id": user_id, "tenant_id": uuid.uuid4()})

    assert sql == "EXISTS (SELECT 1 FROM t WHERE t.user_id = %s AND t.kind = %s AND t.owner = %s)"
    assert params == [user_id, "x", user_id]
