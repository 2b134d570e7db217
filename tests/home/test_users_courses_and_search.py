"""GET /enrollments/users-courses (the learner's home screen) and GET /courses/search (DECISIONS §11)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from courses import services as course_services
from courses.models import Category
from tests.factories import CourseFactory, build_course
from tests.tracking.helpers import enroll, err, lessons_of, result, start_and_complete
from tracking.models import CourseTrack

HOME = "/enrollments/users-courses"
SEARCH = "/courses/search"


def category(tenant, slug):
    return Category.objects.create(tenant=tenant, name=slug.title(), slug=slug)


def home_of(client, **params):
    response = client.get(HOME, params)
    assert response.status_code == 200, response.json()
    return result(response)


def search(client, **params):
    response = client.get(SEARCH, params)
    assert response.status_code == 200, response.json()
    return result(response)


class TestHomeScreen:
    def test_each_enrolled_course_carries_its_progress(self, tenant, learner_client):
        course = build_course(tenant=tenant, modules=2, lessons_per_module=2)
        enrollment = enroll(course, learner_client.user_id)
        first, second, third, _ = lessons_of(course)
        third.eligibility_criteria = [str(second.id)]
        third.save(update_fields=["eligibility_criteria"])
        start_and_complete(learner_client, first)
        start_and_complete(learner_client, second)

        home = home_of(learner_client, hasEnroll="true")
        assert home["count"] == 1
        item = home["courses"][0]
        assert item["courseId"] == str(course.id) and item["categoryIds"] == []
        assert (item["totalModuleCount"], item["completedModuleCount"], item["progress"]) == (2, 1, 50)
        assert item["courseTracking"]["id"] == str(CourseTrack.objects.get(enrollment=enrollment).id)
        assert item["courseTracking"]["completed_lessons"] == 2
        assert item["enrollment"]["id"] == str(enrollment.id)
        assert item["nextLesson"] == {"lessonId": str(third.id), "title": third.title, "moduleId": str(third.placements.get().module_id)}

    def test_track_and_enrollment_render_as_their_serializers_document(self, tenant, learner_client):
        from enrollment.api.serializers import EnrollmentOutputSerializer
        from tracking.api.serializers import CourseTrackSerializer

        course = build_course(tenant=tenant)
        enrollment = enroll(course, learner_client.user_id)
        start_and_complete(learner_client, lessons_of(course)[0])
        item = home_of(learner_client, hasEnroll="true")["courses"][0]
        enrollment.refresh_from_db()
        assert item["enrollment"] == EnrollmentOutputSerializer(enrollment).data
        assert item["courseTracking"] == CourseTrackSerializer(CourseTrack.objects.get(enrollment=enrollment)).data

    def test_next_lesson_skips_lessons_whose_prerequisites_are_not_met(self, tenant, learner_client):
        course = build_course(tenant=tenant, modules=1, lessons_per_module=3)
        enroll(course, learner_client.user_id)
        first, second, third = lessons_of(course)
        first.eligibility_criteria = [str(third.id)]
        first.save(update_fields=["eligibility_criteria"])
        assert home_of(learner_client, hasEnroll="true")["courses"][0]["nextLesson"]["lessonId"] == str(second.id)
        for lesson in (second, third, first):
            start_and_complete(learner_client, lesson)
        item = home_of(learner_client, hasEnroll="true")["courses"][0]
        assert item["nextLesson"] is None and item["progress"] == 100

    def test_latest_accessed_first_and_discover_lists_the_rest(self, tenant, learner_client):
        older, newer, never = (build_course(tenant=tenant, modules=1, lessons_per_module=1) for _ in range(3))
        for course in (older, newer, never):
            enroll(course, learner_client.user_id)
        outside = CourseFactory(tenant=tenant)
        CourseFactory(tenant=tenant, status="unpublished")
        start_and_complete(learner_client, lessons_of(older)[0])
        start_and_complete(learner_client, lessons_of(newer)[0])
        CourseTrack.objects.filter(course=older).update(last_accessed_date=timezone.now() - dt.timedelta(days=2))
        ids = [item["courseId"] for item in home_of(learner_client, hasEnroll="true")["courses"]]
        assert ids == [str(newer.id), str(older.id), str(never.id)]
        discover = home_of(learner_client, hasEnroll="false")
        assert [item["courseId"] for item in discover["courses"]] == [str(outside.id)]
        assert "nextLesson" not in discover["courses"][0] and discover["courses"][0]["totalModuleCount"] == 0

    def test_category_filter(self, tenant, learner_client):
        data = category(tenant, "data")
        tagged, plain = build_course(tenant=tenant), build_course(tenant=tenant)
        course_services.categories_assign(instance=tagged, category_ids=[data.id])
        for course in (tagged, plain):
            enroll(course, learner_client.user_id)
        listed = home_of(learner_client, hasEnroll="true", categoryIds=str(data.id))
        assert [item["courseId"] for item in listed["courses"]] == [str(tagged.id)]
        assert listed["courses"][0]["categoryIds"] == [str(data.id)]

    def test_access_and_bad_input(self, tenant, learner_client, admin_client, other_tenant, client_for):
        course = build_course(tenant=tenant)
        enroll(course, learner_client.user_id)
        assert learner_client.get(HOME, {"userId": str(uuid.uuid4())}).status_code == 403
        bad = learner_client.get(HOME, {"hasEnroll": "maybe"})
        assert bad.status_code == 400 and "true or false" in str(bad.json()["result"])
        unknown = learner_client.get(HOME, {"hasEnroll": "true", "categoryIds": str(uuid.uuid4())})
        assert (unknown.status_code, err(unknown)) == (400, "ERR_UNKNOWN_CATEGORY")
        staff = admin_client.get(HOME, {"userId": str(learner_client.user_id), "hasEnroll": "true"})
        assert result(staff)["count"] == 1
        other = client_for(other_tenant, "admin").get(HOME, {"userId": str(learner_client.user_id), "hasEnroll": "true"})
        assert result(other)["count"] == 0
        foreign = category(other_tenant, "foreign")
        assert learner_client.get(HOME, {"categoryId": str(foreign.id)}).status_code == 400

    def test_query_count_is_constant_per_page(self, tenant, learner_client, django_assert_max_num_queries):
        def grow(n):
            for _ in range(n):
                course = build_course(tenant=tenant, modules=3, lessons_per_module=3)
                enroll(course, learner_client.user_id)
                start_and_complete(learner_client, lessons_of(course)[0])

        grow(2)
        # count; the page of courses; enrolments with tracks and tenant (its carry-forward setting);
        # published modules (their count is totalModuleCount); required placements; consumption rows
        with django_assert_max_num_queries(6):
            assert len(home_of(learner_client, hasEnroll="true", limit=50)["courses"]) == 2
        grow(18)
        with django_assert_max_num_queries(6):  # the same for ten times the courses on the page
            assert len(home_of(learner_client, hasEnroll="true", limit=50)["courses"]) == 20


class TestSearch:
    def test_words_in_title_or_description(self, tenant, learner_client):
        python = CourseFactory(tenant=tenant, title="Python for data analysis", description="pandas and numpy")
        CourseFactory(tenant=tenant, title="Cooking", description="Knife skills")
        CourseFactory(tenant=tenant, title="Python drafts", status="unpublished")
        assert [c["courseId"] for c in search(learner_client, q="python")["courses"]] == [str(python.id)]
        assert [c["courseId"] for c in search(learner_client, q="numpy python")["courses"]] == [str(python.id)]
        assert search(learner_client, q="python cooking")["count"] == 0

    def test_has_enroll_splits_mine_from_discover(self, tenant, learner_client):
        mine, theirs = CourseFactory(tenant=tenant, title="A"), CourseFactory(tenant=tenant, title="B")
        enroll(mine, learner_client.user_id)
        user = str(learner_client.user_id)
        assert [c["courseId"] for c in search(learner_client, hasEnroll="true", userId=user)["courses"]] == [str(mine.id)]
        assert [c["courseId"] for c in search(learner_client, hasEnroll="false", userId=user)["courses"]] == [str(theirs.id)]

    def test_filters(self, tenant, learner_client):
        data = category(tenant, "data")
        featured = CourseFactory(tenant=tenant, featured=True, free=False)
        CourseFactory(tenant=tenant)
        course_services.categories_assign(instance=featured, category_ids=[data.id])
        assert search(learner_client, featured="true")["courses"][0]["courseId"] == str(featured.id)
        assert search(learner_client, free="false")["count"] == 1
        assert search(learner_client, categoryIds=f"{data.id},{data.id}")["count"] == 1

    def test_bad_input_and_access(self, tenant, learner_client, admin_client, other_admin_client):
        CourseFactory(tenant=tenant)
        missing = learner_client.get(SEARCH, {"hasEnroll": "true"})
        assert (missing.status_code, err(missing)) == (400, "MANDATORY_PARAMETER_MISSING")
        assert learner_client.get(SEARCH, {"hasEnroll": "yes please", "userId": str(learner_client.user_id)}).status_code == 400
        assert learner_client.get(SEARCH, {"hasEnroll": "true", "userId": str(uuid.uuid4())}).status_code == 403
        assert learner_client.get(SEARCH, {"categoryIds": "nope"}).status_code == 400
        assert admin_client.get(SEARCH, {"hasEnroll": "false", "userId": str(uuid.uuid4())}).status_code == 200
        assert result(other_admin_client.get(SEARCH))["count"] == 0

    def test_query_count_is_constant(self, tenant, learner_client, django_assert_max_num_queries):
        for n in range(3):
            CourseFactory(tenant=tenant, title=f"Python {n}")
        search(learner_client)  # the tenant is known to the process from here on
        with django_assert_max_num_queries(2):  # count; the page
            search(learner_client, q="python")
        for n in range(30):
            CourseFactory(tenant=tenant, title=f"Python more {n}")
        with django_assert_max_num_queries(2):  # the same for ten times the courses
            assert search(learner_client, q="python")["count"] == 33


@pytest.mark.postgres
def test_postgresql_search_is_full_text_through_the_gin_index(tenant, learner_client):
    from django.db import connection

    from courses.models import Course
    from courses.selectors import course_text_match

    python = CourseFactory(tenant=tenant, title="Python courses", description="Analysing data")
    CourseFactory(tenant=tenant, title="Cooking")
    # Stemmed: "course" finds "courses", "analysed" finds "Analysing".
    assert [c["courseId"] for c in search(learner_client, q="course analysed")["courses"]] == [str(python.id)]
    # The search's own text condition, alone, so that the GIN index is the only index that fits it.
    matching = course_text_match(Course.objects.all(), "python").values("id")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table: make the planner show the index it can use
    assert "course_search_gin" in matching.explain()
