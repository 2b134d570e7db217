"""Fixtures of the viewer tests: a course with lessons, enrolments, and wrapped requests."""

from __future__ import annotations

import uuid

import pytest

from enrollment.services import enrollment_create
from tests.factories import build_course


def wrapped(**fields) -> dict:
    """A viewer request body: {"request": {...}} with UUIDs as strings and None fields left out."""
    return {"request": {key: str(value) if isinstance(value, uuid.UUID) else value
                        for key, value in fields.items() if value is not None}}


def enrol(course, user_id, *, batch_id=None, active=True):
    return enrollment_create(
        tenant_id=course.tenant_id, course=course, user_id=user_id, enrolled_by=user_id, batch_id=batch_id,
        active=active,
    )


def lesson_ids(course) -> list[uuid.UUID]:
    return list(course.placements.order_by("module__ordering", "ordering").values_list("lesson_id", flat=True))


@pytest.fixture
def course(tenant):
    """A published course of two modules × two lessons that issues a certificate on completion."""
    return build_course(tenant=tenant, modules=2, lessons_per_module=2, certificate_term="COMPLETE_ALL")


@pytest.fixture
def enrolled(course, learner_client):
    """The learner enrolled in `course` (batch = course id)."""
    return enrol(course, learner_client.user_id)
