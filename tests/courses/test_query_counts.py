"""Every catalogue read runs a fixed number of queries, whatever the amount of content.

Each test measures the same request on a small and a large dataset. Clients are warmed up first
so the tenant lookup (cached per process) is not counted.
"""

from __future__ import annotations

import pytest

from courses.models import ContentStatus, Media
from tests.factories import CourseFactory, LessonFactory, PlacementFactory, build_course


def _give_media(tenant):
    # Media on every lesson, so a per-row media lookup would show up in the counts.
    from courses.models import Lesson

    for lesson in Lesson.objects.filter(tenant=tenant, media__isnull=True):
        lesson.media = Media.objects.create(tenant=tenant, format="video", source="https://x")
        lesson.save(update_fields=["media"])


@pytest.mark.parametrize("size", [2, 20])
@pytest.mark.parametrize("role_client", ["admin_client", "learner_client"])
def test_course_details_is_four_queries_at_any_size(request, tenant, warm, django_assert_num_queries, size, role_client):
    client = request.getfixturevalue(role_client)
    course = build_course(tenant=tenant, modules=size, lessons_per_module=size)
    _give_media(tenant)
    warm(client)
    # Rendering the tree (no cache holds it yet). The narrow version read is what every cached read
    # and 304 costs; the row read again in full only on this rare path.
    with django_assert_num_queries(4):  # course version; course row; its modules; placements with lessons and media
        response = client.get(f"/courses/details/{course.pk}")
    assert response.status_code == 200
    modules = response.json()["result"]["modules"]
    assert len(modules) == size and all(len(module["lessons"]) == size for module in modules)


@pytest.mark.parametrize("size", [3, 30])
def test_course_list_is_two_queries(admin_client, tenant, warm, django_assert_num_queries, size):
    CourseFactory.create_batch(size, tenant=tenant)
    warm(admin_client)
    with django_assert_num_queries(2):  # count; the page of courses
        response = admin_client.get("/courses", {"limit": 100, "featured": "false"})
    assert len(response.json()["result"]["courses"]) == size


@pytest.mark.parametrize("size", [2, 20])
def test_single_course_and_module_reads_are_one_query(admin_client, tenant, warm, django_assert_num_queries, size):
    course = build_course(tenant=tenant, modules=size, lessons_per_module=2)
    module = course.modules.first()
    warm(admin_client)
    with django_assert_num_queries(2):  # the course's version (visibility, cache key); its row, to render
        assert admin_client.get(f"/courses/{course.pk}").status_code == 200
    with django_assert_num_queries(1):  # the course's version: the rendered course comes from the cache
        assert admin_client.get(f"/courses/{course.pk}").status_code == 200
    with django_assert_num_queries(1):  # the module row (joined with its course for visibility)
        assert admin_client.get(f"/modules/{module.pk}").status_code == 200


@pytest.mark.parametrize("size", [2, 20])
def test_modules_by_course_is_three_queries(learner_client, tenant, warm, django_assert_num_queries, size):
    course = build_course(tenant=tenant, modules=size, lessons_per_module=1)
    warm(learner_client)
    with django_assert_num_queries(3):  # the course (visibility); count; the page of modules
        response = learner_client.get(f"/modules/course/{course.pk}", {"limit": 100})
    assert len(response.json()["result"]) == size


@pytest.mark.parametrize("size", [3, 30])
def test_lesson_list_is_three_queries(admin_client, tenant, warm, django_assert_num_queries, size):
    course = build_course(tenant=tenant, modules=1, lessons_per_module=size)
    LessonFactory.create_batch(size, tenant=tenant, in_lib=True)
    _give_media(tenant)
    warm(admin_client)
    with django_assert_num_queries(3):  # count; the page of lessons with media; their placements
        response = admin_client.get("/lessons", {"limit": 100})
    assert len(response.json()["result"]) == 2 * size and response["X-Total-Count"] == str(2 * size)
    with django_assert_num_queries(3):  # the same, filtered to a course
        response = admin_client.get("/lessons", {"limit": 100, "courseId": str(course.pk)})
    assert len(response.json()["result"]) == size and response["X-Total-Count"] == str(size)


@pytest.mark.parametrize("size", [2, 20])
def test_lessons_by_module_and_course_are_three_queries(learner_client, tenant, warm, django_assert_num_queries, size):
    course = build_course(tenant=tenant, modules=2, lessons_per_module=size)
    _give_media(tenant)
    module = course.modules.first()
    warm(learner_client)
    with django_assert_num_queries(3):  # the module (visibility); count; placements with lessons and media
        response = learner_client.get(f"/lessons/module/{module.pk}", {"limit": 100})
    assert len(response.json()["result"]) == size
    with django_assert_num_queries(3):  # the course (visibility); count; placements with lessons and media
        response = learner_client.get(f"/lessons/course/{course.pk}", {"limit": 100})
    assert len(response.json()["result"]) == 2 * size


@pytest.mark.parametrize("size", [1, 10])
def test_lesson_detail_is_two_queries(admin_client, tenant, warm, django_assert_num_queries, size):
    lesson = LessonFactory(tenant=tenant, status=ContentStatus.PUBLISHED)
    for _ in range(size):
        PlacementFactory(tenant=tenant, lesson=lesson, module__course__tenant=tenant, module__tenant=tenant)
    warm(admin_client)
    with django_assert_num_queries(2):  # the lesson with its media; its placements
        response = admin_client.get(f"/lessons/{lesson.pk}")
    assert len(response.json()["result"]["placements"]) == size


def test_cached_course_details_is_one_query(admin_client, tenant, warm, django_assert_num_queries):
    course = build_course(tenant=tenant, modules=3, lessons_per_module=3)
    warm(admin_client)
    first = admin_client.get(f"/courses/details/{course.pk}").json()["result"]
    with django_assert_num_queries(1):  # the course's version (its content_version keys the rendered tree)
        again = admin_client.get(f"/courses/details/{course.pk}").json()["result"]
    assert again == first
