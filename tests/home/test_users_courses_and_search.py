"""GET /enrollments/users-courses (the learner's home screen) and GET /courses/search (DECISIONS §11)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db.models import F
from django.utils import timezone

from courses import services as course_services
from courses.models import Category, Course
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

    def test_each_course_once_with_its_own_batch_enrolment_whatever_other_batches_it_has(
        self, tenant, learner_client
    ):
        # The page finds the courses and their own-batch rows from one grouped read of the user's
        # enrolments (`tracking.home._home_page_sql`'s `mine`), then those rows by id and version:
        # a course enrolled in other batches only lists without an enrolment or track; a course with
        # its own batch and others lists once, with the own batch's rows; another user's rows never show.
        from enrollment.api.serializers import EnrollmentOutputSerializer
        from tracking.api.serializers import CourseTrackSerializer

        only_other, both, own = (build_course(tenant=tenant, modules=1, lessons_per_module=2) for _ in range(3))
        user = learner_client.user_id
        enroll(only_other, user, batch_id=uuid.uuid4())
        enroll(both, user, batch_id=uuid.uuid4())
        both_own = enroll(both, user)
        enroll(both, user, batch_id=uuid.uuid4())
        own_enrollment = enroll(own, user)
        for course in (only_other, both, own):
            enroll(course, uuid.uuid4())  # someone else's, in the same batch
        start_and_complete(learner_client, lessons_of(own)[0])
        home = home_of(learner_client, hasEnroll="true")
        assert home["count"] == 3
        items = {item["courseId"]: item for item in home["courses"]}
        assert items.keys() == {str(only_other.id), str(both.id), str(own.id)}
        assert items[str(only_other.id)]["enrollment"] is None
        assert items[str(only_other.id)]["courseTracking"] is None
        for course, enrollment in ((both, both_own), (own, own_enrollment)):
            enrollment.refresh_from_db()
            assert items[str(course.id)]["enrollment"] == EnrollmentOutputSerializer(enrollment).data
            track = CourseTrack.objects.get(enrollment=enrollment)
            assert items[str(course.id)]["courseTracking"] == CourseTrackSerializer(track).data
        # The one accessed first (latest access first; never accessed last, then by title).
        assert home["courses"][0]["courseId"] == str(own.id)

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

    def test_query_count_is_constant_per_page(
        self, tenant, learner_client, django_assert_max_num_queries, django_assert_num_queries
    ):
        from django.db import connection

        def grow(n):
            for _ in range(n):
                course = build_course(tenant=tenant, modules=3, lessons_per_module=3)
                enroll(course, learner_client.user_id)
                start_and_complete(learner_client, lessons_of(course)[0])

        grow(2)
        # the page (each course's id, content version and status, with the id and version of its
        # own-batch enrolment and track, the lessons completed in that batch, the tenant's
        # carry-forward setting and the total); the enrolment rows, then the track rows, that this
        # process has not read at those versions; the course rows and outlines (published modules
        # and required placements), one statement, of the courses it has not read at their version
        with django_assert_max_num_queries(4):
            assert len(home_of(learner_client, hasEnroll="true", limit=50)["courses"]) == 2
        grow(18)
        with django_assert_max_num_queries(4):  # the same for ten times the courses on the page
            assert len(home_of(learner_client, hasEnroll="true", limit=50)["courses"]) == 20
        # The outlines are known, and so on PostgreSQL are the rows at their versions: the page alone.
        # SQLite keeps no row versions, so it reads the enrolment and track rows on every page.
        postgresql = connection.vendor == "postgresql"
        with django_assert_num_queries(1 if postgresql else 3):
            assert len(home_of(learner_client, hasEnroll="true", limit=50)["courses"]) == 20
        tenant.carry_forward = "carry"
        tenant.save(update_fields=["carry_forward"])
        with django_assert_num_queries(2 if postgresql else 4):  # carried forward: the completions anywhere too
            assert len(home_of(learner_client, hasEnroll="true", limit=50)["courses"]) == 20

    def test_locked_first_lessons_cost_no_query_of_their_own(
        self, tenant, learner_client, django_assert_max_num_queries
    ):
        expected = {}

        def grow(n):
            for _ in range(n):
                course = build_course(tenant=tenant, modules=2, lessons_per_module=2)
                enroll(course, learner_client.user_id)
                first, second, _, last = lessons_of(course)
                first.eligibility_criteria = [str(last.id)]
                first.save(update_fields=["eligibility_criteria"])
                expected[str(course.id)] = str(second.id)  # the first is locked until the last is done

        grow(2)
        home_of(learner_client)  # the tenant and the learner are known to the process from here on
        # the page with the own-batch completions (they cover the prerequisites placed in the course);
        # the enrolment and track rows not yet read at their versions; the outlines of the courses
        # not yet read at their version
        with django_assert_max_num_queries(4):
            courses = home_of(learner_client, hasEnroll="true", limit=50)["courses"]
        assert {item["courseId"]: item["nextLesson"]["lessonId"] for item in courses} == expected
        grow(8)
        with django_assert_max_num_queries(4):
            courses = home_of(learner_client, hasEnroll="true", limit=50)["courses"]
        assert {item["courseId"]: item["nextLesson"]["lessonId"] for item in courses} == expected

    def test_content_writes_reach_the_next_read_through_the_course_version(self, tenant, learner_client):
        # The outlines are cached per content version; every write through the services bumps it.
        from courses.models import ContentStatus

        course = build_course(tenant=tenant, modules=2, lessons_per_module=2)
        enroll(course, learner_client.user_id)
        first, second, third, fourth = lessons_of(course)
        start_and_complete(learner_client, first)

        def figures():
            (item,) = home_of(learner_client, hasEnroll="true")["courses"]
            next_lesson = item["nextLesson"]["lessonId"] if item["nextLesson"] else None
            return item["totalModuleCount"], item["completedModuleCount"], next_lesson

        assert figures() == (2, 0, str(second.id))
        course_services.lesson_set_status(lesson=second, status=ContentStatus.UNPUBLISHED, updated_by=None)
        assert figures() == (2, 1, str(third.id))  # the first module now holds only the completed lesson
        third.refresh_from_db()
        course_services.lesson_update(lesson=third, updated_by=None, changes={"eligibility_criteria": [str(fourth.id)]})
        assert figures() == (2, 1, str(fourth.id))  # the third is locked until the fourth is done
        course_services.module_set_status(
            module=course.modules.get(ordering=2), status=ContentStatus.UNPUBLISHED, updated_by=None
        )
        assert figures() == (1, 1, None)

    def test_course_edits_reach_the_next_page_though_its_row_is_cached_with_the_outline(
        self, tenant, learner_client, admin_client
    ):
        # The page's statement reads each course's id, version and status; the rest of the row is
        # kept with the outline at its version, which every write through the services bumps.
        from courses.models import ContentStatus

        course = build_course(tenant=tenant, modules=1, lessons_per_module=1)
        enroll(course, learner_client.user_id)
        mine = {"userId": str(learner_client.user_id), "hasEnroll": "true"}

        def shown(client=learner_client):
            return [(item["title"], item["status"], item["categoryIds"]) for item in home_of(client, **mine)["courses"]]

        assert shown() == [(course.title, "published", [])]
        data = category(tenant, "data")
        course_services.course_update(
            course=course, updated_by=None, changes={"title": "Renamed"}, category_ids=[data.id]
        )
        assert shown() == [("Renamed", "published", [str(data.id)])]
        course.refresh_from_db()
        course_services.course_set_status(course=course, status=ContentStatus.UNPUBLISHED, updated_by=None)
        assert shown() == []  # learners see published courses only
        assert shown(admin_client) == [("Renamed", "unpublished", [str(data.id)])]
        course.refresh_from_db()
        course_services.course_set_status(course=course, status=ContentStatus.PUBLISHED, updated_by=None)
        assert shown() == [("Renamed", "published", [str(data.id)])]
        # The status is read live even behind the services' back (no version bump).
        Course.objects.filter(pk=course.pk).update(status=ContentStatus.UNPUBLISHED)
        assert shown(admin_client) == [("Renamed", "unpublished", [str(data.id)])]

    def test_pages_carry_the_total_even_past_the_last_one(self, tenant, learner_client):
        for _ in range(3):
            enroll(build_course(tenant=tenant, modules=1, lessons_per_module=1), learner_client.user_id)
        second = home_of(learner_client, hasEnroll="true", limit=2, page=2)
        assert (second["count"], len(second["courses"])) == (3, 1)
        assert home_of(learner_client, hasEnroll="true", limit=2, page=3) == {"count": 3, "courses": []}
        assert home_of(learner_client, hasEnroll="false", limit=2, page=9)["count"] == 0


class TestHomeProgressAgreesWithTheModuleWalk:
    """`home_progress` (SQL, for the home page) and `courses_progress` (the module list's walk) are two
    readings of the same rule; every figure they share must agree, in both carry-forward modes."""

    @pytest.mark.parametrize("carry", ["strict", "carry"])
    def test_same_modules_and_next_lesson(self, tenant, learner_client, carry):
        from courses.models import ContentStatus, LessonPlacement
        from tests.factories import ModuleFactory, PlacementFactory
        from tracking import home

        tenant.carry_forward = carry
        tenant.save(update_fields=["carry_forward"])
        user = learner_client.user_id
        busy = build_course(tenant=tenant, modules=3, lessons_per_module=3)
        ModuleFactory(course=busy, tenant=tenant, ordering=9)  # empty: never completed
        lessons = lessons_of(busy)
        # A lesson of the first module placed again in a later one; an archived placement; an
        # unpublished lesson; a prerequisite that locks the first undone lesson of the last module.
        PlacementFactory(module=busy.modules.get(ordering=3), course=busy, tenant=tenant, lesson=lessons[0], ordering=9)
        LessonPlacement.objects.filter(course=busy, lesson=lessons[4]).update(archived=True)
        lessons[5].status = ContentStatus.UNPUBLISHED
        lessons[5].save(update_fields=["status"])
        lessons[6].eligibility_criteria = [str(lessons[8].id), "not a lesson id"]
        lessons[6].save(update_fields=["eligibility_criteria"])
        shared = build_course(tenant=tenant, modules=1, lessons_per_module=1)
        PlacementFactory(module=shared.modules.get(), course=shared, tenant=tenant, lesson=lessons[1], ordering=2)
        untouched = build_course(tenant=tenant, modules=2, lessons_per_module=1)
        for course in (busy, shared, untouched):
            enroll(course, user)
        for lesson in (lessons[0], lessons[1], lessons[2], lessons[3]):
            start_and_complete(learner_client, lesson, course_id=str(busy.id))
        start_and_complete(learner_client, lessons_of(shared)[0], course_id=str(shared.id))

        course_ids = [busy.id, shared.id, untouched.id]
        fast = home.home_progress(tenant_id=tenant.id, user_id=user, course_ids=course_ids)
        # The home screen's way: the own-batch completions read with the page (used when not carried).
        page = home.home_page(tenant_id=tenant.id, learner=True, user_id=user, category_ids=None, offset=0, limit=50)
        page_ids = [course["id"] for course in page.courses]
        assert sorted(page_ids, key=str) == sorted(course_ids, key=str)
        assert len(page.completed) == len(page.outlines) == len(page.enrollments) == len(page.tracks) == 3
        by_id = dict(zip(page_ids, page.completed, strict=True))
        assert home.home_progress(
            tenant_id=tenant.id, user_id=user, course_ids=course_ids, carry=page.carry, completed=by_id
        ) == fast
        # The view's way: in page order, from the page alone (carried forward: with the completions' query).
        in_order = home.home_page_progress(tenant_id=tenant.id, user_id=user, page=page)
        assert dict(zip(page_ids, in_order, strict=True)) == fast
        walked = home.courses_progress(
            tenant_id=tenant.id, user_id=user, contexts=[(course_id, course_id) for course_id in course_ids]
        )
        for course_id in course_ids:
            expected = walked[(course_id, course_id)]
            assert fast[course_id] == home.HomeProgress(
                total_modules=len(expected.modules), completed_modules=expected.completed_module_count,
                next_lesson=expected.next_lesson,
            ), course_id
        # The fixture exercises what it means to: completed modules (the second one's other lessons are
        # archived or unpublished), a locked lesson passed over, and the completion in `busy` that
        # completes `shared`'s module only when carried forward.
        assert fast[busy.id].completed_modules == 2
        assert fast[busy.id].next_lesson.lesson_id == lessons[7].id
        assert fast[shared.id].completed_modules == (1 if carry == "carry" else 0)


    def test_a_prerequisite_completed_outside_the_courses_read_unlocks_the_same_next_lesson(
        self, tenant, learner_client
    ):
        # Carried forward, a prerequisite completed in a course that is not among those read counts:
        # the module list (courses_progress) once read only the courses' own lessons and called it locked.
        from tracking import home

        tenant.carry_forward = "carry"
        tenant.save(update_fields=["carry_forward"])
        user = learner_client.user_id
        course, elsewhere = build_course(tenant=tenant, modules=1, lessons_per_module=2), build_course(tenant=tenant)
        first, second = lessons_of(course)
        first.eligibility_criteria = [str(lessons_of(elsewhere)[0].id)]
        first.save(update_fields=["eligibility_criteria"])
        for each in (course, elsewhere):
            enroll(each, user)
        start_and_complete(learner_client, lessons_of(elsewhere)[0], course_id=str(elsewhere.id))

        fast = home.home_progress(tenant_id=tenant.id, user_id=user, course_ids=[course.id])
        walked = home.courses_progress(tenant_id=tenant.id, user_id=user, contexts=[(course.id, course.id)])

        assert fast[course.id].next_lesson.lesson_id == first.id
        assert walked[(course.id, course.id)].next_lesson == fast[course.id].next_lesson

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
        with django_assert_max_num_queries(1):  # the page, with the total on each row
            search(learner_client, q="python")
        for n in range(30):
            CourseFactory(tenant=tenant, title=f"Python more {n}")
        with django_assert_max_num_queries(1):  # the same for ten times the courses
            assert search(learner_client, q="python")["count"] == 33
        with django_assert_max_num_queries(2):  # past the last page: the page, then the count
            assert search(learner_client, q="python", page=3, limit=20) == {"count": 33, "courses": []}


    def test_each_course_is_rendered_once_per_content_version(self, tenant, learner_client, monkeypatch):
        # Course summaries are cached per (course, content_version, status, origin): a write through the
        # services bumps the version, so the next page renders that course again and only that one.
        from courses.api import rendering

        rendered = []
        render = rendering.course_data
        monkeypatch.setattr(rendering, "course_data", lambda row, image_url: rendered.append(row["id"]) or render(row, image_url))
        first, second = CourseFactory(tenant=tenant, title="Python 1"), CourseFactory(tenant=tenant, title="Python 2")
        enroll(first, learner_client.user_id)
        assert [c["title"] for c in search(learner_client, q="python")["courses"]] == ["Python 1", "Python 2"]
        assert sorted(rendered, key=str) == sorted([first.id, second.id], key=str)
        rendered.clear()
        assert search(learner_client, q="python") == search(learner_client, q="python")
        (item,) = home_of(learner_client, hasEnroll="true")["courses"]
        assert (item["title"], rendered) == ("Python 1", [])
        course_services.course_update(course=first, updated_by=None, changes={"title": "Python 1, revised"})
        assert [c["title"] for c in search(learner_client, q="python")["courses"]] == ["Python 1, revised", "Python 2"]
        assert home_of(learner_client, hasEnroll="true")["courses"][0]["title"] == "Python 1, revised"
        assert rendered == [first.id]

    def test_a_summary_is_rendered_for_the_host_it_is_asked_on(self, tenant, learner_client, settings):
        # The image URL is absolute on the caller's host: the cache keeps one rendering per origin.
        settings.ALLOWED_HOSTS = ["testserver", "other.example.org"]
        course = CourseFactory(tenant=tenant, title="Pictured")
        Course.objects.filter(pk=course.pk).update(image="courses/pictured.png")
        (here,) = search(learner_client)["courses"]
        response = learner_client.get(SEARCH, HTTP_HOST="other.example.org")
        (there,) = result(response)["courses"]
        assert here["image"].startswith("http://testserver/") and there["image"].startswith("http://other.example.org/")


@pytest.mark.postgres
def test_postgresql_search_is_full_text_through_the_gin_index(tenant, learner_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tracking import home

    python = CourseFactory(tenant=tenant, title="Python courses", description="Analysing data")
    CourseFactory(tenant=tenant, title="Cooking")
    # Stemmed: "course" finds "courses", "analysed" finds "Analysing".
    assert [c["courseId"] for c in search(learner_client, q="course analysed")["courses"]] == [str(python.id)]
    with CaptureQueriesContext(connection) as captured:
        search(learner_client, q="python")
    (statement,) = [query["sql"] for query in captured.captured_queries if "plainto_tsquery" in query["sql"]]
    # The search's text condition is the index's expression; alone, the GIN index is the one index
    # that fits it (the full statement's tenant condition has an index of its own).
    document, params = home._document_sql(connection.alias)
    with connection.cursor() as cursor:
        expression = connection.ops.compose_sql(document, params)
        assert expression in statement
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table: make the planner show the index it can use
        cursor.execute(f"EXPLAIN SELECT 1 FROM courses_course WHERE {expression} @@ plainto_tsquery('english', 'python')")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "course_search_gin" in plan, plan


@pytest.mark.postgres
def test_the_stored_search_document_is_the_course_search_vector(tenant, learner_client):
    # Migration courses 0005 stores the document as a generated column: it must stay exactly what
    # `course_search_vector()` computes, through creates and title or description changes.
    from django.db import connection

    from courses.selectors import course_search_vector

    course = CourseFactory(tenant=tenant, title="Knife skills", description="Cutting onions")
    CourseFactory(tenant=tenant, title="Baking", description="")
    course_services.course_update(course=course, updated_by=None, changes={"title": "Sharpening knives"})
    assert [c["courseId"] for c in search(learner_client, q="sharpen")["courses"]] == [str(course.id)]
    assert search(learner_client, q="skills")["count"] == 0
    query = Course.objects.all().query
    sql, params = query.get_compiler(connection=connection).compile(course_search_vector().resolve_expression(query))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*), COUNT(*) FILTER (WHERE search_document IS DISTINCT FROM {sql}) FROM courses_course",
            params,
        )
        assert cursor.fetchone() == (2, 0)


@pytest.mark.postgres
def test_native_timestamps_read_the_same_values_as_djangos_loader(tenant, learner_client):
    # The home page and the search load their timestamps with psycopg's own loader (lms.rawsql).
    from django.db import connection

    from lms.api.fields import iso_utc
    from lms.rawsql import sql_values_rows

    course = build_course(tenant=tenant, modules=1, lessons_per_module=1)
    enroll(course, learner_client.user_id)
    start_and_complete(learner_client, lessons_of(course)[0])
    CourseTrack.objects.update(timestart=dt.datetime(2026, 1, 5, 9, 30, tzinfo=dt.UTC))  # no microseconds
    names = ("id", "timestart", "timeend", "last_accessed_date")
    fields = {name: CourseTrack._meta.get_field(name) for name in names}
    sql = f"SELECT {', '.join(names)} FROM tracking_coursetrack"
    django_rows = sql_values_rows(connection, sql, [], fields)
    native_rows = sql_values_rows(connection, sql, [], fields, native_timestamps=True)
    assert native_rows == django_rows and django_rows
    for native, django in zip(native_rows, django_rows, strict=True):
        for name in names[1:]:
            assert native[name] is None or native[name].tzinfo is django[name].tzinfo  # aware, in the same zone
            assert iso_utc(native[name]) == iso_utc(django[name])


def test_the_home_screen_pins_one_user_in_every_statement(tenant, learner_client):
    """The rule of tests/scaling/test_statements_route_by_user.py, for the home screen's hand-written
    reads: each reference to a per-user table (consumption, tracks) names the user by value."""
    from tests.scaling.test_statements_route_by_user import TABLE_REFERENCE, _capture, _unrouted

    course = build_course(tenant=tenant, modules=2, lessons_per_module=2)
    enroll(course, learner_client.user_id)
    first, second, _, last = lessons_of(course)
    start_and_complete(learner_client, first)
    statements = _capture(lambda: home_of(learner_client, hasEnroll="true"))
    # Carried forward, the completions are read anywhere, with the prerequisites the outline names.
    tenant.carry_forward = "carry"
    tenant.save(update_fields=["carry_forward"])
    second.eligibility_criteria = [str(last.id)]
    second.save(update_fields=["eligibility_criteria"])
    Course.objects.filter(pk=course.pk).update(content_version=F("content_version") + 1)  # as the services do
    statements += _capture(lambda: home_of(learner_client, hasEnroll="true"))
    # the page with the own-batch completions and the track rows not yet seen at their versions, then
    # the page and the carried completions, with (on SQLite, which keeps no row versions) the track
    # rows again; the outline's read and the enrolments' touch no per-user table
    from django.db import connection

    assert sum(bool(TABLE_REFERENCE.search(sql)) for sql in statements) == (4 if connection.vendor == "postgresql" else 5)
    assert any("OR d.content_id IN" in sql for sql in statements)  # the carried read, with the prerequisite
    problems = _unrouted(statements)
    assert problems == [], "\n\n".join(problems)


def test_the_page_reads_each_enrolment_and_track_as_its_id_and_version_on_postgresql(tenant, learner_client):
    """The page's statement reads no column of the enrolment and track rows but their id and version
    (`xmin` and `cmin`); the rows come from the row-version cache, read by id only when unseen."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's row versions")
    from tests.scaling.test_statements_route_by_user import _capture

    for _ in range(3):
        course = build_course(tenant=tenant, modules=1, lessons_per_module=2)
        enroll(course, learner_client.user_id)
        start_and_complete(learner_client, lessons_of(course)[0])
    cold = _capture(lambda: home_of(learner_client, hasEnroll="true"))
    (page,) = [sql for sql in cold if "WITH mine" in sql]
    assert "e.xmin::text || ':' || e.cmin::text" in page and "t.xmin::text || ':' || t.cmin::text" in page
    assert '"enrollment_enrollment"."enrolled_on_time"' not in page and '"tracking_coursetrack"."timestart"' not in page
    by_id = [table for sql in cold for table in ("enrollment_enrollment", "tracking_coursetrack") if f'"{table}"."id" IN (' in sql]
    assert by_id == ["enrollment_enrollment", "tracking_coursetrack"]  # the enrolments, then the tracks, by id
    warm = _capture(lambda: home_of(learner_client, hasEnroll="true"))
    assert len(warm) == 1 and "WITH mine" in warm[0]


