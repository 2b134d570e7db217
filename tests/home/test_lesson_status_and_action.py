"""GET /lessons/tracking/status and `action` on POST /lessons/tracking (DECISIONS §11): the status
answers what the start would do, from the same decision."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import make_client
from tests.tracking.helpers import enroll, err, lessons_of, result, start, update
from tracking.models import LessonAttempt

STATUS = "/lessons/tracking/status"


def status_of(client, lesson, **params):
    response = client.get(STATUS, {"lesson_id": str(lesson.id), **params})
    assert response.status_code == 200, response.json()
    return result(response)


def test_a_fresh_lesson_can_start_and_nothing_is_written(enrolled_learner, course):
    lesson = lessons_of(course)[0]
    status = status_of(enrolled_learner, lesson)
    assert status == {
        "canStart": True, "canResume": False, "canReattempt": True, "attemptsUsed": 0, "attemptsAllowed": 0,
        "eligible": True, "requiredLessons": [], "lastAttempt": None, "nextAction": "create", "refusal": None,
    }
    assert not LessonAttempt.objects.exists()


def test_resume_action_and_status_agree(enrolled_learner, course):
    lesson = lessons_of(course)[0]
    lesson.resume = True
    lesson.save(update_fields=["resume"])
    assert status_of(enrolled_learner, lesson)["canResume"] is False

    response = start(enrolled_learner, lesson, action="resume")
    assert (response.status_code, err(response)) == (409, "ERR_NOTHING_TO_RESUME")
    assert "action" in response.json()["params"]["errmsg"]
    assert not LessonAttempt.objects.exists()

    first = result(start(enrolled_learner, lesson))
    status = status_of(enrolled_learner, lesson)
    assert (status["canResume"], status["nextAction"], status["lastAttempt"]["id"]) == (True, "resume", first["id"])
    resumed = start(enrolled_learner, lesson, action="resume")
    assert (resumed.status_code, result(resumed)["id"]) == (200, first["id"])


def test_start_action_opens_a_new_attempt_beside_the_unfinished_one(enrolled_learner, course):
    lesson = lessons_of(course)[0]
    lesson.resume, lesson.no_of_attempts = True, 2
    lesson.save(update_fields=["resume", "no_of_attempts"])
    first = result(start(enrolled_learner, lesson))

    second = start(enrolled_learner, lesson, action="start")
    assert second.status_code == 201 and result(second)["attempt"] == 2
    assert LessonAttempt.objects.get(pk=first["id"]).status == "started"  # left as it was

    # Both count toward the limit: the status says a third cannot start, and the start agrees.
    status = status_of(enrolled_learner, lesson)
    assert (status["attemptsUsed"], status["attemptsAllowed"], status["canReattempt"]) == (2, 2, False)
    assert status["canStart"] is True and status["nextAction"] == "resume"  # the default still resumes
    third = start(enrolled_learner, lesson, action="start")
    assert (third.status_code, err(third)) == (400, "ERR_MAX_ATTEMPTS")


def test_used_up_attempts_refuse_in_both(enrolled_learner, course):
    lesson = lessons_of(course)[0]
    lesson.no_of_attempts = 1
    lesson.save(update_fields=["no_of_attempts"])
    update(enrolled_learner, result(start(enrolled_learner, lesson))["id"], status="completed")
    status = status_of(enrolled_learner, lesson)
    assert (status["canStart"], status["refusal"]["err"]) == (False, "ERR_MAX_ATTEMPTS")
    assert err(start(enrolled_learner, lesson)) == status["refusal"]["err"]


def test_prerequisites_are_listed_and_refuse_in_both(enrolled_learner, course):
    first, second = lessons_of(course)[:2]
    second.eligibility_criteria = [str(first.id)]
    second.save(update_fields=["eligibility_criteria"])
    status = status_of(enrolled_learner, second)
    assert status["eligible"] is False and status["canStart"] is False and status["canReattempt"] is False
    assert status["requiredLessons"] == [{"lessonId": str(first.id), "title": first.title, "completed": False}]
    assert err(start(enrolled_learner, second)) == status["refusal"]["err"] == "ERR_PREREQUISITES_MISSING"

    update(enrolled_learner, result(start(enrolled_learner, first))["id"], status="completed")
    status = status_of(enrolled_learner, second)
    assert status["eligible"] is True and status["requiredLessons"][0]["completed"] is True
    assert start(enrolled_learner, second).status_code == 201


def test_bad_input_and_access(enrolled_learner, course, tenant, other_admin_client, admin_client):
    lesson = lessons_of(course)[0]
    assert enrolled_learner.get(STATUS).status_code == 400  # lesson_id is required
    assert enrolled_learner.get(STATUS, {"lesson_id": "7"}).status_code == 400
    bad_action = start(enrolled_learner, lesson, action="restart")
    assert bad_action.status_code == 400 and "start or resume" in str(bad_action.json()["result"])
    other = enrolled_learner.get(STATUS, {"lesson_id": str(lesson.id), "user_id": str(uuid.uuid4())})
    assert other.status_code == 403
    # Staff read anyone's; another tenant's admin does not find the lesson.
    staff = admin_client.get(STATUS, {"lesson_id": str(lesson.id), "user_id": str(enrolled_learner.user_id)})
    assert staff.status_code == 200
    assert other_admin_client.get(STATUS, {"lesson_id": str(lesson.id)}).status_code == 404
    not_enrolled = make_client(tenant_id=tenant.id, roles=["learner"]).get(STATUS, {"lesson_id": str(lesson.id)})
    assert (not_enrolled.status_code, err(not_enrolled)) == (400, "ERR_NOT_ENROLLED")


def test_query_count_is_constant(enrolled_learner, course, django_assert_max_num_queries):
    first, second = lessons_of(course)[:2]
    second.eligibility_criteria, second.resume = [str(first.id)], True
    second.save(update_fields=["eligibility_criteria", "resume"])
    update(enrolled_learner, result(start(enrolled_learner, first))["id"], status="completed")
    for _ in range(3):
        start(enrolled_learner, second, action="start")
    # lesson with placements; enrollment; carry setting; completed prerequisites; their titles;
    # attempt count; latest attempt (the unfinished one is the latest here)
    with django_assert_max_num_queries(7):
        status_of(enrolled_learner, second)
    for _ in range(20):
        start(enrolled_learner, second, action="start")
    with django_assert_max_num_queries(7):  # the same for seven times the attempts
        status_of(enrolled_learner, second)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_start_actions_number_attempts_once_each(tenant):
    from tests.factories import build_course
    from tests.tracking.test_concurrency import assert_recount_finds_nothing, run_concurrently

    course = build_course(tenant=tenant, modules=1, lessons_per_module=1)
    lesson = lessons_of(course)[0]
    lesson.resume, lesson.no_of_attempts = True, 12
    lesson.save(update_fields=["resume", "no_of_attempts"])
    enrollment = enroll(course)

    def work(i):
        client = make_client(tenant_id=tenant.id, roles=["learner"], user_id=enrollment.user_id)
        return start(client, lesson, action="start" if i % 2 else "resume").status_code

    codes = run_concurrently(20, work)
    numbers = sorted(LessonAttempt.objects.filter(lesson=lesson).values_list("attempt", flat=True))
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) <= 12
    # Every start either opened a numbered attempt, resumed one, hit the limit or found nothing to resume.
    assert set(codes) <= {200, 201, 400, 409}
    assert codes.count(201) == len(numbers)
    assert_recount_finds_nothing()
