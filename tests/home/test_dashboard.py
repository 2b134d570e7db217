"""GET /enrollments/dashboard (DECISIONS §11): counts over the learner's active enrolments."""

from __future__ import annotations

import datetime as dt
import uuid

from django.utils import timezone

from courses import services as course_services
from courses.models import Category
from enrollment.models import Enrollment
from tests.factories import build_course
from tests.tracking.helpers import enroll, lessons_of, result, start, start_and_complete

DASHBOARD = "/enrollments/dashboard"


def test_counts(tenant, learner_client, django_assert_max_num_queries):
    me = learner_client.user_id
    data = Category.objects.create(tenant=tenant, name="Data", slug="data", ordering=1)
    done, going, assigned, late, inactive = (
        build_course(tenant=tenant, modules=1, lessons_per_module=1, certificate_term="COMPLETE_ALL") for _ in range(5)
    )
    for course in (done, going):
        course_services.categories_assign(instance=course, category_ids=[data.id])
    for course in (done, going, late):
        enroll(course, me)
    enroll(assigned, me).__class__.objects.filter(course=assigned).update(enrolled_by=uuid.uuid4())
    Enrollment.objects.filter(course=late).update(end_time=timezone.now() - dt.timedelta(days=1))
    enroll(inactive, me)
    Enrollment.objects.filter(course=inactive).update(active=False)
    start_and_complete(learner_client, lessons_of(done)[0])
    start(learner_client, lessons_of(going)[0])

    learner_client.get(DASHBOARD)  # the tenant is known to the process from here on
    with django_assert_max_num_queries(3):  # the counts; the certificates; the categories
        board = result(learner_client.get(DASHBOARD))
    assert board == {
        "enrolled": 4, "notStarted": 2, "inProgress": 1, "completed": 1, "certificates": 1, "assignedDue": 1,
        "overdue": 1, "byCategory": [{"categoryId": str(data.id), "name": "Data", "enrolled": 2, "completed": 1}],
    }


def test_access(tenant, learner_client, admin_client, other_admin_client):
    course = build_course(tenant=tenant)
    enroll(course, learner_client.user_id)
    assert learner_client.get(DASHBOARD, {"userId": str(uuid.uuid4())}).status_code == 403
    assert learner_client.get(DASHBOARD, {"userId": "1"}).status_code == 400
    assert result(admin_client.get(DASHBOARD, {"userId": str(learner_client.user_id)}))["enrolled"] == 1
    assert result(admin_client.get(DASHBOARD))["enrolled"] == 0  # the admin's own
    assert result(other_admin_client.get(DASHBOARD, {"userId": str(learner_client.user_id)}))["enrolled"] == 0