class TestRowVersions:
    """Every write of an enrolment or track row reaches the next page, whichever way it is written:
    a row version (`xmin`, `cmin` on PostgreSQL) is never the key of two different rows' values."""

    def _page(self, client):
        return {item["courseId"]: item for item in home_of(client, hasEnroll="true")["courses"]}

    @pytest.mark.drift_expected("writes the track's counter directly, as a stand-in for any writer")
    def test_a_write_in_the_same_transaction_reaches_the_next_page(self, tenant, learner_client):
        # A test runs in one transaction: both versions below share their `xmin` and differ in `cmin`.
        course = build_course(tenant=tenant, modules=1, lessons_per_module=2)
        enroll(course, learner_client.user_id)
        before = self._page(learner_client)[str(course.id)]
        assert before["courseTracking"]["completed_lessons"] == 0 and before["progress"] == 0
        CourseTrack.objects.filter(user_id=learner_client.user_id, course=course).update(completed_lessons=1)
        after = self._page(learner_client)[str(course.id)]
        assert after["courseTracking"]["completed_lessons"] == 1 and after["progress"] == 50
        CourseTrack.objects.filter(user_id=learner_client.user_id, course=course).update(completed_lessons=2)
        assert self._page(learner_client)[str(course.id)]["courseTracking"]["completed_lessons"] == 2

    def test_a_write_by_hand_and_through_the_services_reach_the_next_page(self, tenant, learner_client):
        from django.db import connection

        from enrollment.models import Enrollment

        course = build_course(tenant=tenant, modules=1, lessons_per_module=2)
        enroll(course, learner_client.user_id)
        self._page(learner_client)
        enrollment = Enrollment.objects.get(user_id=learner_client.user_id, course=course)
        with connection.cursor() as cursor:  # past the ORM and every service: SQL by hand
            cursor.execute(
                f"UPDATE {Enrollment._meta.db_table} SET params = %s WHERE id = %s",
                ['{"source": "hand"}', enrollment.pk if connection.vendor == "postgresql" else enrollment.pk.hex],
            )
        assert self._page(learner_client)[str(course.id)]["enrollment"]["params"] == {"source": "hand"}
        start_and_complete(learner_client, lessons_of(course)[0])
        item = self._page(learner_client)[str(course.id)]
        assert item["courseTracking"]["completed_lessons"] == 1 and item["completedModuleCount"] == 0

    def test_a_page_renders_as_its_rows_read_fresh(self, tenant, learner_client):
        # The same bytes from the cache as from a cold read of the same versions.
        from tracking import home

        for _ in range(3):
            course = build_course(tenant=tenant, modules=1, lessons_per_module=2)
            enroll(course, learner_client.user_id)
            start_and_complete(learner_client, lessons_of(course)[0])
        home.row_version_cache_clear()
        cold = learner_client.get(HOME, {"hasEnroll": "true"}).json()["result"]
        warm = learner_client.get(HOME, {"hasEnroll": "true"}).json()["result"]
        assert cold == warm and len(warm["courses"]) == 3

    def test_the_cache_is_bounded(self, tenant, learner_client, monkeypatch):
        from lms.lru import WeightedLRU
        from tracking import home

        monkeypatch.setattr(home, "_row_version_cache", WeightedLRU(max_weight=3, weigh=lambda row: 1))
        for _ in range(4):
            enroll(build_course(tenant=tenant, modules=1, lessons_per_module=1), learner_client.user_id)
        assert len(self._page(learner_client)) == 4
        # 8 rows read (4 enrolments, 4 tracks); PostgreSQL keeps the last 3, SQLite none (no versions)
        from django.db import connection

        assert len(home._row_version_cache) == (3 if connection.vendor == "postgresql" else 0)

    def test_a_row_that_moved_on_since_the_page_is_kept_under_the_version_read(self, tenant, learner_client):
        # The page read a version; the row was written before its values were read: the values read
        # are rendered, and cached under their own version, never under the one the page saw.
        from django.db import connection

        from tracking import home

        if connection.vendor != "postgresql":
            pytest.skip("PostgreSQL's row versions")
        course = build_course(tenant=tenant, modules=1, lessons_per_module=2)
        enroll(course, learner_client.user_id)
        track = CourseTrack.objects.get(user_id=learner_client.user_id, course=course)
        home.row_version_cache_clear()
        stale = (str(track.id), "1:0")  # a version the row no longer has
        rows = home._row_versions(
            connection, CourseTrack, tenant_id=tenant.id, user_id=learner_client.user_id, wanted=[stale]
        )
        assert rows[str(track.id)].values["id"] == str(track.id)
        keys = list(home._row_version_cache._entries)
        assert len(keys) == 1 and keys[0][2:] != stale and keys[0][2] == str(track.id)
        gone = home._row_versions(
            connection, CourseTrack, tenant_id=tenant.id, user_id=learner_client.user_id,
            wanted=[(str(uuid.uuid4()), "1:0")],
        )
        assert gone == {}  # deleted since (or never the user's): no row


