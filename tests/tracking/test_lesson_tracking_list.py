"""GET /lessons/tracking: filters, learner scope, tenant isolation, pagination, constant queries."""

from __future__ import annotations

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from courses.models import Media
from tests.factories import build_course
from tests.tracking.helpers import (
    GIF,
    LESSON_TRACKING,
    enroll,
    err,
    lessons_of,
    result,
    start,
    start_and_complete,
)

pytestmark = pytest.mark.django_db


def test_lists_attempts_with_the_lesson_nested(enrolled_learner, course, tenant):
    lesson = lessons_of(course)[0]
    lesson.media = Media.objects.create(tenant=tenant, format="video", source="youtube", url="https://v.example/1")
    lesson.ideal_time, lesson.passing_marks, lesson.eligibility_criteria = 45, 60, []
    lesson.save()
    attempt = start_and_complete(enrolled_learner, lesson, score=70)
    response = enrolled_learner.get(LESSON_TRACKING)
    assert response.status_code == 200 and response.json()["id"] == "api.lesson.tracking.list"
    body = result(response)
    assert body["count"] == 1
    row = body["tracking"][0]
    assert row["id"] == attempt["id"] and row["score"] == 70 and row["status"] == "completed"
    placement = course.placements.get(lesson=lesson)
    nested = row["lesson"]
    assert nested["lessonId"] == str(lesson.id) and nested["title"] == lesson.title
    assert (nested["courseId"], nested["moduleId"], nested["ordering"]) == (
        str(course.id), str(placement.module_id), placement.ordering
    )
    assert nested["mediaId"] == str(lesson.media_id) and nested["mediaContent"]["url"] == "https://v.example/1"
    assert (nested["idealTime"], nested["passingMarks"], nested["freeLesson"], nested["inLib"]) == (45, 60, False, False)
    assert nested["eligibilityCriteria"] == [] and nested["params"] == {}
    assert {"shortDesc", "image", "startDate", "endDate", "noOfAttempts", "attemptsGrade", "considerMarks",
            "format", "resume", "totalMarks", "storage", "content", "description", "status"} <= set(nested)


def test_filters(admin_client, course, tenant):
    first, second, *_ = lessons_of(course)
    learner_a, learner_b = uuid.uuid4(), uuid.uuid4()
    enroll(course, learner_a)
    enroll(course, learner_b)
    start_and_complete(admin_client, first, user_id=str(learner_a))
    start(admin_client, second, user_id=str(learner_a))
    start(admin_client, first, user_id=str(learner_b))
    other_course = build_course(tenant=tenant, modules=1, lessons_per_module=1)
    enroll(other_course, learner_b)
    start(admin_client, lessons_of(other_course)[0], user_id=str(learner_b))

    def count(**params):
        response = admin_client.get(LESSON_TRACKING, params)
        assert response.status_code == 200
        return result(response)["count"]

    assert count() == 4
    assert count(user_id=learner_a) == 2
    assert count(lesson_id=first.id) == 2
    assert count(status="completed") == 1
    assert count(status="started", user_id=learner_b) == 2
    assert count(course_id=other_course.id) == 1
    assert count(course_id=course.id, user_id=learner_b) == 1


def test_learners_see_only_their_own(enrolled_learner, course, admin_client):
    other = enroll(course).user_id
    start(admin_client, lessons_of(course)[0], user_id=str(other))
    start(enrolled_learner, lessons_of(course)[0])
    rows = result(enrolled_learner.get(LESSON_TRACKING))["tracking"]
    assert [row["user_id"] for row in rows] == [str(enrolled_learner.user_id)]
    assert result(enrolled_learner.get(LESSON_TRACKING, {"user_id": enrolled_learner.user_id}))["count"] == 1


def test_a_learner_naming_another_user_is_forbidden(enrolled_learner):
    response = enrolled_learner.get(LESSON_TRACKING, {"user_id": uuid.uuid4()})
    assert response.status_code == 403 and err(response) == "ERR_FORBIDDEN"


@pytest.mark.parametrize(
    "params, field",
    [({"lesson_id": "x"}, "lesson_id"), ({"status": "done"}, "status"), ({"page": 0}, "page"),
     ({"limit": 101}, "limit"), ({"course_id": "1"}, "course_id")],
)
def test_bad_filters_are_400(admin_client, params, field):
    response = admin_client.get(LESSON_TRACKING, params)
    assert response.status_code == 400 and field in result(response)["errors"]


def test_another_tenant_sees_nothing(enrolled_learner, course, other_admin_client):
    start(enrolled_learner, lessons_of(course)[0])
    assert result(other_admin_client.get(LESSON_TRACKING))["count"] == 0
    params = {"user_id": enrolled_learner.user_id}
    assert result(other_admin_client.get(LESSON_TRACKING, params))["count"] == 0


def test_pagination(enrolled_learner, course):
    lesson = lessons_of(course)[0]
    ids = [result(start(enrolled_learner, lesson))["id"] for _ in range(5)]
    page1 = result(enrolled_learner.get(LESSON_TRACKING, {"limit": 2, "page": 1}))
    page3 = result(enrolled_learner.get(LESSON_TRACKING, {"limit": 2, "page": 3}))
    beyond = result(enrolled_learner.get(LESSON_TRACKING, {"limit": 2, "page": 4}))
    assert page1["count"] == page3["count"] == beyond["count"] == 5
    assert len(page1["tracking"]) == 2 and len(page3["tracking"]) == 1 and beyond["tracking"] == []
    seen = [row["id"] for page in (1, 2, 3)
            for row in result(enrolled_learner.get(LESSON_TRACKING, {"limit": 2, "page": page}))["tracking"]]
    assert sorted(seen) == sorted(ids)


def test_query_count_does_not_grow_with_the_data(admin_client, tenant, django_assert_num_queries):
    def add_attempts(n_courses):
        for _ in range(n_courses):
            course = build_course(tenant=tenant, modules=1, lessons_per_module=2)
            user_id = uuid.uuid4()
            enroll(course, user_id)
            for lesson in lessons_of(course):
                start(admin_client, lesson, user_id=str(user_id))

    add_attempts(1)
    admin_client.get(LESSON_TRACKING)  # the tenant is known from here on
    with django_assert_num_queries(2):  # count; page of attempts joined to lesson and media, placement subqueries
        response = admin_client.get(LESSON_TRACKING, {"limit": 100})
    assert result(response)["count"] == 2
    add_attempts(10)
    with django_assert_num_queries(2):  # the same two queries for ten times the rows
        response = admin_client.get(LESSON_TRACKING, {"limit": 100})
    assert result(response)["count"] == 22 and len(result(response)["tracking"]) == 22


def test_lesson_image_is_an_absolute_url(enrolled_learner, course):
    lesson = lessons_of(course)[0]
    lesson.image.save("cover.gif", SimpleUploadedFile("cover.gif", GIF), save=True)
    start(enrolled_learner, lesson)
    start(enrolled_learner, lessons_of(course)[1])

    rows = result(enrolled_learner.get(LESSON_TRACKING))["tracking"]

    images = {row["lesson"]["lessonId"]: row["lesson"]["image"] for row in rows}
    assert images[str(lesson.id)].startswith("http://testserver/media/")
    assert images[str(lesson.id)].endswith(".gif")
    assert images[str(lessons_of(course)[1].id)] is None
