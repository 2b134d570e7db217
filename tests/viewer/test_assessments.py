"""POST /v1/assessment/submit and the scoring rules (DECISIONS §6)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from lms.api.errors import ApiError
from tests.viewer.conftest import lesson_ids, wrapped
from tracking.assessments import QuestionEvent, SubmittedAttempt, assessment_attempts_record, attempt_score
from tracking.models import AssessmentAttempt, ContentConsumption, CourseTrack

pytestmark = pytest.mark.django_db

TS = 1_700_000_000_000


def assess(question_id, score, maxscore, ets):
    return {"eid": "ASSESS", "ets": ets, "edata": {"item": {"id": question_id, "maxscore": maxscore}, "score": score}}


def attempt(attempt_id, ts, *events):
    return {"attemptId": attempt_id, "assessmentTs": ts, "events": list(events)}


def submit(client, content_id, *attempts, **context):
    return client.post(
        "/v1/assessment/submit", wrapped(contentId=content_id, assessments=list(attempts), **context), format="json"
    )


def read(client, content_id, **context):
    response = client.post("/v1/view/read", wrapped(contentId=[content_id], **context), format="json")
    assert response.status_code == 200, response.json()
    return response.json()["result"]["contents"][0]


# --- Scoring rules (service level) -----------------------------------------------------------


def test_only_the_latest_event_per_question_counts():
    scored = attempt_score([
        QuestionEvent("q1", 0, 1, ets=10),
        QuestionEvent("q1", 1, 1, ets=30),
        QuestionEvent("q1", 0.5, 1, ets=20),  # arrives late but is older
        QuestionEvent("q2", 2, 3, ets=10),
    ])

    assert (scored.score, scored.max_score) == (3, 4)
    assert scored.question_scores == {"q1": {"score": 1, "max_score": 1}, "q2": {"score": 2, "max_score": 3}}


def test_equal_timestamps_keep_the_later_event():
    scored = attempt_score([QuestionEvent("q1", 0, 1, ets=5), QuestionEvent("q1", 1, 1, ets=5)])

    assert scored.score == 1


def test_a_resubmitted_attempt_replaces_only_when_newer(tenant):
    keys = {
        "tenant_id": tenant.id, "user_id": uuid.uuid4(), "collection_id": (content := uuid.uuid4()),
        "batch_id": content, "content_id": content,
    }
    at = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    first = SubmittedAttempt("a1", at, [QuestionEvent("q1", 1, 2, ets=1)])
    older = SubmittedAttempt("a1", at - dt.timedelta(seconds=1), [QuestionEvent("q1", 0, 2, ets=1)])
    newer = SubmittedAttempt("a1", at + dt.timedelta(seconds=1), [QuestionEvent("q1", 2, 2, ets=1)])

    assert assessment_attempts_record(**keys, attempts=[first]) == 1
    assert assessment_attempts_record(**keys, attempts=[older]) == 0
    assert AssessmentAttempt.objects.get().score == 1
    assert assessment_attempts_record(**keys, attempts=[newer]) == 1
    stored = AssessmentAttempt.objects.get()
    assert (stored.score, stored.assessment_ts) == (2, newer.assessment_ts)


def test_the_same_attempt_twice_in_one_submit_keeps_the_newest(tenant):
    content = uuid.uuid4()
    at = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)

    assessment_attempts_record(
        tenant_id=tenant.id, user_id=uuid.uuid4(), collection_id=content, batch_id=content, content_id=content,
        attempts=[
            SubmittedAttempt("a1", at + dt.timedelta(seconds=5), [QuestionEvent("q1", 3, 5, ets=1)]),
            SubmittedAttempt("a1", at, [QuestionEvent("q1", 5, 5, ets=1)]),
        ],
    )

    assert AssessmentAttempt.objects.get().score == 3


# --- Through the API -------------------------------------------------------------------------


def test_submit_stores_attempts_completes_the_content_and_reports_the_best(learner_client):
    content_id = uuid.uuid4()

    response = submit(
        learner_client, content_id,
        attempt("a1", TS, assess("q1", 1, 1, 1), assess("q2", 0, 1, 2)),
        attempt("a2", TS + 1000, assess("q1", 1, 1, 1), assess("q2", 1, 2, 2), assess("q2", 2, 2, 3)),
    )

    assert response.status_code == 200
    assert response.json()["id"] == "api.view.assess"
    assert response.json()["result"] == {str(content_id): "SUCCESS"}
    assert AssessmentAttempt.objects.count() == 2
    row = ContentConsumption.objects.get(user_id=learner_client.user_id, content_id=content_id)
    assert (row.status, row.progress, row.collection_id, row.batch_id) == (2, 100, content_id, content_id)
    content = read(learner_client, content_id)
    assert (content["score"], content["max_score"], content["status"]) == (3, 3, 2)


def test_best_score_is_reported_with_that_attempts_max(learner_client):
    content_id = uuid.uuid4()
    submit(learner_client, content_id, attempt("a1", TS, assess("q1", 4, 10, 1)))
    submit(learner_client, content_id, attempt("a2", TS + 1, assess("q1", 5, 5, 1), assess("q2", 1, 20, 1)))
    submit(learner_client, content_id, attempt("a3", TS + 2, assess("q1", 2, 2, 1)))

    content = read(learner_client, content_id)

    assert (content["score"], content["max_score"]) == (6, 25)


def test_flat_events_are_accepted(learner_client):
    content_id = uuid.uuid4()

    response = submit(learner_client, content_id, attempt(
        "a1", TS, {"questionId": "q1", "score": 2, "max_score": 2}, {"questionId": "q2", "score": 1, "max_score": 3},
    ))

    assert response.status_code == 200
    stored = AssessmentAttempt.objects.get()
    assert (stored.score, stored.max_score) == (3, 5)
    assert stored.assessment_ts == dt.datetime.fromtimestamp(TS / 1000, tz=dt.UTC)


def test_older_resubmission_through_the_api_is_ignored_but_newer_replaces(learner_client):
    content_id = uuid.uuid4()
    submit(learner_client, content_id, attempt("a1", TS, assess("q1", 2, 4, 1)))
    submit(learner_client, content_id, attempt("a1", TS - 1, assess("q1", 4, 4, 1)))
    assert read(learner_client, content_id)["score"] == 2

    submit(learner_client, content_id, attempt("a1", TS + 1, assess("q1", 1, 4, 1)))

    assert AssessmentAttempt.objects.count() == 1
    assert read(learner_client, content_id)["score"] == 1


def test_submit_in_a_course_context_completes_the_lesson_for_the_track(learner_client, course, enrolled):
    lesson = lesson_ids(course)[0]

    response = submit(learner_client, lesson, attempt("a1", TS, assess("q1", 1, 1, 1)), collectionId=course.id)

    assert response.status_code == 200
    assert CourseTrack.objects.get(enrollment=enrolled).completed_lessons == 1
    stored = AssessmentAttempt.objects.get()
    assert (stored.collection_id, stored.batch_id) == (course.id, course.id)


def test_scores_stay_in_their_context(learner_client, course, enrolled):
    lesson = lesson_ids(course)[0]
    submit(learner_client, lesson, attempt("a1", TS, assess("q1", 1, 1, 1)), collectionId=course.id)

    assert read(learner_client, lesson)["score"] == 1  # across contexts
    assert read(learner_client, lesson, collectionId=course.id)["score"] == 1
    assert read(learner_client, lesson, collectionId=lesson)["score"] is None  # the standalone context


@pytest.mark.parametrize(
    ("assessments", "err"),
    [
        ([], "ERR_BAD_REQUEST"),
        ([{"assessmentTs": TS, "events": [assess("q1", 1, 1, 1)]}], "MANDATORY_PARAMETER_MISSING"),
        ([attempt("a1", TS)], "ERR_BAD_REQUEST"),  # no events
        ([attempt("a1", "yesterday", assess("q1", 1, 1, 1))], "ERR_BAD_REQUEST"),
        ([attempt("a1", TS, {"eid": "INTERACT", "edata": {"item": {"id": "q", "maxscore": 1}, "score": 1}})],
         "ERR_BAD_REQUEST"),
        ([attempt("a1", TS, {"eid": "ASSESS", "edata": {"item": {"maxscore": 1}, "score": 1}})],
         "MANDATORY_PARAMETER_MISSING"),
        ([attempt("a1", TS, {"eid": "ASSESS", "ets": 1})], "MANDATORY_PARAMETER_MISSING"),
        ([attempt("a1", TS, assess("q1", -1, 1, 1))], "ERR_BAD_REQUEST"),
        ([attempt("a1", TS, assess("q1", 3, 1, 1))], "ERR_BAD_REQUEST"),  # score above maxscore
        ([attempt("a1", TS, assess("q1", "one", 1, 1))], "ERR_BAD_REQUEST"),
        (["not an attempt"], "ERR_BAD_REQUEST"),
        # Beyond the per-question cap: 1e308 would sum to infinity and break every later read.
        ([attempt("a1", TS, assess("q1", 1, 1e308, 1))], "ERR_BAD_REQUEST"),
        ([attempt("a1", TS, assess("q1", 1e308, 1e308, 1))], "ERR_BAD_REQUEST"),
        ([attempt("a1", TS, assess("q1", 1, 1_000_001, 1))], "ERR_BAD_REQUEST"),
        ([attempt("a1", TS, {"questionId": "q1", "score": 1e308, "max_score": 1e308})], "ERR_BAD_REQUEST"),
        ([attempt("a1", TS, {"questionId": "q1", "score": 1, "max_score": "Infinity"})], "ERR_BAD_REQUEST"),
        ([attempt("a1", TS, {"questionId": "q1", "score": "NaN", "max_score": 1})], "ERR_BAD_REQUEST"),
    ],
)
def test_malformed_assessments_are_rejected_and_write_nothing(learner_client, assessments, err):
    response = learner_client.post(
        "/v1/assessment/submit", wrapped(contentId=uuid.uuid4(), assessments=assessments), format="json"
    )

    assert response.status_code == 400
    assert (response.json()["responseCode"], response.json()["params"]["err"]) == ("CLIENT_ERROR", err)
    assert not AssessmentAttempt.objects.exists()
    assert not ContentConsumption.objects.exists()


def test_missing_assessments_is_a_missing_parameter(learner_client):
    response = learner_client.post("/v1/assessment/submit", wrapped(contentId=uuid.uuid4()), format="json")

    assert response.json()["params"]["err"] == "MANDATORY_PARAMETER_MISSING"


def test_not_enrolled_submit_writes_no_attempt(learner_client, course):
    response = submit(
        learner_client, lesson_ids(course)[0], attempt("a1", TS, assess("q1", 1, 1, 1)), collectionId=course.id
    )

    assert response.json()["params"]["err"] == "ERR_NOT_ENROLLED"
    assert not AssessmentAttempt.objects.exists()


def test_learner_may_not_submit_for_another_user(learner_client):
    response = submit(learner_client, uuid.uuid4(), attempt("a1", TS, assess("q1", 1, 1, 1)), userId=uuid.uuid4())

    assert response.status_code == 403
    assert not AssessmentAttempt.objects.exists()


def test_staff_submit_for_a_learner_and_other_tenants_do_not_see_it(
    admin_client, other_admin_client, learner_client, course, enrolled
):
    lesson = lesson_ids(course)[0]
    response = submit(
        admin_client, lesson, attempt("a1", TS, assess("q1", 1, 2, 1)), collectionId=course.id,
        userId=learner_client.user_id,
    )
    assert response.status_code == 200
    assert AssessmentAttempt.objects.get().user_id == learner_client.user_id

    response = submit(
        other_admin_client, lesson, attempt("a2", TS, assess("q1", 2, 2, 1)), collectionId=course.id,
        userId=learner_client.user_id,
    )
    assert response.json()["params"]["err"] == "ERR_UNKNOWN_COURSE"
    other_read = other_admin_client.post(
        "/v1/view/read", wrapped(contentId=[lesson], userId=learner_client.user_id), format="json"
    ).json()["result"]["contents"][0]
    assert (other_read["score"], other_read["status"]) == (None, 0)


def test_largest_accepted_scores_sum_to_finite_values_every_read_can_render(learner_client, course, enrolled):
    lesson = lesson_ids(course)[0]
    events = [assess(f"q{n}", 1_000_000, 1_000_000, n) for n in range(1000)]

    response = submit(learner_client, lesson, attempt("a1", TS, *events), collectionId=course.id)

    assert response.status_code == 200, response.json()
    content = read(learner_client, lesson, collectionId=course.id)
    assert (content["score"], content["max_score"]) == (1e9, 1e9)
    summaries = learner_client.get(f"/v1/viewer/summary/list/{learner_client.user_id}")
    assert summaries.status_code == 200, summaries.json()
    assert summaries.json()["result"]["summary"][0]["assessmentStatus"][str(lesson)] == {
        "score": 1e9, "max_score": 1e9,
    }


def test_service_refuses_an_attempt_whose_sums_are_not_finite(tenant):
    content_id = uuid.uuid4()
    overflowing = SubmittedAttempt(
        attempt_id="a1", assessment_ts=dt.datetime.now(dt.UTC),
        events=[QuestionEvent("q1", 1e308, 1e308, ets=1), QuestionEvent("q2", 1e308, 1e308, ets=1)],
    )

    with pytest.raises(ApiError) as refused:
        assessment_attempts_record(
            tenant_id=tenant.id, user_id=uuid.uuid4(), collection_id=content_id, batch_id=content_id,
            content_id=content_id, attempts=[overflowing],
        )

    assert (refused.value.status_code, refused.value.err) == (400, "ERR_VALIDATION")
    assert not AssessmentAttempt.objects.exists()
