"""GET /courses/:id/report (DECISIONS §10): the figures, their agreement with the tracks and the
summaries, the streamed CSV, access and a constant query count."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid

import pytest
from django.utils import timezone

from courses.services import lesson_update
from enrollment.models import Enrollment
from lms.api.envelope import encode_json
from lms.api.tenancy import forget_known_tenants
from tests.conftest import make_client
from tests.factories import build_course
from tests.tracking.helpers import enroll, err, errmsg, lessons_of, result
from tests.tracking.insight_world import build_world, complete_lesson, start_lesson
from tracking.insight import course_lessons_cache_clear, course_report
from tracking.models import AttemptStatus, CourseTrack, CourseTrackStatus, IssuedCertificate, LessonAttempt
from viewer.selectors import summary_list

pytestmark = pytest.mark.django_db


def report_url(course) -> str:
    return f"/courses/{course.id}/report"


def csv_rows(response) -> list[dict]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


class TestFigures:
    def test_the_report_has_the_shape_and_numbers_of_the_course(self, admin_client, tenant):
        world = build_world(tenant)

        response = admin_client.get(report_url(world.course))

        assert response.status_code == 200 and response.json()["id"] == "api.course.report"
        report = result(response)
        assert report["courseId"] == str(world.course.id)
        assert (report["enrolled"], report["active"]) == (4, 4)
        assert report["byStatus"] == {"not_started": 1, "in_progress": 1, "completed": 2}
        assert report["completionRate"] == 50.0
        assert report["certificatesIssued"] == 1
        first, second, third, quiz = report["lessons"]
        assert [lesson["lessonId"] for lesson in report["lessons"]] == [str(lesson.id) for lesson in world.lessons]
        assert (first["completed"], first["started"]) == (3, 3)
        assert (second["completed"], second["started"]) == (2, 3)
        assert (third["completed"], third["started"]) == (2, 2)
        assert (quiz["title"], quiz["completed"], quiz["started"]) == ("Quiz 2", 2, 2)
        assert first["averageBestScore"] is None  # no considerMarks
        assert quiz["averageBestScore"] == 60.0  # (80 + 40) / 2
        assert quiz["moduleId"] == str(world.lessons[-1].placements.get().module_id)
        assert len(report["weekly"]) == 12
        this_week = report["weekly"][-1]
        monday = timezone.now().date() - dt.timedelta(days=timezone.now().weekday())
        assert this_week == {"weekStart": monday.isoformat(), "enrolled": 4, "completed": 2}
        assert all(week["enrolled"] == 0 for week in report["weekly"][:-1])

    def test_an_attempt_without_an_own_batch_enrollment_is_not_scored(self, admin_client, tenant):
        """The report's figures are over the course's enrolled learners (DECISIONS §10: counts are of
        enrollments in the course's own batch), so a completed attempt whose learner has no such
        enrollment (its enrollment gone, as an import or an erasure may leave it) is no learner's
        best score. Written as a bare fact: no service writes an attempt without an enrollment."""
        world = build_world(tenant)
        quiz = world.lessons[-1]
        stray = uuid.uuid4()
        LessonAttempt.objects.create(
            user_id=stray, tenant=tenant, lesson=quiz, course=world.course, batch_id=world.course.id, attempt=1,
            timestart=timezone.now(), score=100, status=AttemptStatus.COMPLETED,
        )
        assert not Enrollment.objects.filter(user_id=stray).exists()

        quiz_figures = result(admin_client.get(report_url(world.course)))["lessons"][-1]

        assert quiz_figures["averageBestScore"] == 60.0  # (80 + 40) / 2: the stray 100 is not counted

    def test_the_report_agrees_with_the_course_tracks_and_the_summaries(self, tenant):
        world = build_world(tenant, extra_idle=3)

        report = course_report(tenant_id=tenant.id, course_id=world.course.id).as_result()

        tracks = CourseTrack.objects.filter(course=world.course, batch_id=world.course.id)
        for status in CourseTrackStatus.values:
            assert report["byStatus"][status] == tracks.filter(status=status).count()
        # Each learner's completed lessons are counted once per lesson: the sums are equal.
        assert sum(lesson["completed"] for lesson in report["lessons"]) == sum(t.completed_lessons for t in tracks)
        assert report["certificatesIssued"] == IssuedCertificate.objects.filter(course=world.course).count()
        summaries = [summary for user_id in world.learners for summary in summary_list(tenant_id=tenant.id,
                                                                                         user_id=user_id)]
        assert report["byStatus"]["completed"] == sum(summary["status"] == 2 for summary in summaries)
        assert report["certificatesIssued"] == sum(len(summary["issuedCertificates"]) for summary in summaries)

    def test_a_course_without_learners_or_lessons_reports_zeros(self, admin_client, tenant):
        course = build_course(tenant=tenant, modules=0)

        report = result(admin_client.get(report_url(course)))

        assert (report["enrolled"], report["completionRate"], report["lessons"]) == (0, 0.0, [])
        assert report["byStatus"] == {"not_started": 0, "in_progress": 0, "completed": 0}

    def test_other_batches_do_not_count(self, admin_client, tenant):
        world = build_world(tenant)
        from tests.tracking.helpers import enroll

        enroll(world.course, uuid.uuid4(), batch_id=uuid.uuid4())

        assert result(admin_client.get(report_url(world.course)))["enrolled"] == 4

    def test_query_count_is_constant_in_learners(self, admin_client, tenant, django_assert_num_queries):
        small = build_world(tenant)
        large = build_world(tenant, extra_idle=30)
        complete_lesson(large.course, large.learners[-1], large.lessons[0])

        for world in (small, large):
            # Cold: neither the tenant nor the course's lessons are known to this process yet.
            forget_known_tenants()
            course_lessons_cache_clear()
            with django_assert_num_queries(6):
                # 1. the tenant (its first request in this process)
                # 2. the course with its tenant's policy
                # 3. the lessons in order (the first read of the course's content version)
                # 4. the enrollment/track/certificate/weekly counts
                # 5. per-lesson started/completed
                # 6. the best-score bins
                assert admin_client.get(report_url(world.course)).status_code == 200
            # course with its tenant's policy, the counts, per-lesson started/completed, best-score
            # bins: the lessons come from the cache at this content version
            with django_assert_num_queries(4):
                assert admin_client.get(report_url(world.course)).status_code == 200

    def test_a_content_write_shows_in_the_next_report(self, admin_client, tenant):
        """The lessons are cached by the course's content version, which every content write bumps."""
        world = build_world(tenant)
        assert result(admin_client.get(report_url(world.course)))["lessons"][0]["title"] != "Renamed"

        lesson_update(lesson=world.lessons[0], updated_by=None, changes={"title": "Renamed"})
        # A lesson of another course placed in this one, first in its last module.
        (placed,) = lessons_of(build_course(tenant=tenant, modules=1, lessons_per_module=1))
        lesson_update(lesson=placed, updated_by=None, course=world.course,
                      module=world.lessons[-1].placements.get().module, ordering=1)

        lessons = result(admin_client.get(report_url(world.course)))["lessons"]
        assert lessons[0]["title"] == "Renamed"
        assert [lesson["lessonId"] for lesson in lessons] == [
            str(lesson.id) for lesson in (*world.lessons[:2], placed, *world.lessons[2:])
        ]

    def test_weeks_run_from_monday_utc_and_only_the_last_twelve_count(self, tenant):
        world = build_world(tenant, extra_idle=4)
        now = dt.datetime(2026, 12, 3, 12, tzinfo=dt.UTC)  # a Thursday
        monday = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
        second = dt.timedelta(seconds=1)
        enrolled_on = [
            monday, monday - second, monday - dt.timedelta(weeks=11), monday - dt.timedelta(weeks=11) - second,
            monday + dt.timedelta(weeks=1), monday + dt.timedelta(days=6, hours=23), monday - dt.timedelta(weeks=5),
            monday - dt.timedelta(weeks=40),
        ]
        enrollments = list(Enrollment.objects.filter(course=world.course).order_by("user_id"))
        for enrollment, moment in zip(enrollments, enrolled_on, strict=True):
            Enrollment.objects.filter(pk=enrollment.pk).update(enrolled_on_time=moment)
        # Completions by `timeend`, of completed tracks only: the halfway track's end must not count.
        for user_id, moment in ((world.finished, monday), (world.failing, monday - second),
                                (world.halfway, monday + dt.timedelta(hours=1))):
            CourseTrack.objects.filter(course=world.course, user_id=user_id).update(timeend=moment)

        weekly = course_report(tenant_id=tenant.id, course_id=world.course.id, now=now).as_result()["weekly"]

        mondays = [monday - dt.timedelta(weeks=back) for back in range(11, -1, -1)]
        assert [week["weekStart"] for week in weekly] == [day.date().isoformat() for day in mondays]
        completed = CourseTrack.objects.filter(course=world.course, status="completed").values_list("timeend", flat=True)
        for week, start in zip(weekly, mondays, strict=True):
            end = start + dt.timedelta(weeks=1)
            assert week["enrolled"] == sum(start <= moment < end for moment in enrolled_on), week
            assert week["completed"] == sum(start <= moment < end for moment in completed), week
        assert (weekly[-1]["enrolled"], weekly[-2]["enrolled"], weekly[0]["enrolled"]) == (2, 1, 1)
        assert (weekly[-1]["completed"], weekly[-2]["completed"]) == (1, 1)

    def test_the_encoded_answer_is_the_encoded_result_byte_for_byte(self, admin_client, tenant):
        """The API writes each lesson's entry from its head encoded once per content version
        (`CourseLesson.report_head`): the same bytes as encoding the result, including titles that
        need escaping, a lesson nobody started, and a fractional average best score."""
        world = build_world(tenant)
        lesson_update(lesson=world.lessons[1], updated_by=None, changes={"title": 'Quotes " \\ and \u2028 é'})
        complete_lesson(world.course, world.halfway, world.lessons[-1], score=33.333)
        # A lesson nobody started: one of another course placed in this one, first in its last module.
        (placed,) = lessons_of(build_course(tenant=tenant, modules=1, lessons_per_module=1))
        lesson_update(lesson=placed, updated_by=None, course=world.course,
                      module=world.lessons[-1].placements.get().module, ordering=1)

        report = course_report(tenant_id=tenant.id, course_id=world.course.id)
        expected = report.as_result()

        assert report.as_encoded_result() == encode_json(expected)
        assert (expected["lessons"][2]["lessonId"], expected["lessons"][2]["started"]) == (str(placed.id), 0)
        assert expected["lessons"][-1]["averageBestScore"] == 51.11  # (80 + 40 + 33.333) / 3
        assert result(admin_client.get(report_url(world.course))) == expected

    def test_the_template_prints_a_titles_percent_signs_as_they_are(self, admin_client, tenant):
        """Each lesson's entry is a `%` template (`ReportLayout`, one per content version): a title's
        own `%d`, `%s`, `%b` or lone `%` prints as written, with and without a marked lesson, and the
        figures land in their lessons."""
        world = build_world(tenant)
        lesson_update(lesson=world.lessons[0], updated_by=None, changes={"title": "100% of %d, %s and %b %%"})
        lesson_update(lesson=world.lessons[-1], updated_by=None, changes={"title": "Quiz at 50%"})

        report = course_report(tenant_id=tenant.id, course_id=world.course.id)
        expected = report.as_result()
        assert report.layout.any_marked
        assert report.as_encoded_result() == encode_json(expected)
        assert expected["lessons"][0]["title"] == "100% of %d, %s and %b %%"
        assert result(admin_client.get(report_url(world.course))) == expected

        # Without a marked lesson every score is null and the figures are chained in C.
        course = build_course(tenant=tenant, modules=1, lessons_per_module=3)
        lessons = lessons_of(course)
        lesson_update(lesson=lessons[1], updated_by=None, changes={"title": "50% %d"})
        learners = [enroll(course, uuid.uuid4()).user_id for _ in range(3)]
        complete_lesson(course, learners[0], lessons[1])
        complete_lesson(course, learners[1], lessons[1])
        start_lesson(course, learners[2], lessons[1])
        start_lesson(course, learners[0], lessons[2])
        report = course_report(tenant_id=tenant.id, course_id=course.id)
        expected = report.as_result()
        assert not report.layout.any_marked
        assert report.as_encoded_result() == encode_json(expected)
        assert [(lesson["title"], lesson["completed"], lesson["started"], lesson["averageBestScore"])
                for lesson in expected["lessons"]] == [
            (lessons[0].title, 0, 0, None), ("50% %d", 2, 3, None), (lessons[2].title, 0, 1, None)]
        assert result(admin_client.get(report_url(course))) == expected

    def test_an_empty_format_is_still_refused(self, admin_client, tenant):
        """The query serializer is skipped only when there is no query string at all."""
        world = build_world(tenant)

        assert admin_client.get(report_url(world.course), {"format": "xml"}).status_code == 400
        assert result(admin_client.get(report_url(world.course), {"format": "json"}))["enrolled"] == 4

    def test_carried_completions_count_as_the_recount_counts_them(self, admin_client, tenant):
        from tracking.services import standalone_completion_record

        tenant.carry_forward = "carry"
        tenant.save(update_fields=["carry_forward"])
        world = build_world(tenant)
        standalone_completion_record(tenant_id=tenant.id, user_id=world.idle, content_id=world.lessons[2].id)

        report = result(admin_client.get(report_url(world.course)))

        assert (report["lessons"][2]["completed"], report["lessons"][2]["started"]) == (3, 3)
        tracks = CourseTrack.objects.filter(course=world.course)
        assert sum(lesson["completed"] for lesson in report["lessons"]) == sum(t.completed_lessons for t in tracks)
        assert report["byStatus"]["not_started"] == 0  # the carried lesson started the idle learner's track


class TestCsv:
    def test_one_row_per_learner_with_directory_names_and_summary_progress(self, admin_client, tenant):
        world = build_world(tenant)

        rows = csv_rows(admin_client.get(report_url(world.course), {"format": "csv"}))

        assert len(rows) == 4
        assert list(rows[0]) == ["userId", "name", "email", "status", "progress", "completedLessons",
                                 "noOfLessons", "lastAccessedOn", "certificateIssuedOn"]
        by_user = {row["userId"]: row for row in rows}
        ada = by_user[str(world.finished)]
        assert (ada["name"], ada["email"], ada["status"], ada["progress"]) == (
            "Ada Lovelace", "ada@example.org", "completed", "100")
        assert ada["certificateIssuedOn"].endswith("Z") and ada["lastAccessedOn"]
        assert by_user[str(world.idle)]["name"] == "" and by_user[str(world.idle)]["lastAccessedOn"] == ""
        assert by_user[str(world.failing)]["certificateIssuedOn"] == ""
        for user_id in world.learners:
            (summary,) = summary_list(tenant_id=tenant.id, user_id=user_id)
            assert int(by_user[str(user_id)]["progress"]) == summary["progress"]

    def test_csv_query_count_is_constant(self, admin_client, tenant, django_assert_max_num_queries):
        for extra in (0, 20):
            world = build_world(tenant, extra_idle=extra)
            # tenant, course, tracks with enrollment and certificate, directory names of the chunk
            with django_assert_max_num_queries(4):
                assert len(csv_rows(admin_client.get(report_url(world.course), {"format": "csv"}))) == 4 + extra


class TestAccess:
    def test_instructors_read_it_too(self, instructor_client, tenant):
        world = build_world(tenant)
        assert instructor_client.get(report_url(world.course)).status_code == 200

    def test_learners_may_not(self, learner_client, tenant):
        world = build_world(tenant)
        response = learner_client.get(report_url(world.course))
        assert response.status_code == 403 and err(response) == "ERR_FORBIDDEN"

    def test_another_tenants_course_is_not_found(self, other_admin_client, tenant):
        world = build_world(tenant)
        for params in ({}, {"format": "csv"}):
            response = other_admin_client.get(report_url(world.course), params)
            assert response.status_code == 404 and err(response) == "ERR_NOT_FOUND"

    def test_an_unknown_or_archived_course_is_not_found(self, admin_client, tenant):
        course = build_course(tenant=tenant, status="archived")
        assert admin_client.get(report_url(course)).status_code == 404
        assert admin_client.get(f"/courses/{uuid.uuid4()}/report").status_code == 404

    def test_an_unknown_format_is_a_400_that_names_the_choices(self, admin_client, tenant):
        course = build_course(tenant=tenant)
        response = admin_client.get(report_url(course), {"format": "xlsx"})
        assert response.status_code == 400
        assert "csv" in errmsg(response) or "format" in errmsg(response)

    def test_anonymous_is_401(self, tenant):
        course = build_course(tenant=tenant)
        client = make_client(tenant_id=tenant.id, roles=["admin"])
        client.credentials(HTTP_TENANTID=str(tenant.id))
        assert client.get(report_url(course)).status_code == 401
