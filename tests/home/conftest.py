"""Fixtures of the learner home tests: a published course (2 modules x 2 lessons) and an enrolled learner."""

from __future__ import annotations

import pytest

from tests.factories import build_course
from tests.tracking.helpers import enroll


@pytest.fixture
def course(tenant):
    return build_course(tenant=tenant, modules=2, lessons_per_module=2)


@pytest.fixture
def enrolled_learner(learner_client, course):
    learner_client.enrollment = enroll(course, learner_client.user_id)
    return learner_client
