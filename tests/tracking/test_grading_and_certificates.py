"""Grading policies (highest, average, first_attempt, last_attempt) and the certificate rules."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from courses.models import AttemptsGrade
from tests.factories import build_course
from tests.tracking.helpers import enroll, lessons_of, start_and_complete
from tracking.grading import graded_score, is_passed, lesson_grade
from tracking.models import AssessmentAttempt, CourseTrack, IssuedCertificate
from tracking.services import lesson_completion_record


class TestPolicies:
    SCORES = [70.0, 40.0, 50.0]

    @pytest.mark.parametrize(
        "policy, expected",
        [(AttemptsGrade.HIGHEST, 70.0), (AttemptsGrade.AVERAGE, 160.0 / 3), (AttemptsGrade.FIRST_ATTEMPT, 70.0),
         (AttemptsGrade.LAST_ATTEMPT, 50.0)],
    )
    def test_each_policy(self, policy, expected):
        assert graded_score(self.SCORES, policy) == pytest.approx(expected)

    def test_no_completed_attempt_has_no_score_and_does_not_pass(self):
        assert graded_score([], AttemptsGrade.HIGHEST) is None
        assert lesson_grade([], policy=AttemptsGrade.HIGHEST, passing_marks=None).passed is False

    def test_passing_is_at_least_passing_marks(self):
        assert is_passed(60, 60) and not is_passed(59.9, 60)
        assert is_passed(0, None)  # no passing marks: any completed attempt passes

    def test_lesson_grade(self):
        grade = lesson_grade(self.SCORES, policy=AttemptsGrade.AVERAGE, passing_marks=60)
        assert grade.score == pytest.approx(160 / 3) and grade.passed is False


def _course(tenant, term, **marked_fields):
    """One module: a marked lesson (considerMarks, passing 60) and an unmarked one."""
    course = build_course(tenant=tenant, modules=1, lessons_per_module=2, certificate_term=term, certificate_id="tpl-1")
    marked, unmarked = lessons_of(course)
    marked.consider_marks, marked.passing_marks = True, 60
    for name, value in marked_fields.items():
        setattr(marked, name, value)
    marked.save()
    return course, marked, unmarked


def _track(client, course):
    return CourseTrack.objects.get(user_id=client.user_id, course=course)


@pytest.mark.django_db
class TestCertificateRules:
    def test_na_completes_without_a_certificate(self, learner_client, tenant):
        course, marked, unmarked = _course(tenant, "NA")
        enroll(course, learner_client.user_id)
        start_and_complete(learner_client, marked, score=100)
        start_and_complete(learner_client, unmarked)
        track = _track(learner_client, course)
        assert track.status == "completed" and track.cert_gen_date is None
        assert not IssuedCertificate.objects.exists()

    def test_complete_all_issues_one_certificate(self, learner_client, tenant):
        course, marked, unmarked = _course(tenant, "COMPLETE_ALL")
        enroll(course, learner_client.user_id)
        start_and_complete(learner_client, marked, score=0)  # marks do not matter for COMPLETE_ALL
        assert not IssuedCertificate.objects.exists()
        start_and_complete(learner_client, unmarked)
        start_and_complete(learner_client, unmarked)  # a further completion issues nothing new
        track = _track(learner_client, course)
        certificate = IssuedCertificate.objects.get()
        assert certificate.track_id == track.id and certificate.user_id == learner_client.user_id
        assert (certificate.name, certificate.template_id) == (course.title, "tpl-1") and len(certificate.token) >= 24
        assert track.cert_gen_date == certificate.issued_at

    @pytest.mark.parametrize(
        "policy, certified",
        [(AttemptsGrade.HIGHEST, True), (AttemptsGrade.AVERAGE, False), (AttemptsGrade.FIRST_ATTEMPT, True),
         (AttemptsGrade.LAST_ATTEMPT, False)],
    )
    def test_pass_all_follows_the_grading_policy(self, learner_client, tenant, policy, certified):
        course, marked, unmarked = _course(tenant, "PASS_ALL", attempts_grade=policy)
        enroll(course, learner_client.user_id)
        for score in (70, 40, 50):
            start_and_complete(learner_client, marked, score=score)
        start_and_complete(learner_client, unmarked)  # the course completes here
        track = _track(learner_client, course)
        assert track.status == "completed"
        assert (track.cert_gen_date is not None) is certified
        assert IssuedCertificate.objects.filter(track=track).count() == int(certified)

    def test_pass_all_failed_then_passed_by_a_later_attempt(self, learner_client, tenant):
        course, marked, unmarked = _course(tenant, "PASS_ALL", attempts_grade=AttemptsGrade.LAST_ATTEMPT)
        enroll(course, learner_client.user_id)
        start_and_complete(learner_client, marked, score=30)
        start_and_complete(learner_client, unmarked)
        track = _track(learner_client, course)
        assert track.status == "completed" and track.cert_gen_date is None
        start_and_complete(learner_client, marked, score=75)
        track.refresh_from_db()
        assert track.cert_gen_date is not None and IssuedCertificate.objects.filter(track=track).count() == 1

    def test_pass_all_ignores_lessons_without_consider_marks(self, learner_client, tenant):
        course, marked, unmarked = _course(tenant, "PASS_ALL")
        unmarked.passing_marks = 90
        unmarked.save(update_fields=["passing_marks"])
        enroll(course, learner_client.user_id)
        start_and_complete(learner_client, marked, score=60)
        start_and_complete(learner_client, unmarked, score=0)
        assert _track(learner_client, course).cert_gen_date is not None

    def test_pass_all_accepts_a_passing_viewer_assessment(self, learner_client, tenant):
        course, marked, unmarked = _course(tenant, "PASS_ALL")
        enroll(course, learner_client.user_id)
        AssessmentAttempt.objects.create(
            user_id=learner_client.user_id, tenant=tenant, collection_id=course.id, batch_id=course.id,
            content_id=marked.id, attempt_id="a1", assessment_ts=timezone.now() - dt.timedelta(minutes=1),
            score=80, max_score=100,
        )
        for lesson in (marked, unmarked):
            lesson_completion_record(
                tenant_id=tenant.id, user_id=learner_client.user_id, course_id=course.id, batch_id=course.id,
                lesson_id=lesson.id,
            )
        assert _track(learner_client, course).cert_gen_date is not None
