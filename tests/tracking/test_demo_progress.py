"""`seed_demo` leaves progress worth a dashboard in the demo courses (issue 13), once."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from courses.management.commands.seed_demo import DEMO_TENANT_ID
from courses.models import Course
from enrollment.models import Enrollment
from tracking.insight import course_report
from tracking.overview import tenant_overview_list

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _demo_settings(settings, monkeypatch):
    settings.LMS_DEFAULT_TENANT = ""
    settings.PRODUCTION = False
    monkeypatch.delenv("LMS_DEMO_ADMIN_PASSWORD", raising=False)


def test_every_demo_course_has_learners_at_every_stage_and_a_second_run_adds_none():
    call_command("seed_demo", stdout=io.StringIO())
    enrollments = Enrollment.objects.count()

    for course in Course.objects.filter(tenant_id=DEMO_TENANT_ID):
        report = course_report(tenant_id=DEMO_TENANT_ID, course_id=course.id)
        assert report.enrolled == 18
        assert all(count > 0 for count in report.by_status.values()), report.by_status
        assert report.certificates_issued > 0
        assert sum(week["enrolled"] > 0 for week in report.weekly) >= 5
        marked = [figures for figures in report.lessons if figures.lesson.consider_marks]
        assert marked and all(figures.average_best_score is not None for figures in marked)
    [overview] = tenant_overview_list(tenants=[Course.objects.first().tenant])
    assert overview.stuck_courses and overview.stuck_courses[0]["stuck"] == 3

    call_command("seed_demo", stdout=io.StringIO())
    assert Enrollment.objects.count() == enrollments
