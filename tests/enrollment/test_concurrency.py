"""Concurrent enrollments and reminder runs on PostgreSQL, with real threads and connections."""

from __future__ import annotations

import datetime as dt
import io
import threading
import uuid

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from enrollment.models import Enrollment
from enrollment.services import enrollment_hard_delete
from lms.api.errors import ConflictError
from tests.conftest import make_client
from tests.factories import build_course
from tracking.models import CourseTrack
from tracking.services import course_track_mark_started

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_in_threads(count: int, work) -> list:
    """Runs work(index) in `count` threads released together; returns each result (or exception)."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def target(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = work(index)
        except Exception as error:  # returned to the test, which asserts on it
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_ten_concurrent_enrollments_of_one_learner_make_exactly_one(tenant):
    course = build_course(tenant=tenant, modules=2, lessons_per_module=2)
    learner_id = uuid.uuid4()
    clients = [make_client(tenant_id=tenant.id, roles=["admin"]) for _ in range(10)]
    body = {"course_id": str(course.id), "user_id": str(learner_id)}

    responses = run_in_threads(10, lambda i: clients[i].post("/enrollments", body))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 9, statuses
    (created,) = [r.json()["result"]["id"] for r in responses if r.status_code == 201]
    assert {r.json()["result"]["id"] for r in responses if r.status_code == 409} == {created}
    assert list(Enrollment.objects.values_list("id", flat=True)) == [uuid.UUID(created)]
    assert CourseTrack.objects.get().no_of_lessons == 4


def test_concurrent_reminder_runs_send_each_mail_once(tenant, enroll, mailoutbox):
    course = build_course(tenant=tenant, modules=1, lessons_per_module=1)
    enrollments = [enroll(course) for _ in range(30)]
    Enrollment.objects.update(end_time=timezone.now() + dt.timedelta(days=2))

    run_in_threads(
        4, lambda i: call_command("send_expiry_reminders", "--batch-size", "3", stdout=io.StringIO(), stderr=io.StringIO())
    )

    recipients = [message.to[0] for message in mailoutbox]
    assert len(recipients) == len(set(recipients)) == len(enrollments)
    assert not Enrollment.objects.filter(before_expiry_mail=False).exists()


def test_hard_delete_racing_a_lesson_start_either_erases_or_refuses_never_deadlocks(tenant, enroll):
    # Without the delete locking the course track first, this deadlocks within a few rounds.
    course = build_course(tenant=tenant, modules=1, lessons_per_module=1)
    for _ in range(10):
        enrollment = enroll(course)

        def work(index, enrollment=enrollment):
            if index == 0:
                try:
                    enrollment_hard_delete(enrollment=enrollment)
                    return "erased"
                except ConflictError:
                    return "refused"
            with transaction.atomic():
                course_track_mark_started(
                    tenant_id=tenant.id, user_id=enrollment.user_id, course_id=course.id, batch_id=course.id
                )
            return "started"

        outcome, started = run_in_threads(2, work)

        assert started == "started", started
        remaining = Enrollment.objects.filter(pk=enrollment.pk).first()
        if outcome == "erased":
            assert remaining is None and not CourseTrack.objects.filter(enrollment_id=enrollment.pk).exists()
        else:
            assert outcome == "refused", outcome
            assert remaining.state == 1
