"""Concurrent viewer writes and updater runs on PostgreSQL (real row locks, real threads)."""

from __future__ import annotations

import random
import threading
import uuid

import pytest
from django.db import connection

from lms.celery import app as celery_app
from tests.conftest import make_client
from tests.factories import build_course
from tests.viewer.conftest import enrol, lesson_ids, wrapped
from tracking.models import ContentConsumption, CourseTrack, CourseTrackStatus, IssuedCertificate
from viewer.models import OutboxEvent, Program, ProgramCourse
from viewer.services import enrolment_updater_run, program_enrol

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _run_threads(count, target) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def worker(index):
        try:
            barrier.wait()
            target(index)
        except BaseException as error:  # noqa: BLE001 -- reported by the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def test_ten_threads_viewing_one_lesson_complete_it_once(tenant):
    course = build_course(tenant=tenant, modules=1, lessons_per_module=1, certificate_term="COMPLETE_ALL")
    user_id = uuid.uuid4()
    enrolment = enrol(course, user_id)
    lesson = lesson_ids(course)[0]
    statuses: list[int] = []

    def view(index):
        client = make_client(tenant_id=tenant.id, roles=["learner"], user_id=user_id)
        context = {"contentId": lesson, "collectionId": course.id}
        for path, extra in (
            ("/v1/view/start", {}),
            ("/v1/view/update", {"progress": random.randint(0, 100)}),
            ("/v1/view/end", {}),
        ):
            statuses.append(client.post(path, wrapped(**context, **extra), format="json").status_code)

    errors = _run_threads(10, view)

    assert errors == []
    assert statuses == [200] * 30
    row = ContentConsumption.objects.get(user_id=user_id)
    assert (row.status, row.progress, row.view_count) == (2, 100, 10)
    track = CourseTrack.objects.get(enrollment=enrolment)
    assert (track.completed_lessons, track.status) == (1, CourseTrackStatus.COMPLETED)
    assert IssuedCertificate.objects.filter(track=track).count() == 1


@pytest.fixture
def no_worker():
    """Each program enrolment queues the job on a worker after its commit; here no worker takes it
    (the suite would run it in place), so that the runs of the test find the rows pending."""
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = True


def test_two_updater_runs_at_once_process_each_event_once(tenant, no_worker):
    course = build_course(tenant=tenant, modules=1, lessons_per_module=1)
    program = Program.objects.create(tenant=tenant, identifier="p", name="P")
    ProgramCourse.objects.create(program=program, course=course, ordering=1)
    for _ in range(12):
        user_id = uuid.uuid4()
        program_enrol(tenant_id=tenant.id, program=program, user_id=user_id, enrolled_by=user_id, by_staff=True)
    runs = []

    errors = _run_threads(2, lambda index: runs.append(enrolment_updater_run(batch_size=2)))

    assert errors == []
    assert sum(run.done for run in runs) == 12
    assert set(OutboxEvent.objects.values_list("status", "attempts")) == {("done", 1)}
