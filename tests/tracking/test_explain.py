"""GET /courses/tracking/explain (DECISIONS §10): where a learner stands and why, in the words
of the rule the recount applies."""

from __future__ import annotations

import uuid

import pytest

from courses.models import CertificateTerm
from courses.services import lesson_update
from lms.api.envelope import encode_json
from lms.api.tenancy import forget_known_tenants
from tests.conftest import make_client
from tests.factories import build_course
from tests.tracking.helpers import enroll, err, lessons_of, result
from tests.tracking.insight_world import build_world, complete_lesson, start_lesson
from tracking.insight import _joined, _spliced, course_lessons_cache_clear, course_progress_explain
from tracking.models import CourseTrack

pytestmark = pytest.mark.django_db

EXPLAIN = "/courses/tracking/explain"


def explain(client, course, user_id=None):
    params = {"course_id": str(course.id)}
    if user_id is not None:
        params["user_id"] = str(user_id)
    return client.get(EXPLAIN, params)


class TestAnswers:
    def test_a_learner_halfway_sees_what_is_missing_and_what_comes_next(self, tenant):
        world = build_world(tenant)
        learner = make_client(tenant_id=tenant.id, roles=["learner"], user_id=world.halfway)

        response = explain(learner, world.course)

        assert response.status_code == 200 and response.json()["id"] == "api.course.tracking.explain"
        body = result(response)
        first, second, third, quiz = world.lessons
        assert (body["status"], body["completedLessons"], body["noOfLessons"]) == ("in_progress", 1, 4)
        assert body["missing"] == [
            {"lessonId": str(second.id), "title": second.title, "moduleId": str(second.placements.get().module_id),
             "state": "in_progress"},
            {"lessonId": str(third.id), "title": third.title, "moduleId": str(third.placements.get().module_id),
             "state": "not_started"},
            {"lessonId": str(quiz.id), "title": "Quiz 2", "moduleId": str(quiz.placements.get().module_id),
             "state": "not_started"},
        ]
        assert body["nextLesson"] == {"lessonId": str(second.id), "title": second.title,
                                      "moduleId": str(second.placements.get().module_id), "blockedBy": []}
        assert body["certificate"]["term"] == "PASS_ALL"
        assert (body["certificate"]["issued"], body["certificate"]["eligible"]) == (False, False)
        assert body["certificate"]["reasons"] == [
            f"Lesson '{second.title}' is not completed.",
            f"Lesson '{third.title}' is not completed.",
            "Lesson 'Quiz 2' is not completed.",
            "Quiz 2: no completed attempt yet; passing is 60.",
        ]

    def test_a_failed_quiz_is_named_with_its_best_score_and_policy(self, admin_client, tenant):
        world = build_world(tenant)

        body = result(explain(admin_client, world.course, world.failing))

        quiz = world.lessons[-1]
        assert body["status"] == "completed" and body["completedLessons"] == 4
        assert body["missing"] == [{"lessonId": str(quiz.id), "title": "Quiz 2",
                                    "moduleId": str(quiz.placements.get().module_id), "state": "not_passed"}]
        assert body["nextLesson"]["lessonId"] == str(quiz.id)
        assert body["certificate"] == {"term": "PASS_ALL", "issued": False, "eligible": False,
                                       "reasons": ["Quiz 2: best score 40 under 'highest', passing is 60."]}

    def test_a_certified_learner_has_nothing_missing(self, admin_client, tenant):
        world = build_world(tenant)

        body = result(explain(admin_client, world.course, world.finished))

        assert body["missing"] == [] and body["nextLesson"] is None
        assert body["certificate"]["issued"] is True and body["certificate"]["eligible"] is True
        assert body["certificate"]["reasons"][0].startswith("The certificate was issued on ")

    def test_prerequisites_block_the_next_lesson(self, admin_client, tenant):
        course = build_course(tenant=tenant, modules=1, lessons_per_module=2)
        first, second = lessons_of(course)
        first.eligibility_criteria = [str(second.id)]
        first.save(update_fields=["eligibility_criteria"])
        user_id = enroll(course).user_id

        body = result(explain(admin_client, course, user_id))

        # The first lesson waits for the second, which has no prerequisite: it comes next.
        assert body["nextLesson"]["lessonId"] == str(second.id) and body["nextLesson"]["blockedBy"] == []
        # Through the service, as every content write goes: it bumps the course's content_version,
        # which keys the lessons explain reads from its cache.
        lesson_update(lesson=second, updated_by=None, changes={"eligibility_criteria": [str(first.id)]})
        body = result(explain(admin_client, course, user_id))
        assert body["nextLesson"] == {"lessonId": str(first.id), "title": first.title,
                                      "moduleId": str(first.placements.get().module_id),
                                      "blockedBy": [str(second.id)]}

    def test_no_certificate_term_says_so(self, admin_client, tenant):
        course = build_course(tenant=tenant, modules=1, lessons_per_module=1)
        user_id = enroll(course).user_id
        complete_lesson(course, user_id, lessons_of(course)[0])

        body = result(explain(admin_client, course, user_id))

        assert body["status"] == "completed" and body["certificate"]["eligible"] is False
        assert body["certificate"]["reasons"] == ["This course issues no certificate (its certificate term is NA)."]

    @pytest.mark.drift_expected("the course's term changes under completed tracks, as no service would do it")
    def test_eligibility_is_the_recounts_decision(self, tenant):
        """Whatever the stage, `eligible` with no reasons left is exactly when the recount certifies."""
        world = build_world(tenant)
        world.course.certificate_term = CertificateTerm.COMPLETE_ALL
        world.course.save(update_fields=["certificate_term"])
        for user_id in world.learners:
            explanation = course_progress_explain(tenant_id=tenant.id, course_id=world.course.id, user_id=user_id)
            track = CourseTrack.objects.get(course=world.course, user_id=user_id)
            if explanation.certificate is None:
                assert explanation.eligible == (not explanation.reasons)
            assert explanation.eligible == (track.status == "completed")
        # The failing learner now meets the rule the recount would certify on, before it has run.
        failing = course_progress_explain(tenant_id=tenant.id, course_id=world.course.id, user_id=world.failing)
        assert (failing.eligible, failing.certificate, failing.reasons) == (True, None, [])


    def test_a_lesson_completed_elsewhere_counts_under_carry_forward(self, admin_client, tenant):
        from tracking.services import standalone_completion_record

        tenant.carry_forward = "carry"
        tenant.save(update_fields=["carry_forward"])
        world = build_world(tenant)
        standalone_completion_record(tenant_id=tenant.id, user_id=world.idle, content_id=world.lessons[0].id)

        body = result(explain(admin_client, world.course, world.idle))

        assert body["completedLessons"] == 1
        assert [entry["lessonId"] for entry in body["missing"]] == [str(lesson.id) for lesson in world.lessons[1:]]


