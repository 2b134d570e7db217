"""Overlapping bulk enrolments on PostgreSQL, with real threads and connections."""

from __future__ import annotations

import uuid

import pytest

from enrollment.models import Enrollment
from tests.conftest import make_client
from tests.enrollment.test_concurrency import run_in_threads
from tests.factories import build_course
from tracking.models import CourseTrack

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_overlapping_bulk_calls_create_each_enrollment_once(tenant):
    course = build_course(tenant=tenant, modules=1, lessons_per_module=2)
    shared = [str(uuid.uuid4()) for _ in range(60)]
    # Each call names the shared users (in its own order, so that a careless implementation would
    # deadlock) and a few of its own.
    lists = [
        list(reversed(shared)) + [str(uuid.uuid4()) for _ in range(5)] if index % 2 else shared + [str(uuid.uuid4())]
        for index in range(4)
    ]
    clients = [make_client(tenant_id=tenant.id, roles=["admin"]) for _ in range(4)]

    responses = run_in_threads(
        4, lambda i: clients[i].post("/enrollments/bulk", {"course_id": str(course.id), "user_ids": lists[i]})
    )

    assert [r.status_code for r in responses] == [200] * 4, responses
    created = [item["user_id"] for r in responses for item in r.json()["result"]["created"]]
    assert len(created) == len(set(created)) == 60 + 2 * 5 + 2 * 1
    for r, names in zip(responses, lists, strict=True):
        data = r.json()["result"]
        assert {item["user_id"] for item in data["created"] + data["existing"]} == set(names)
    assert Enrollment.objects.count() == CourseTrack.objects.count() == len(created)
    assert set(CourseTrack.objects.values_list("no_of_lessons", flat=True)) == {2}
