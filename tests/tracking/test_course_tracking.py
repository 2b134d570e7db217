"""GET /courses/tracking and the audited staff override PUT /courses/tracking/:id."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from courses.models import ContentStatus
from enrollment.models import Enrollment
from tests.factories import LessonFactory, ModuleFactory, PlacementFactory, build_course
from tests.tracking.helpers import COURSE_TRACKING, GIF, enroll, err, errmsg, lessons_of, result, start_and_complete
from tracking.models import CourseTrack, CourseTrackOverride, IssuedCertificate
from tracking.services import lesson_completion_record

pytestmark = pytest.mark.django_db


def track_of(enrollment) -> CourseTrack:
    return CourseTrack.objects.get(enrollment=enrollment)


class TestList:
    def test_each_track_carries_its_course_summary(self, enrolled_learner, course, tenant):
        first, second, third, fourth = lessons_of(course)
        durations = {first: (600, None), second: (None, 10), third: (None, None), fourth: (30, 99)}
        for lesson, (duration, ideal_time) in durations.items():
            lesson.duration, lesson.ideal_time = duration, ideal_time
            lesson.save(update_fields=["duration", "ideal_time"])
        # A second placement of a lesson counts once; archived placements, unpublished modules
        # and unpublished lessons count not at all.
        PlacementFactory(module=course.modules.last(), course=course, tenant=tenant, lesson=first)
        PlacementFactory(module=course.modules.first(), course=course, tenant=tenant, archived=True,
                         lesson=LessonFactory(tenant=tenant, duration=1000))
        hidden = ModuleFactory(course=course, tenant=tenant, status=ContentStatus.UNPUBLISHED)
        PlacementFactory(module=hidden, course=course, tenant=tenant, lesson=LessonFactory(tenant=tenant, duration=7))
        PlacementFactory(module=course.modules.first(), course=course, tenant=tenant,
                         lesson=LessonFactory(tenant=tenant, duration=5, status=ContentStatus.UNPUBLISHED))

        response = enrolled_learner.get(COURSE_TRACKING)
        assert response.status_code == 200 and response.json()["id"] == "api.course.tracking.list"
        body = result(response)
        assert body["count"] == 1
        row = body["tracking"][0]
        assert row["id"] == str(track_of(enrolled_learner.enrollment).id)
        assert (row["course_id"], row["user_id"], row["status"]) == (
            str(course.id), str(enrolled_learner.user_id), "not_started"
        )
        assert (row["no_of_lessons"], row["completed_lessons"], row["cert_gen_date"]) == (4, 0, None)
        assert row["course"] == {
            "courseId": str(course.id), "title": course.title, "shortDescription": course.short_description,
            "description": course.description, "image": None, "total_modules": 2, "total_lessons": 4,
            "total_duration": 600 + 10 * 60 + 0 + 30, "certificate_eligible": False,
        }

    def test_certificate_eligible_once_issued(self, enrolled_learner, tenant):
        course = build_course(tenant=tenant, modules=1, lessons_per_module=1, certificate_term="COMPLETE_ALL")
        enroll(course, enrolled_learner.user_id)
        start_and_complete(enrolled_learner, lessons_of(course)[0])
        row = result(enrolled_learner.get(COURSE_TRACKING, {"course_id": course.id}))["tracking"][0]
        assert row["status"] == "completed" and row["cert_gen_date"] is not None
        assert row["course"]["certificate_eligible"] is True

    def test_filters(self, admin_client, tenant, course):
        other_course = build_course(tenant=tenant, modules=1, lessons_per_module=1)
        alice, bob = uuid.uuid4(), uuid.uuid4()
        enroll(course, alice)
        enroll(other_course, alice)
        enroll(course, bob)
        start_and_complete(admin_client, lessons_of(other_course)[0], user_id=str(alice))

        def count(**params):
            response = admin_client.get(COURSE_TRACKING, params)
            assert response.status_code == 200
            return result(response)["count"]

        assert count() == 3
        assert count(course_id=course.id) == 2
        assert count(user_id=alice) == 2
        assert count(status="completed") == 1
        assert count(status="not_started", user_id=alice) == 1

    def test_learners_see_only_their_own_and_may_not_name_others(self, enrolled_learner, course):
        enroll(course)
        rows = result(enrolled_learner.get(COURSE_TRACKING))["tracking"]
        assert [row["user_id"] for row in rows] == [str(enrolled_learner.user_id)]
        response = enrolled_learner.get(COURSE_TRACKING, {"user_id": uuid.uuid4()})
        assert response.status_code == 403 and err(response) == "ERR_FORBIDDEN"

    @pytest.mark.parametrize(
        "params, field", [({"course_id": "x"}, "course_id"), ({"status": "incomplete"}, "status"),
                          ({"limit": 0}, "limit"), ({"page": "two"}, "page")],
    )
    def test_bad_filters_are_400(self, admin_client, params, field):
        response = admin_client.get(COURSE_TRACKING, params)
        assert response.status_code == 400 and field in result(response)["errors"]

    def test_another_tenant_sees_nothing(self, enrolled_learner, other_admin_client, course):
        assert result(other_admin_client.get(COURSE_TRACKING))["count"] == 0
        assert result(other_admin_client.get(COURSE_TRACKING, {"course_id": course.id}))["count"] == 0

    def test_pagination(self, admin_client, course):
        for _ in range(5):
            enroll(course)
        pages = [result(admin_client.get(COURSE_TRACKING, {"limit": 2, "page": page})) for page in (1, 2, 3, 4)]
        assert [p["count"] for p in pages] == [5, 5, 5, 5]
        assert [len(p["tracking"]) for p in pages] == [2, 2, 1, 0]
        assert len({row["id"] for p in pages for row in p["tracking"]}) == 5

    def test_query_count_does_not_grow_with_tracks_or_courses(self, admin_client, tenant, django_assert_num_queries):
        def add(n_courses, learners_per_course):
            for _ in range(n_courses):
                course = build_course(tenant=tenant, modules=2, lessons_per_module=2)
                for _ in range(learners_per_course):
                    enroll(course)

        add(1, 2)
        admin_client.get(COURSE_TRACKING)  # the tenant is known from here on
        with django_assert_num_queries(3):  # count; page of tracks joined to courses; totals of the page's courses
            response = admin_client.get(COURSE_TRACKING, {"limit": 100})
        assert result(response)["count"] == 2
        add(10, 2)
        with django_assert_num_queries(3):  # the same three queries for eleven courses and ten times the tracks
            response = admin_client.get(COURSE_TRACKING, {"limit": 100})
        rows = result(response)["tracking"]
        assert len(rows) == 22 and {row["course"]["total_lessons"] for row in rows} == {4}


class TestOverride:
    def url(self, track):
        return f"{COURSE_TRACKING}/{track.id}"

    @pytest.mark.drift_expected("a staff override sets counters the facts do not derive")
    def test_override_is_applied_and_audited(self, admin_client, enrolled_learner):
        track = track_of(enrolled_learner.enrollment)
        response = admin_client.put(self.url(track), {"status": "in_progress", "completed_lessons": 2,
                                                      "course_id": str(uuid.uuid4())}, format="json")
        assert response.status_code == 200 and response.json()["id"] == "api.course.tracking.update"
        body = result(response)
        assert (body["status"], body["completed_lessons"], body["no_of_lessons"]) == ("in_progress", 2, 4)
        assert body["course_id"] == str(track.course_id)  # a track cannot move to another course
        override = CourseTrackOverride.objects.get(track=track)
        assert override.changed_by == admin_client.user_id and override.tenant_id == track.tenant_id
        assert override.old_values == {"status": "not_started", "completed_lessons": 0}
        assert override.new_values == {"status": "in_progress", "completed_lessons": 2}
        assert Enrollment.objects.get(pk=enrolled_learner.enrollment.pk).state == 1

    @pytest.mark.drift_expected("a staff override sets counters the facts do not derive")
    def test_completing_sets_timeend_and_follows_the_certificate_rule(self, instructor_client, learner_client, tenant):
        course = build_course(tenant=tenant, modules=1, lessons_per_module=2, certificate_term="COMPLETE_ALL")
        enrollment = enroll(course, learner_client.user_id)
        track = track_of(enrollment)
        response = instructor_client.put(
            self.url(track), {"status": "completed", "completed_lessons": 2}, format="json"
        )
        body = result(response)
        assert body["status"] == "completed" and body["timeend"] is not None and body["cert_gen_date"] is not None
        assert IssuedCertificate.objects.filter(track=track).count() == 1
        assert Enrollment.objects.get(pk=enrollment.pk).state == 2

    def test_setting_cert_gen_date_issues_the_certificate_once(self, admin_client, enrolled_learner):
        track = track_of(enrolled_learner.enrollment)
        when = "2024-03-20T01:00:00Z"
        for _ in range(2):
            response = admin_client.put(self.url(track), {"cert_gen_date": when}, format="json")
            assert response.status_code == 200
        certificate = IssuedCertificate.objects.get(track=track)
        assert certificate.issued_at == dt.datetime(2024, 3, 20, 1, tzinfo=dt.UTC)
        assert CourseTrackOverride.objects.filter(track=track).count() == 1  # the repeat changed nothing
        response = admin_client.put(self.url(track), {"cert_gen_date": None}, format="json")
        assert response.status_code == 400 and "cert_gen_date" in result(response)["errors"]

    def test_a_recount_rederives_counters_but_keeps_completed(self, admin_client, enrolled_learner, course, tenant):
        track = track_of(enrolled_learner.enrollment)
        admin_client.put(self.url(track), {"status": "completed", "completed_lessons": 4}, format="json")
        lesson_completion_record(
            tenant_id=tenant.id, user_id=enrolled_learner.user_id, course_id=course.id, batch_id=course.id,
            lesson_id=lessons_of(course)[0].id,
        )
        track.refresh_from_db()
        assert (track.completed_lessons, track.status) == (1, "completed")

    def test_completed_on_cannot_be_cleared(self, admin_client, enrolled_learner, course):
        for lesson in lessons_of(course):
            start_and_complete(enrolled_learner, lesson)
        track = track_of(enrolled_learner.enrollment)
        completed_on = track.timeend

        response = admin_client.put(self.url(track), {"timeend": None}, format="json")

        assert response.status_code == 400
        assert err(response) == "ERR_VALIDATION" and "timeend" in result(response)["errors"]
        assert "never cleared" in errmsg(response)
        track.refresh_from_db()
        assert track.timeend == completed_on
        assert not CourseTrackOverride.objects.exists()
        # A correction to another time is still the staff's to make.
        corrected = (completed_on + dt.timedelta(minutes=1)).isoformat()
        assert admin_client.put(self.url(track), {"timeend": corrected}, format="json").status_code == 200

    def test_completing_again_after_a_downgrade_keeps_the_first_completed_on(
        self, admin_client, enrolled_learner, course, tenant
    ):
        first, *others = lessons_of(course)
        for lesson in others:
            start_and_complete(enrolled_learner, lesson)
        start_and_complete(enrolled_learner, first)
        track = track_of(enrolled_learner.enrollment)
        completed_on = track.timeend
        assert track.status == "completed" and completed_on is not None

        downgraded = admin_client.put(self.url(track), {"status": "in_progress"}, format="json")
        assert result(downgraded)["status"] == "in_progress"
        # Completing a lesson again recounts the track, which completes once more.
        start_and_complete(enrolled_learner, first)

        track.refresh_from_db()
        assert track.status == "completed" and track.timeend == completed_on
        summary = enrolled_learner.post(
            "/v1/viewer/summary/read", {"request": {"collectionId": str(course.id)}}, format="json"
        )
        assert summary.json()["result"]["completedOn"] == int(completed_on.timestamp() * 1000)

    @pytest.mark.parametrize(
        "body, field",
        [
            ({"completed_lessons": 5}, "completed_lessons"),
            ({"no_of_lessons": 1, "completed_lessons": 2}, "completed_lessons"),
            ({"status": "incomplete"}, "status"),
            ({"timestart": "2024-03-20T00:00:00"}, "timestart"),
            ({"timeend": "2000-01-01T00:00:00Z"}, "timeend"),
            ({"last_accessed_date": "yesterday"}, "last_accessed_date"),
            ({"no_of_lessons": -1}, "no_of_lessons"),
        ],
    )
    def test_bad_input(self, admin_client, enrolled_learner, body, field):
        track = track_of(enrolled_learner.enrollment)
        response = admin_client.put(self.url(track), body, format="json")
        assert response.status_code == 400 and field in result(response)["errors"]
        assert errmsg(response)
        assert not CourseTrackOverride.objects.exists()

    def test_naive_datetime_message_says_what_to_fix(self, admin_client, enrolled_learner):
        response = admin_client.put(
            self.url(track_of(enrolled_learner.enrollment)), {"timestart": "2024-03-20T00:00:00"}, format="json"
        )
        assert "timezone" in errmsg(response)

    def test_learners_may_not_override(self, enrolled_learner):
        track = track_of(enrolled_learner.enrollment)
        response = enrolled_learner.put(self.url(track), {"status": "completed"}, format="json")
        assert response.status_code == 403 and err(response) == "ERR_FORBIDDEN"
        track.refresh_from_db()
        assert track.status == "not_started"

    def test_another_tenant_gets_404(self, other_admin_client, enrolled_learner):
        track = track_of(enrolled_learner.enrollment)
        response = other_admin_client.put(self.url(track), {"status": "completed"}, format="json")
        assert response.status_code == 404
        track.refresh_from_db()
        assert track.status == "not_started"

    def test_unknown_track(self, admin_client):
        response = admin_client.put(f"{COURSE_TRACKING}/{uuid.uuid4()}", {"status": "completed"}, format="json")
        assert response.status_code == 404 and err(response) == "ERR_NOT_FOUND"


def test_course_image_is_an_absolute_url(enrolled_learner, course, tenant):
    course.image.save("cover.gif", SimpleUploadedFile("cover.gif", GIF), save=True)
    enroll(build_course(tenant=tenant, modules=1, lessons_per_module=1), enrolled_learner.user_id)

    rows = result(enrolled_learner.get(COURSE_TRACKING))["tracking"]

    images = {row["course_id"]: row["course"]["image"] for row in rows}
    assert images[str(course.id)].startswith("http://testserver/media/")
    assert images[str(course.id)].endswith(".gif")
    assert sorted(images.values(), key=str)[0] is None
