"""What operators meet: gunicorn's control socket, the admin's and commands' messages, the cache."""

from __future__ import annotations

import io
import os
import runpy
import stat
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.core.management import call_command
from gunicorn.config import Config

from courses.models import Course, LessonPlacement, Module
from enrollment.models import Enrollment
from tests.factories import CourseFactory
from tests.live import start_live_gunicorn
from tracking.models import ContentConsumption, IssuedCertificate, LessonAttempt

GUNICORN_CONF = Path(__file__).resolve().parents[2] / "lms" / "gunicorn.conf.py"
PASSWORD = "a-long-admin-password"


def _gunicorn_settings(monkeypatch, **env) -> dict:
    """The settings gunicorn takes from lms/gunicorn.conf.py under the given environment."""
    monkeypatch.delenv("GUNICORN_CONTROL_SOCKET", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    known = Config().settings
    return {key: value for key, value in runpy.run_path(str(GUNICORN_CONF)).items() if key in known}


def test_gunicorn_opens_no_control_socket_by_default(monkeypatch):
    conf = _gunicorn_settings(monkeypatch)

    assert conf["control_socket_disable"] is True
    assert "control_socket" not in conf


def test_gunicorn_takes_a_control_socket_of_its_own_when_named(monkeypatch, tmp_path):
    conf = _gunicorn_settings(monkeypatch, GUNICORN_CONTROL_SOCKET=str(tmp_path / "lms-a.ctl"))

    assert conf["control_socket"] == str(tmp_path / "lms-a.ctl")
    assert "control_socket_disable" not in conf


@pytest.mark.live
@pytest.mark.django_db
def test_a_live_gunicorn_opens_the_named_control_socket(django_db_blocker, tmp_path):
    socket_path = tmp_path / "lms-a.ctl"
    server = start_live_gunicorn(tmp_path / "server", django_db_blocker, env={"GUNICORN_CONTROL_SOCKET": str(socket_path)})
    try:
        assert server.request("GET", "/health").status == 200
        assert stat.S_ISSOCK(os.stat(socket_path).st_mode)
        assert not (server.home / ".gunicorn").exists()
    finally:
        server.stop()


@pytest.fixture
def admin_session(client, db):
    get_user_model().objects.create_superuser("root", "root@example.invalid", PASSWORD)
    assert client.login(username="root", password=PASSWORD)
    return client


def _duplicate(client, courses) -> list[str]:
    response = client.post(
        "/admin/courses/course/",
        {"action": "duplicate", "_selected_action": [str(c.pk) for c in courses], "index": "0"},
    )
    assert response.status_code == 302
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_the_duplicate_action_says_1_course_in_the_singular(admin_session, tenant):
    assert _duplicate(admin_session, [CourseFactory(tenant=tenant)]) == ["Duplicated 1 course."]


def test_the_duplicate_action_says_2_courses_in_the_plural(admin_session, tenant):
    courses = [CourseFactory(tenant=tenant), CourseFactory(tenant=tenant)]

    assert _duplicate(admin_session, courses) == ["Duplicated 2 courses."]
    assert Course.objects.filter(tenant=tenant).count() == 4


@pytest.mark.django_db
def test_seed_demo_counts_courses_in_words(settings, monkeypatch):
    settings.LMS_DEFAULT_TENANT = ""
    settings.PRODUCTION = False
    monkeypatch.delenv("LMS_DEMO_ADMIN_PASSWORD", raising=False)

    first = io.StringIO()
    call_command("seed_demo", stdout=first)
    assert "2 courses created, 0 existed" in first.getvalue()
    course = Course.objects.order_by("created_at").last()
    # seed_demo also leaves demo learners' progress in the course (issue 13): it goes first.
    IssuedCertificate.objects.filter(course=course).delete()
    LessonAttempt.objects.filter(course=course).delete()
    Enrollment.objects.filter(course=course).delete()  # and their course tracks
    ContentConsumption.objects.filter(collection_id=course.id).delete()
    LessonPlacement.objects.filter(course=course).delete()
    Module.objects.filter(course=course).delete()
    course.delete()
    again = io.StringIO()
    call_command("seed_demo", stdout=again)
    assert "1 course created, 1 existed" in again.getvalue()
