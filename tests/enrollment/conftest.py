"""Fixtures for the enrollment tests: courses of each enrollment policy and enrollments made through the service."""

from __future__ import annotations

import uuid

import pytest

from courses.models import ContentStatus
from enrollment.services import enrollment_create
from tests.factories import CourseFactory, build_course


@pytest.fixture
def course(tenant):
    """A published course with 2 modules × 2 lessons that only staff enroll into."""
    return build_course(tenant=tenant, modules=2, lessons_per_module=2)


@pytest.fixture
def auto_enroll_course(tenant):
    return build_course(tenant=tenant, modules=1, lessons_per_module=3, auto_enroll=True)


@pytest.fixture
def approval_course(tenant):
    return build_course(tenant=tenant, modules=1, lessons_per_module=1, admin_approval=True)


@pytest.fixture
def unpublished_course(tenant):
    return CourseFactory(tenant=tenant, status=ContentStatus.UNPUBLISHED, auto_enroll=True)


@pytest.fixture
def archived_course(tenant):
    return CourseFactory(tenant=tenant, status=ContentStatus.ARCHIVED, auto_enroll=True)


@pytest.fixture
def enroll(tenant):
    """enroll(course, user_id=None, **service_kwargs): an enrollment made the way the API makes it."""

    def build(course, user_id=None, **kwargs):
        user_id = user_id or uuid.uuid4()
        return enrollment_create(
            tenant_id=course.tenant_id, course=course, user_id=user_id, enrolled_by=uuid.uuid4(), **kwargs
        )

    return build

