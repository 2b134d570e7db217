"""Admin pages keep a constant number of queries in the number of rows: each page is measured
with one row and with 100, as a tenant's author (not a superuser, so the membership lookup
that scopes every page is counted too)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from courses.models import Module
from lms.models import TenantMembership
from tests.factories import LessonFactory, ModuleFactory, PlacementFactory, build_course
from tests.lms.admin_world import PASSWORD, logged_in, staff_member
from tests.tracking.helpers import enroll, lessons_of
from tracking.services import lesson_attempt_start, lesson_completion_record

pytestmark = pytest.mark.django_db

LISTS = [
    "admin:courses_course_changelist",
    "admin:courses_module_changelist",
    "admin:courses_lesson_changelist",
    "admin:enrollment_enrollment_changelist",
    "admin:tracking_coursetrack_changelist",
    "admin:tracking_lessonattempt_changelist",
    "admin:tracking_issuedcertificate_changelist",
]

# Every page starts with five: session, user, the user's and their groups' model permissions,
# and the memberships that scope the page (one per request, kept on it).
LIST_QUERIES = {
    # ... count, full count, courses with their module/lesson/enrollment/category counters
    # (subqueries), the category filter's choices (the user's tenants' categories), the date
    # hierarchy's range and its years.
    "admin:courses_course_changelist": 11,
    # ... the course filter's choices (the user's tenants' courses), count, full count, modules
    # with their course and lesson counter.
    "admin:courses_module_changelist": 9,
    # ... count, full count, lessons with media and placement counter, the format filter's values,
    # the category filter's choices.
    "admin:courses_lesson_changelist": 10,
    # ... the course filter's choices, count, full count, enrollments with course, the page's
    # learners from the directory (one read, lms/admin_people.py), the date hierarchy's range and years.
    "admin:enrollment_enrollment_changelist": 12,
    # Progress pages: ... the course filter's choices, the page's count (no full count on these
    # large tables), the rows with their course (and lesson), the page's learners from the
    # directory, the date hierarchy's range and years.
    "admin:tracking_coursetrack_changelist": 11,
    "admin:tracking_lessonattempt_changelist": 11,
    "admin:tracking_issuedcertificate_changelist": 11,
}


def _queries(client, url) -> int:
    client.get(url)  # warm: content types are cached per process after the first page
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured.captured_queries)


def _learners_with_progress(course, count: int) -> None:
    lesson = lessons_of(course)[0]
    for _ in range(count):
        enrollment = enroll(course)
        lesson_attempt_start(tenant_id=course.tenant_id, user_id=enrollment.user_id, lesson_id=lesson.id)
        lesson_completion_record(
            tenant_id=course.tenant_id, user_id=enrollment.user_id, course_id=course.id, batch_id=course.id,
            lesson_id=lesson.id,
        )


def _grow(tenant, count: int) -> None:
    for _ in range(count):
        build_course(tenant=tenant, modules=1, lessons_per_module=1, certificate_term="COMPLETE_ALL")
    course = build_course(tenant=tenant, modules=1, lessons_per_module=1, certificate_term="COMPLETE_ALL")
    _learners_with_progress(course, count)


@pytest.fixture
def author_client(tenant):
    return logged_in(staff_member("author", (tenant, TenantMembership.Role.ADMIN)))


def test_change_lists_are_constant_in_the_number_of_rows(author_client, tenant, django_assert_max_num_queries):
    # A superuser's lists add the tenant column and filter: constant too.
    root = get_user_model().objects.create_superuser("root", "root@example.invalid", PASSWORD)
    clients = {"author": author_client, "superuser": logged_in(root)}
    _grow(tenant, 1)
    small = {(who, name): _queries(client, reverse(name)) for who, client in clients.items() for name in LISTS}
    _grow(tenant, 99)
    large = {(who, name): _queries(client, reverse(name)) for who, client in clients.items() for name in LISTS}
    assert large == small
    for name in LISTS:
        with django_assert_max_num_queries(LIST_QUERIES[name]):
            author_client.get(reverse(name))


def _course_page_queries(client, course) -> int:
    return _queries(client, reverse("admin:courses_course_change", args=[course.pk]))


def test_the_course_module_and_lesson_pages_are_constant_in_their_rows(
    author_client, tenant, django_assert_max_num_queries
):
    course = build_course(tenant=tenant, modules=1, lessons_per_module=1)
    module = Module.objects.get(course=course)
    lesson = lessons_of(course)[0]
    prerequisite = LessonFactory(tenant=tenant)
    lesson.eligibility_criteria = [str(prerequisite.pk)]
    lesson.save(update_fields=["eligibility_criteria"])
    pages = [
        reverse("admin:courses_course_change", args=[course.pk]),
        reverse("admin:courses_module_change", args=[module.pk]),
        reverse("admin:courses_lesson_change", args=[lesson.pk]),
    ]
    small = [_queries(author_client, url) for url in pages]
    for _ in range(99):
        other = ModuleFactory(course=course, tenant=tenant)  # 100 modules in the course's inline
        PlacementFactory(module=module, course=course, tenant=tenant)  # 100 lessons in the module's inline
        PlacementFactory(module=other, course=course, tenant=tenant, lesson=lesson)  # the lesson in 100 modules
        extra = LessonFactory(tenant=tenant)
        lesson.eligibility_criteria.append(str(extra.pk))  # 100 prerequisites
    lesson.save(update_fields=["eligibility_criteria"])
    large = [_queries(author_client, url) for url in pages]
    assert large == small
    # Course page: the five, course, its tenant (shown read-only), modules with lesson counters,
    # the category chooser's choices (the tenant's categories) and the course's chosen ones.
    with django_assert_max_num_queries(10):
        author_client.get(pages[0])
    # Module page: the five, module, its course, placements with lessons and modules, the lessons
    # offered to new rows (count and rows, read once for all rows), the blank row's lessons.
    with django_assert_max_num_queries(11):
        author_client.get(pages[1])
    # Lesson page: the five, lesson, whether it is placed, placements with course, module and
    # lesson, its tenant, the prerequisites shown by title, the category chooser's choices and the
    # lesson's chosen ones.
    with django_assert_max_num_queries(12):
        author_client.get(pages[2])