def test_the_outline_remembers_its_figures_within_a_bound():
    # `_outline_progress` remembers its answers in the outline for the own-batch completions (a
    # frozenset): the same figures as working them out, and no more lessons held than `_memo_limit`.
    from tracking import home

    lessons = [uuid.uuid4() for _ in range(4)]
    module_id = uuid.uuid4()
    outline = home._CourseOutline(
        module_sizes=(2, 2),
        lesson_modules={str(lesson): (index // 2,) for index, lesson in enumerate(lessons)},
        placements=tuple(
            (str(lesson), home.NextLesson(lesson_id=lesson, title=f"L{index}", module_id=module_id), ())
            for index, lesson in enumerate(lessons)
        ),
        prerequisites=frozenset(),
    )
    seen = []
    for count in range(5):
        done = frozenset(str(lesson) for lesson in lessons[:count])
        figures = home._outline_progress(outline, done)
        assert figures == home._outline_progress_of(outline, set(done))
        assert home._outline_progress(outline, done) is figures  # remembered
        seen.append(figures)
    assert [figures.completed_modules for figures in seen] == [0, 0, 1, 1, 2]
    assert seen[-1].next_lesson is None and seen[1].next_lesson.lesson_id == lessons[1]
    for extra in range(200):  # completions of lessons the outline does not hold still count towards the bound
        home._outline_progress(outline, frozenset({str(extra)}))
        assert outline.memo_weight[0] <= home._memo_limit(outline)
        assert outline.memo_weight[0] == sum(len(done) + 1 for done in outline.progress_memo)


def test_a_course_deleted_after_the_page_was_read_gets_no_outline(tenant, learner_client):
    # `home_page` reads the versions, then the outlines of the courses this process lacks: a course
    # deleted in between has no row then. It gets no outline (and none is cached), so the page
    # leaves it out instead of failing on an empty row; the courses still there keep theirs.
    from tracking import home

    course = build_course(tenant=tenant, modules=1, lessons_per_module=2)
    gone = uuid.uuid4()
    outlines = home._outlines(tenant_id=tenant.id, course_versions={course.id: course.content_version, gone: 1})
    assert list(outlines) == [course.id]
    assert outlines[course.id].course["id"] == course.id
    assert home._outlines(tenant_id=tenant.id, course_versions={gone: 1}) == {}