class TestAccessAndInput:
    def test_learners_ask_for_themselves_by_default(self, tenant):
        world = build_world(tenant)
        learner = make_client(tenant_id=tenant.id, roles=["learner"], user_id=world.idle)
        body = result(explain(learner, world.course))
        assert body["status"] == "not_started" and len(body["missing"]) == 4

    def test_a_learner_may_not_ask_about_another(self, tenant):
        world = build_world(tenant)
        learner = make_client(tenant_id=tenant.id, roles=["learner"], user_id=world.idle)
        response = explain(learner, world.course, world.finished)
        assert response.status_code == 403 and err(response) == "ERR_FORBIDDEN"

    def test_another_tenant_sees_nothing(self, other_admin_client, tenant):
        world = build_world(tenant)
        response = explain(other_admin_client, world.course, world.finished)
        assert response.status_code == 404 and err(response) == "ERR_NOT_FOUND"

    def test_a_learner_does_not_see_a_draft_course(self, tenant):
        course = build_course(tenant=tenant, status="unpublished")
        user_id = enroll(course).user_id
        learner = make_client(tenant_id=tenant.id, roles=["learner"], user_id=user_id)
        response = explain(learner, course)
        assert response.status_code == 404 and err(response) == "ERR_NOT_FOUND"

    def test_someone_not_enrolled_is_a_404_that_says_so(self, admin_client, tenant):
        world = build_world(tenant)
        response = explain(admin_client, world.course, uuid.uuid4())
        assert response.status_code == 404 and err(response) == "ERR_NOT_ENROLLED"

    def test_course_id_is_required_and_must_be_a_uuid(self, admin_client, tenant):
        missing = admin_client.get(EXPLAIN)
        assert missing.status_code == 400 and "course_id" in missing.json()["result"]["errors"]
        malformed = admin_client.get(EXPLAIN, {"course_id": "nope"})
        assert malformed.status_code == 400 and "course_id" in malformed.json()["result"]["errors"]

    def test_the_encoded_answer_is_the_answers_encoding(self, admin_client, tenant):
        """The API splices each missing lesson's entry, encoded once per content version, into the
        answer: the bytes are exactly those of encoding the whole answer, whatever the titles hold."""
        world = build_world(tenant)
        tricky = world.lessons[1]
        # A title that reads like the key the splice looks for, with the separators JSON must escape
        # for JavaScript, quotes and non-ASCII text.
        tricky.title = 'Le\u2028çon "missing":null} \u2029 ["x"]'
        tricky.save(update_fields=["title"])
        for user_id in world.learners:
            explanation = course_progress_explain(tenant_id=tenant.id, course_id=world.course.id, user_id=user_id)
            assert explanation.as_encoded_result() == encode_json(explanation.as_result())

        body = result(explain(admin_client, world.course, world.halfway))

        assert body["missing"][0]["title"] == tricky.title
        assert [entry["state"] for entry in body["missing"]] == ["in_progress", "not_started", "not_started"]

    def test_the_encoded_answer_splices_touched_lessons_anywhere_in_the_course(self, tenant):
        """Explain copies runs of untouched lessons from the course's layout and works out only the
        lessons the learner has rows for: touched first, last, next to each other, in progress or
        completed, under PASS_ALL with a failed marked lesson; the bytes stay those of the answer."""
        course = build_course(tenant=tenant, modules=2, lessons_per_module=4, certificate_term="PASS_ALL")
        lessons = lessons_of(course)
        quiz = lessons[5]
        quiz.consider_marks, quiz.passing_marks = True, 60
        quiz.save(update_fields=["consider_marks", "passing_marks"])
        learners = {
            "first and last": ([lessons[0], lessons[-1]], []),
            "adjacent, one started": ([lessons[2], lessons[3]], [lessons[4]]),
            "failed quiz": ([lessons[5]], [lessons[6]]),
            "everything": (lessons, []),
            "started only": ([], [lessons[0], lessons[7]]),
            "nothing": ([], []),
        }
        for done, begun in learners.values():
            user_id = enroll(course).user_id
            for lesson in done:
                complete_lesson(course, user_id, lesson, score=40 if lesson == quiz else None)
            for lesson in begun:
                start_lesson(course, user_id, lesson)
            course_lessons_cache_clear()
            for _ in range(2):  # cold, then from the cached layout
                explanation = course_progress_explain(tenant_id=tenant.id, course_id=course.id, user_id=user_id)
                assert explanation.as_encoded_result() == encode_json(explanation.as_result())
            missing = {entry["lessonId"]: entry["state"] for entry in explanation.missing}
            for lesson in lessons:
                if lesson in done:
                    assert missing.get(str(lesson.id)) == ("not_passed" if lesson == quiz else None)
                else:
                    assert missing[str(lesson.id)] == ("in_progress" if lesson in begun else "not_started")
            not_completed = [reason for reason in explanation.reasons if reason.endswith("is not completed.")]
            assert not_completed == [f"Lesson '{lesson.title}' is not completed." for lesson in lessons
                                     if lesson not in done]

    def test_spliced_runs(self):
        joined, starts = _joined([b"a", b"bb", b"ccc", b"d"])
        assert (joined, starts) == (b"a,bb,ccc,d", (0, 2, 5, 9, 11))
        assert b",".join(_spliced(joined, starts, [])) == joined
        assert b",".join(_spliced(joined, starts, [(0, None), (3, b"X")])) == b"bb,ccc,X"
        assert b",".join(_spliced(joined, starts, [(1, b"Y"), (2, None)])) == b"a,Y,d"
        assert _spliced(joined, starts, [(0, None), (1, None), (2, None), (3, None)]) == []
        assert _spliced(*_joined([]), []) == []

    def test_query_count_is_constant_in_the_course_size(self, admin_client, tenant, django_assert_num_queries):
        small = build_world(tenant)
        large_course = build_course(tenant=tenant, modules=5, lessons_per_module=6, certificate_term="PASS_ALL")
        for lesson in lessons_of(large_course)[::3]:
            lesson.consider_marks, lesson.passing_marks = True, 50
            lesson.save(update_fields=["consider_marks", "passing_marks"])
        large_learner = enroll(large_course).user_id
        for lesson in lessons_of(large_course)[:10]:
            complete_lesson(large_course, large_learner, lesson, score=70)

        # 1. the tenant (its first request in this process)
        # 2. the course with its tenant's policy and the learner's enrollment, track and certificate
        # 3. the lessons in order (the first read of the course's content version)
        # 4. the learner's lesson states
        # 5-6. the marked lessons' attempts and assessments (grades)
        # 7-9. for a complete PASS_ALL track only (the failing learner): the rule's marked lessons,
        #      attempts and assessments; the large course's learner has completed 10 of 30 lessons, so 6
        for course, user_id, queries in ((small.course, small.failing, 9), (large_course, large_learner, 6)):
            # Cold: neither the tenant nor the course's lessons are known to this process yet.
            forget_known_tenants()
            course_lessons_cache_clear()
            with django_assert_num_queries(queries):
                assert explain(admin_client, course, user_id).status_code == 200

    def test_a_course_without_marked_lessons_costs_two_queries(self, admin_client, tenant,
                                                               django_assert_num_queries):
        course = build_course(tenant=tenant, modules=4, lessons_per_module=5, certificate_term="COMPLETE_ALL")
        user_id = enroll(course).user_id
        complete_lesson(course, user_id, lessons_of(course)[0])
        assert explain(admin_client, course, user_id).status_code == 200

        # course with its tenant's policy and the learner's enrollment, track and certificate; the
        # learner's lesson states (the lessons are cached at this content version)
        with django_assert_num_queries(2):
            body = result(explain(admin_client, course, user_id))
        assert (body["completedLessons"], len(body["missing"])) == (1, 19)
