"""The jobs on Celery: queued after the commit, safe to repeat, and a broker that is down never fails
the request that wanted the work."""

from __future__ import annotations

import logging
import threading
import time
import uuid

import pytest
from celery.app.task import Task
from django.core import mail
from django.db import transaction
from kombu.exceptions import OperationalError

from enrollment import tasks as enrollment_tasks
from lms.celery import send_task
from lms.events import tasks as event_tasks
from lms.events.models import Event
from lms.events.services import event_record
from tests.factories import build_course
from viewer import tasks as viewer_tasks
from viewer.models import OutboxEvent, Program, ProgramCourse

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_down(monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(Task, "apply_async", refuse)


def test_a_broker_that_is_down_is_logged_and_the_request_succeeds(
    broker_down, admin_client, tenant, caplog, django_capture_on_commit_callbacks
):
    course = build_course(tenant=tenant, modules=1, lessons_per_module=1)

    with caplog.at_level(logging.WARNING, logger="lms.tasks"), django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/enrollments", {"course_id": str(course.id), "user_id": str(uuid.uuid4())},
                                     format="json")

    assert response.status_code == 201
    assert "Could not queue task lms.events.relay" in caplog.text and "sweep" in caplog.text
    assert Event.objects.filter(relayed_at__isnull=True).count() == 1  # waiting for the sweep


@pytest.fixture
def not_eager():
    from lms.celery import app

    app.conf.task_always_eager = False
    try:
        yield
    finally:
        app.conf.task_always_eager = True


@pytest.mark.django_db(transaction=True)
def test_the_relay_kick_never_holds_up_the_request_and_waiting_kicks_merge(not_eager, monkeypatch, tenant):
    """The kick goes to the process's publisher thread: a broker that takes seconds (the first
    publish of a process, or one that is down) costs the request nothing. A kick still waiting
    covers later ones, since the relay it starts sees every event committed before it."""
    from lms import celery as lms_celery

    entered, release, sent = threading.Event(), threading.Event(), []

    def slow_broker(name, *args, **options):
        entered.set()
        release.wait(timeout=10)
        sent.append(name)
        return True

    monkeypatch.setattr(lms_celery, "send_task", slow_broker)
    monkeypatch.setattr(lms_celery, "_connect", lambda: None)
    monkeypatch.setattr(lms_celery, "_publisher", lms_celery._Publisher())

    for number in range(4):
        with transaction.atomic():  # the kick is handed over as this commits
            event_record(tenant_id=tenant.id, type="enrollment.created", data={"enrollmentId": f"e{number}"})
        if number == 0:
            assert entered.wait(timeout=10)  # the thread is publishing the first kick

    # Four commits, none waited for the broker: a publish that blocked a commit would have
    # returned only after `release` (or its timeout) and recorded its send by now.
    assert sent == []
    release.set()
    deadline = time.monotonic() + 10
    while len(sent) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)
    # The first kick, then one for the three that came while it was being published.
    assert sent == ["lms.events.relay", "lms.events.relay"]
    assert Event.objects.filter(relayed_at__isnull=True).count() == 4  # all in the outbox for the relay


@pytest.mark.django_db(transaction=True)
def test_the_kicks_of_commits_within_the_gather_window_are_published_once(not_eager, monkeypatch, tenant, settings):
    """A publish costs the process about a millisecond of CPU, so a kick waits
    LMS_TASK_KICK_GATHER_SECONDS and covers every commit in that window (issue 15: one publish per
    completing request). A commit after the publish kicks again: the relay may have run before it."""
    from lms import celery as lms_celery

    settings.LMS_TASK_KICK_GATHER_SECONDS = 2.0  # wide: the five commits must fall inside it on a busy machine
    sent = []
    monkeypatch.setattr(lms_celery, "send_task", lambda name, *args, **options: sent.append(name) or True)
    monkeypatch.setattr(lms_celery, "_connect", lambda: None)
    monkeypatch.setattr(lms_celery, "_publisher", lms_celery._Publisher())

    def commit_an_event(number):
        with transaction.atomic():
            event_record(tenant_id=tenant.id, type="enrollment.created", data={"enrollmentId": f"e{number}"})

    def sent_reaches(count):
        deadline = time.monotonic() + 10
        while len(sent) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)

    for number in range(5):
        commit_an_event(number)
        time.sleep(0.02)  # time enough for a publisher that does not wait to send each kick on its own
    sent_reaches(1)
    assert sent == ["lms.events.relay"]

    commit_an_event(5)
    sent_reaches(2)
    assert sent == ["lms.events.relay", "lms.events.relay"]
    assert Event.objects.filter(relayed_at__isnull=True).count() == 6


def test_send_task_says_whether_the_broker_took_it(broker_down):
    assert send_task("lms.events.sweep") is False


def test_a_program_enrolment_runs_its_job_on_a_worker_after_the_commit(
    admin_client, tenant, django_capture_on_commit_callbacks
):
    course = build_course(tenant=tenant, modules=1, lessons_per_module=1)
    program = Program.objects.create(tenant=tenant, identifier="p", name="P")
    ProgramCourse.objects.create(program=program, course=course, ordering=1)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/v1/program/enrol", {"request": {"programId": str(program.id), "userId": str(uuid.uuid4())}},
            format="json",
        )

    assert response.status_code == 200
    assert OutboxEvent.objects.get().status == "done"
    assert viewer_tasks.program_enrolment_run() == {"done": 0, "retried": 0, "failed": 0}  # again: nothing


def test_the_daily_reminders_task_runs_the_command_once_per_mail(tenant):
    import datetime as dt

    from django.utils import timezone

    from tests.tracking.helpers import enroll

    course = build_course(tenant=tenant, modules=1, lessons_per_module=1,
                          end_datetime=timezone.now() + dt.timedelta(days=2))
    enroll(course)

    enrollment_tasks.send_expiry_reminders()
    enrollment_tasks.send_expiry_reminders()

    assert len(mail.outbox) == 1


def test_the_prune_task_uses_the_configured_retention(tenant, settings):
    settings.LMS_EVENTS_RETENTION_DAYS = 0
    Event.objects.create(tenant=tenant, type="webhook.test", data={}, created_at="2026-01-01T00:00:00Z",
                         relayed_at="2026-01-01T00:00:00Z")

    assert event_tasks.prune() == 1
