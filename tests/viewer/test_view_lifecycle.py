"""POST /v1/view/start|update|end: the key cascade, the lifecycle and the course context rules."""

from __future__ import annotations

import uuid

import pytest

from courses.models import ContentStatus, Lesson
from courses.services import (
    course_archive,
    course_set_status,
    lesson_archive,
    lesson_set_status,
    module_set_status,
    placement_archive,
)
from lms.events.models import Event
from tests.factories import PlacementFactory, build_course
from tests.viewer.conftest import enrol, lesson_ids, wrapped
from tracking.models import AssessmentAttempt, ContentConsumption, CourseTrack, CourseTrackStatus, IssuedCertificate

pytestmark = pytest.mark.django_db


def _row(user_id, content_id, collection_id=None, batch_id=None) -> ContentConsumption:
    collection_id = collection_id or content_id
    return ContentConsumption.objects.get(
        user_id=user_id, collection_id=collection_id, batch_id=batch_id or collection_id, content_id=content_id
    )


def _post(client, path, **fields):
    return client.post(path, wrapped(**fields), format="json")


# --- Scenario 1: standalone content --------------------------------------------------------


def test_standalone_content_is_recorded_under_content_content_content(learner_client):
    content_id = uuid.uuid4()

    response = _post(learner_client, "/v1/view/start", contentId=content_id)

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == "api.view.start" and body["responseCode"] == "OK"
    assert body["result"] == {str(content_id): "Progress started"}
    row = _row(learner_client.user_id, content_id)
    assert (row.collection_id, row.batch_id, row.status, row.view_count) == (content_id, content_id, 1, 1)


def test_batch_defaults_to_the_collection(learner_client, course, enrolled):
    lesson = lesson_ids(course)[0]

    assert _post(learner_client, "/v1/view/start", contentId=lesson, collectionId=course.id).status_code == 200

    assert _row(learner_client.user_id, lesson, course.id, course.id).status == 1


def test_full_lifecycle_in_a_course_context(learner_client, course, enrolled):
    lesson = lesson_ids(course)[0]
    track = CourseTrack.objects.get(enrollment=enrolled)
    assert track.status == CourseTrackStatus.NOT_STARTED

    assert _post(learner_client, "/v1/view/start", contentId=lesson, collectionId=course.id).status_code == 200
    track.refresh_from_db()
    enrolled.refresh_from_db()
    assert (track.status, enrolled.state) == (CourseTrackStatus.IN_PROGRESS, 1)

    response = _post(learner_client, "/v1/view/update", contentId=lesson, collectionId=course.id, progress=34)
    assert response.json()["result"] == {str(lesson): "SUCCESS"}
    assert _row(learner_client.user_id, lesson, course.id).progress == 34
    track.refresh_from_db()
    assert track.completed_lessons == 0  # progress updates never roll up

    response = _post(learner_client, "/v1/view/end", contentId=lesson, collectionId=course.id)
    assert response.json()["result"] == {str(lesson): "Progress ended"}
    row = _row(learner_client.user_id, lesson, course.id)
    assert (row.status, row.progress) == (2, 100) and row.completed_at is not None
    track.refresh_from_db()
    assert track.completed_lessons == 1


def test_view_end_completes_the_course_track_and_issues_the_certificate_once(learner_client, course, enrolled):
    for lesson in lesson_ids(course) * 2:
        assert _post(learner_client, "/v1/view/end", contentId=lesson, collectionId=course.id).status_code == 200

    track = CourseTrack.objects.get(enrollment=enrolled)
    enrolled.refresh_from_db()
    assert (track.completed_lessons, track.no_of_lessons, track.status) == (4, 4, CourseTrackStatus.COMPLETED)
    assert enrolled.state == 2 and track.timeend is not None
    assert IssuedCertificate.objects.filter(track=track).count() == 1


# --- Monotonic merges and revisits ------------------------------------------------------------


def test_progress_merges_by_maximum_and_never_goes_down(learner_client):
    content_id = uuid.uuid4()
    for progress in (10, 60, 30, 0):
        _post(learner_client, "/v1/view/update", contentId=content_id, progress=progress)

    row = _row(learner_client.user_id, content_id)
    assert (row.progress, row.status) == (60, 1)


def test_revisits_after_completion_only_count_views_and_touch_last_access(learner_client):
    content_id = uuid.uuid4()
    _post(learner_client, "/v1/view/start", contentId=content_id)
    _post(learner_client, "/v1/view/end", contentId=content_id)
    completed = _row(learner_client.user_id, content_id)

    _post(learner_client, "/v1/view/start", contentId=content_id)
    _post(learner_client, "/v1/view/update", contentId=content_id, progress=5)
    _post(learner_client, "/v1/view/end", contentId=content_id)

    row = _row(learner_client.user_id, content_id)
    assert (row.status, row.progress, row.view_count) == (2, 100, 2)
    assert row.completed_at == completed.completed_at
    assert row.first_accessed_at == completed.first_accessed_at
    assert row.last_accessed_at > completed.last_accessed_at


def test_start_after_completion_does_not_reopen_the_content(learner_client):
    content_id = uuid.uuid4()
    _post(learner_client, "/v1/view/end", contentId=content_id)
    _post(learner_client, "/v1/view/start", contentId=content_id)

    row = _row(learner_client.user_id, content_id)
    assert (row.status, row.progress) == (2, 100)


# --- Bad input: 400 CLIENT_ERROR, nothing written ---------------------------------------------


@pytest.mark.parametrize(
    ("body", "err", "field"),
    [
        ({"contentId": "x"}, "MANDATORY_PARAMETER_MISSING", "request"),  # no wrapper
        ({"request": {}}, "MANDATORY_PARAMETER_MISSING", "contentId"),
        ({"request": {"contentId": "not-a-uuid", "progress": 5}}, "ERR_BAD_REQUEST", "contentId"),
        ({"request": {"contentId": str(uuid.uuid4()), "progress": 101}}, "ERR_BAD_REQUEST", "progress"),
        ({"request": {"contentId": str(uuid.uuid4()), "progress": -1}}, "ERR_BAD_REQUEST", "progress"),
        ({"request": {"contentId": str(uuid.uuid4()), "progress": "half"}}, "ERR_BAD_REQUEST", "progress"),
        ({"request": {"contentId": str(uuid.uuid4())}}, "MANDATORY_PARAMETER_MISSING", "progress"),
        ({"request": None}, "ERR_BAD_REQUEST", "request"),
    ],
)
def test_update_rejects_bad_input_with_a_client_error(learner_client, body, err, field):
    response = learner_client.post("/v1/view/update", body, format="json")

    assert response.status_code == 400
    payload = response.json()
    assert (payload["responseCode"], payload["params"]["err"], payload["params"]["status"]) == (
        "CLIENT_ERROR", err, "failed"
    )
    assert field in payload["result"]["errors"]
    assert payload["params"]["errmsg"]
    assert not ContentConsumption.objects.exists()


def test_unparseable_json_is_a_client_error(learner_client):
    response = learner_client.generic("POST", "/v1/view/start", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["responseCode"] == "CLIENT_ERROR"


def test_unknown_course_is_a_client_error(learner_client):
    response = _post(learner_client, "/v1/view/start", contentId=uuid.uuid4(), collectionId=uuid.uuid4())

    assert response.status_code == 400
    assert response.json()["params"]["err"] == "ERR_UNKNOWN_COURSE"
    assert not ContentConsumption.objects.exists()


def test_archived_course_is_unknown(learner_client, course, enrolled):
    course.status = ContentStatus.ARCHIVED
    course.save(update_fields=["status"])

    response = _post(learner_client, "/v1/view/start", contentId=lesson_ids(course)[0], collectionId=course.id)

    assert response.json()["params"]["err"] == "ERR_UNKNOWN_COURSE"


def test_not_enrolled_is_a_client_error_and_writes_nothing(learner_client, course):
    response = _post(learner_client, "/v1/view/end", contentId=lesson_ids(course)[0], collectionId=course.id)

    assert response.status_code == 400
    assert response.json()["params"]["err"] == "ERR_NOT_ENROLLED"
    assert not ContentConsumption.objects.exists()


def test_enrolment_in_another_batch_does_not_count(learner_client, course, enrolled):
    response = _post(
        learner_client, "/v1/view/start", contentId=lesson_ids(course)[0], collectionId=course.id, batchId=uuid.uuid4()
    )

    assert response.json()["params"]["err"] == "ERR_NOT_ENROLLED"


def test_inactive_enrolment_is_refused(learner_client, course):
    enrol(course, learner_client.user_id, active=False)

    response = _post(learner_client, "/v1/view/start", contentId=lesson_ids(course)[0], collectionId=course.id)

    assert response.status_code == 400
    assert response.json()["params"]["err"] == "ERR_NOT_ENROLLED"
    assert "not active" in response.json()["params"]["errmsg"]


def test_content_outside_the_course_is_refused(learner_client, course, enrolled, tenant):
    other_course = build_course(tenant=tenant, modules=1, lessons_per_module=1)

    response = _post(
        learner_client, "/v1/view/start", contentId=lesson_ids(other_course)[0], collectionId=course.id
    )

    assert response.status_code == 400
    assert response.json()["params"]["err"] == "ERR_CONTENT_NOT_IN_COURSE"
    assert not ContentConsumption.objects.exists()


def test_archived_placement_is_not_a_lesson_of_the_course(learner_client, course, enrolled):
    placement = course.placements.first()
    placement_archive(placement=placement)

    response = _post(learner_client, "/v1/view/end", contentId=placement.lesson_id, collectionId=course.id)

    assert response.json()["params"]["err"] == "ERR_CONTENT_NOT_IN_COURSE"


# --- Permissions and tenants ---------------------------------------------------------------


def test_learner_may_not_act_for_another_user(learner_client):
    response = _post(learner_client, "/v1/view/start", contentId=uuid.uuid4(), userId=uuid.uuid4())

    assert response.status_code == 403
    assert response.json()["responseCode"] == "UNAUTHORIZED"
    assert not ContentConsumption.objects.exists()


def test_learner_may_name_themselves(learner_client):
    content_id = uuid.uuid4()

    response = _post(learner_client, "/v1/view/start", contentId=content_id, userId=learner_client.user_id)

    assert response.status_code == 200
    assert _row(learner_client.user_id, content_id).view_count == 1


def test_staff_may_record_views_for_a_learner_of_their_tenant(instructor_client, learner_client, course, enrolled):
    lesson = lesson_ids(course)[0]

    response = _post(
        instructor_client, "/v1/view/end", contentId=lesson, collectionId=course.id, userId=learner_client.user_id
    )

    assert response.status_code == 200
    assert _row(learner_client.user_id, lesson, course.id).status == 2
    assert not ContentConsumption.objects.filter(user_id=instructor_client.user_id).exists()


def test_another_tenants_course_is_unknown(other_admin_client, learner_client, course, enrolled):
    response = _post(
        other_admin_client, "/v1/view/end", contentId=lesson_ids(course)[0], collectionId=course.id,
        userId=learner_client.user_id,
    )

    assert response.status_code == 400
    assert response.json()["params"]["err"] == "ERR_UNKNOWN_COURSE"
    assert not ContentConsumption.objects.exists()


def test_anonymous_callers_are_unauthorized(client):
    response = client.post("/v1/view/start", wrapped(contentId=uuid.uuid4()), content_type="application/json")

    assert response.status_code == 401
    assert response.json()["responseCode"] == "UNAUTHORIZED"


# --- The hot path ------------------------------------------------------------------------------


@pytest.mark.parametrize("lessons_per_module", [2, 20])
def test_view_update_is_one_statement_whatever_the_course_size(
    learner_client, tenant, lessons_per_module, django_assert_max_num_queries, is_postgres
):
    course = build_course(tenant=tenant, modules=2, lessons_per_module=lessons_per_module)
    enrol(course, learner_client.user_id)
    lesson = lesson_ids(course)[-1]
    _post(learner_client, "/v1/view/start", contentId=lesson, collectionId=course.id)  # warms the tenant cache

    # PostgreSQL: one WITH statement — the consumption upsert, which checks course, enrolment and
    # placement in its own WHERE clause, then the track's access and status, then the enrolment's state.
    # SQLite (no data-modifying WITH): savepoint, upsert, track update, enrolment update, release.
    with django_assert_max_num_queries(1 if is_postgres else 5):
        response = _post(learner_client, "/v1/view/update", contentId=lesson, collectionId=course.id, progress=50)

    assert response.status_code == 200
    assert _row(learner_client.user_id, lesson, course.id).progress == 50


@pytest.mark.parametrize("lessons_per_module", [2, 20])
def test_a_completing_view_end_is_three_statements_whatever_the_course_size(
    learner_client, tenant, lessons_per_module, django_assert_max_num_queries, is_postgres
):
    course = build_course(tenant=tenant, modules=2, lessons_per_module=lessons_per_module,
                          certificate_term="COMPLETE_ALL")
    enrolled = enrol(course, learner_client.user_id)
    first, second, *_ = lesson_ids(course)
    _post(learner_client, "/v1/view/end", contentId=first, collectionId=course.id)  # warms the tenant cache

    # PostgreSQL, inside the request's transaction (a savepoint within the test's own):
    # 1. the course context, the lesson's prerequisites and the tenant's policy, in one read;
    # 2. the consumption upsert, which locks the course track it counts in;
    # 3. the track's recount with its enrollment's state and the lesson.completed outbox row.
    # SQLite (no data-modifying WITH) runs 2 and 3 as upsert, track read, recount, enrollment
    # update and outbox insert.
    with django_assert_max_num_queries(5 if is_postgres else 8):
        response = _post(learner_client, "/v1/view/end", contentId=second, collectionId=course.id)

    assert response.status_code == 200
    track = CourseTrack.objects.get(enrollment=enrolled)
    assert (track.completed_lessons, track.no_of_lessons, track.status) == (2, 4 * lessons_per_module // 2,
                                                                           CourseTrackStatus.IN_PROGRESS)
    assert Event.objects.filter(type="lesson.completed").count() == 2


def test_the_certificate_path_runs_only_when_the_track_completes(
    learner_client, tenant, django_assert_max_num_queries, is_postgres
):
    course = build_course(tenant=tenant, modules=1, lessons_per_module=2, certificate_term="COMPLETE_ALL")
    enrolled = enrol(course, learner_client.user_id)
    first, last = lesson_ids(course)
    _post(learner_client, "/v1/view/end", contentId=first, collectionId=course.id)

    # The three statements above, then: the course with the enrollment's `active` and any earlier
    # certificate; the certificate insert in a savepoint (three); the track's certificate date; the
    # course.completed and certificate.issued outbox rows in one INSERT.
    with django_assert_max_num_queries(11 if is_postgres else 14):
        _post(learner_client, "/v1/view/end", contentId=last, collectionId=course.id)
    # A repeated completion of a completed, certified track: the three statements only.
    with django_assert_max_num_queries(5 if is_postgres else 8):
        _post(learner_client, "/v1/view/end", contentId=last, collectionId=course.id)

    track = CourseTrack.objects.get(enrollment=enrolled)
    assert track.status == CourseTrackStatus.COMPLETED and track.cert_gen_date is not None
    assert IssuedCertificate.objects.filter(track=track).count() == 1
    assert sorted(Event.objects.exclude(type="enrollment.created").values_list("type", flat=True)) == [
        "certificate.issued", "course.completed", "lesson.completed", "lesson.completed"]


def test_view_update_alone_moves_the_course_track_and_the_enrolment(learner_client, course, enrolled):
    """A player that only reports progress (no view/start) still starts the course (DECISIONS §4)."""
    lesson = lesson_ids(course)[0]

    response = _post(learner_client, "/v1/view/update", contentId=lesson, collectionId=course.id, batchId=course.id,
                     progress=30)

    assert response.status_code == 200
    track = CourseTrack.objects.get(enrollment=enrolled)
    enrolled.refresh_from_db()
    assert (track.status, enrolled.state) == (CourseTrackStatus.IN_PROGRESS, 1)
    assert track.last_accessed_date is not None
    tracking = learner_client.get(f"/courses/tracking?course_id={course.id}&user_id={learner_client.user_id}")
    (row,) = tracking.json()["result"]["tracking"]
    assert row["status"] == "in_progress" and row["last_accessed_date"] is not None
    (enrollment,) = learner_client.get("/enrollments", {"user_id": learner_client.user_id}).json()["result"][
        "enrollments"]
    assert enrollment["state"] == 1


def test_view_update_records_the_access_without_lowering_a_started_track(learner_client, course, enrolled):
    lesson = lesson_ids(course)[0]
    _post(learner_client, "/v1/view/end", contentId=lesson, collectionId=course.id)
    before = CourseTrack.objects.get(enrollment=enrolled)

    _post(learner_client, "/v1/view/update", contentId=lesson_ids(course)[1], collectionId=course.id, progress=10)

    after = CourseTrack.objects.get(enrollment=enrolled)
    assert (after.status, after.completed_lessons) == (before.status, before.completed_lessons) == (
        CourseTrackStatus.IN_PROGRESS, 1)
    assert after.last_accessed_date >= before.last_accessed_date


def test_view_update_of_standalone_content_is_one_statement(learner_client, django_assert_max_num_queries):
    content_id = uuid.uuid4()
    _post(learner_client, "/v1/view/start", contentId=content_id)

    # the consumption upsert
    with django_assert_max_num_queries(1):
        _post(learner_client, "/v1/view/update", contentId=content_id, progress=20)


def test_lessons_added_later_do_not_reopen_a_completed_track(learner_client, course, enrolled, tenant):
    for lesson in lesson_ids(course):
        _post(learner_client, "/v1/view/end", contentId=lesson, collectionId=course.id)
    track = CourseTrack.objects.get(enrollment=enrolled)
    timeend = track.timeend

    PlacementFactory(module=course.modules.first(), course=course, tenant=tenant)
    from tracking.services import course_tracks_recount_for_course

    course_tracks_recount_for_course(course_id=course.id)

    track.refresh_from_db()
    assert (track.status, track.timeend, track.no_of_lessons) == (CourseTrackStatus.COMPLETED, timeend, 5)


def test_missing_wrapper_says_how_to_wrap_the_body(learner_client):
    response = learner_client.post("/v1/view/start", {"contentId": str(uuid.uuid4())}, format="json")

    assert response.json()["params"]["errmsg"] == 'request: Wrap the body\'s fields in "request": {"request": {...}}.'


# --- Prerequisites (eligibilityCriteria), as the lesson attempt API applies them ----------------


@pytest.fixture
def second_requires_first(course):
    first, second = lesson_ids(course)[:2]
    Lesson.objects.filter(pk=second).update(eligibility_criteria=[str(first)])
    return first, second


def _assess(client, content_id, **context):
    events = [{"eid": "ASSESS", "ets": 1, "edata": {"item": {"id": "q1", "maxscore": 1}, "score": 1}}]
    return _post(
        client, "/v1/assessment/submit", contentId=content_id,
        assessments=[{"attemptId": "a1", "assessmentTs": 1_700_000_000_000, "events": events}], **context,
    )


@pytest.mark.parametrize("complete", [
    lambda client, lesson, course: _post(client, "/v1/view/end", contentId=lesson, collectionId=course.id),
    lambda client, lesson, course: _assess(client, lesson, collectionId=course.id),
], ids=["view_end", "assessment_submit"])
def test_completing_a_lesson_before_its_prerequisites_is_refused(
    learner_client, course, enrolled, second_requires_first, complete
):
    first, second = second_requires_first
    # view/start stays unchecked: looking at a lesson is not completing it.
    assert _post(learner_client, "/v1/view/start", contentId=second, collectionId=course.id).status_code == 200

    response = complete(learner_client, second, course)

    assert response.status_code == 400
    body = response.json()
    assert (body["responseCode"], body["params"]["err"]) == ("CLIENT_ERROR", "ERR_PREREQUISITES_MISSING")
    assert body["result"] == {"missing_lesson_ids": [str(first)]}
    assert str(first) in body["params"]["errmsg"]
    assert _row(learner_client.user_id, second, course.id).status == 1
    assert not AssessmentAttempt.objects.exists()
    assert CourseTrack.objects.get(enrollment=enrolled).completed_lessons == 0

    assert _post(learner_client, "/v1/view/end", contentId=first, collectionId=course.id).status_code == 200
    assert complete(learner_client, second, course).status_code == 200
    assert _row(learner_client.user_id, second, course.id).status == 2
    assert CourseTrack.objects.get(enrollment=enrolled).completed_lessons == 2


def test_the_viewer_and_the_attempt_api_refuse_the_same_missing_prerequisites(
    learner_client, course, enrolled, second_requires_first
):
    first, second = second_requires_first

    by_attempt = learner_client.post(
        "/lessons/tracking", {"lesson_id": str(second), "course_id": str(course.id)}, format="json"
    )
    by_viewer = _post(learner_client, "/v1/view/end", contentId=second, collectionId=course.id)

    assert by_attempt.json()["params"]["err"] == by_viewer.json()["params"]["err"] == "ERR_PREREQUISITES_MISSING"
    assert by_attempt.json()["result"] == by_viewer.json()["result"] == {"missing_lesson_ids": [str(first)]}


def test_standalone_content_has_no_prerequisites_to_check(learner_client, course, second_requires_first):
    _, second = second_requires_first

    response = _post(learner_client, "/v1/view/end", contentId=second)

    assert response.status_code == 200
    assert _row(learner_client.user_id, second).status == 2


# --- view/update checks its context inside its one statement: every rule, refused alike --------


def _not_enrolled(course, learner_client):
    course.enrollments.all().delete()
    return {}


def _inactive(course, learner_client):
    course.enrollments.update(active=False)
    return {}


def _other_batch(course, learner_client):
    return {"batchId": uuid.uuid4()}


def _placement_archived(course, learner_client):
    placement_archive(placement=course.placements.get(lesson_id=lesson_ids(course)[0]))
    return {}


def _lesson_archived(course, learner_client):
    lesson_archive(lesson=Lesson.objects.get(pk=lesson_ids(course)[0]), updated_by=None)
    return {}


def _course_archived(course, learner_client):
    course_archive(course=course, updated_by=None)
    return {}


@pytest.mark.parametrize(
    ("break_rule", "code"),
    [
        (_not_enrolled, "ERR_NOT_ENROLLED"),
        (_inactive, "ERR_NOT_ENROLLED"),
        (_other_batch, "ERR_NOT_ENROLLED"),
        (_placement_archived, "ERR_CONTENT_NOT_IN_COURSE"),
        (_lesson_archived, "ERR_CONTENT_NOT_IN_COURSE"),
        (_course_archived, "ERR_UNKNOWN_COURSE"),
    ],
)
def test_view_update_refuses_every_broken_context_rule_and_writes_nothing(
    learner_client, course, enrolled, break_rule, code
):
    lesson = lesson_ids(course)[0]
    extra = break_rule(course, learner_client)

    response = _post(learner_client, "/v1/view/update", contentId=lesson, collectionId=course.id, progress=40, **extra)

    assert response.status_code == 400
    assert response.json()["params"]["err"] == code
    assert not ContentConsumption.objects.filter(content_id=lesson).exists()


def test_view_update_in_another_tenants_course_is_unknown(other_admin_client, learner_client, course, enrolled):
    response = _post(
        other_admin_client, "/v1/view/update", contentId=lesson_ids(course)[0], collectionId=course.id,
        userId=learner_client.user_id, progress=40,
    )

    assert response.status_code == 400
    assert response.json()["params"]["err"] == "ERR_UNKNOWN_COURSE"
    assert not ContentConsumption.objects.exists()


# --- Progress needs released content (DECISIONS §8) ---------------------------------------------


# Through the services, as authors change content, so the tracks' lesson counts follow.
def _lesson_unpublished(course, learner_client):
    lesson_set_status(lesson=Lesson.objects.get(pk=lesson_ids(course)[0]), status=ContentStatus.UNPUBLISHED,
                      updated_by=None)


def _module_unpublished(course, learner_client):
    module = course.placements.get(lesson_id=lesson_ids(course)[0]).module
    module_set_status(module=module, status=ContentStatus.UNPUBLISHED, updated_by=None)


def _course_unpublished(course, learner_client):
    course_set_status(course=course, status=ContentStatus.UNPUBLISHED, updated_by=None)


@pytest.mark.parametrize("unrelease", [_lesson_unpublished, _module_unpublished, _course_unpublished])
@pytest.mark.parametrize("path", ["/v1/view/start", "/v1/view/update", "/v1/view/end", "/v1/assessment/submit"])
@pytest.mark.parametrize("role", ["learner", "admin"])
def test_progress_on_unreleased_content_is_refused_for_every_role_and_writes_nothing(
    client_for, tenant, learner_client, course, enrolled, unrelease, path, role
):
    lesson = lesson_ids(course)[0]
    unrelease(course, learner_client)
    caller = learner_client if role == "learner" else client_for(tenant, "admin")
    fields = {"contentId": lesson, "collectionId": course.id, "userId": learner_client.user_id}
    if path == "/v1/view/update":
        fields["progress"] = 40
    if path == "/v1/assessment/submit":
        fields["assessments"] = [{"attemptId": "a1", "assessmentTs": 1_700_000_000_000, "events": [
            {"eid": "ASSESS", "ets": 1_700_000_000_000, "edata": {"item": {"id": "q1", "maxscore": 1}, "score": 1}}]}]

    response = _post(caller, path, **fields)

    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["params"]["err"] == "ERR_CONTENT_NOT_IN_COURSE"
    assert "publish" in body["params"]["errmsg"]
    assert not ContentConsumption.objects.filter(content_id=lesson).exists()
    assert CourseTrack.objects.get(enrollment=enrolled).status == CourseTrackStatus.NOT_STARTED


def test_the_viewer_and_the_attempt_api_both_refuse_an_unpublished_lesson(learner_client, course, enrolled):
    lesson = lesson_ids(course)[0]
    _lesson_unpublished(course, learner_client)

    viewer = _post(learner_client, "/v1/view/end", contentId=lesson, collectionId=course.id)
    attempt = learner_client.post("/lessons/tracking", {"lesson_id": str(lesson), "course_id": str(course.id)},
                                  format="json")

    assert viewer.status_code == 400 and attempt.status_code in (400, 404)
    assert not ContentConsumption.objects.filter(content_id=lesson).exists()


@pytest.mark.postgres
def test_a_started_tracks_last_access_is_rewritten_at_most_once_per_resolution(learner_client, course, enrolled):
    import datetime as dt

    from tracking.services import LAST_ACCESS_RESOLUTION

    lesson = lesson_ids(course)[0]
    _post(learner_client, "/v1/view/update", contentId=lesson, collectionId=course.id, progress=10)
    first = CourseTrack.objects.get(enrollment=enrolled).last_accessed_date

    _post(learner_client, "/v1/view/update", contentId=lesson, collectionId=course.id, progress=20)
    assert CourseTrack.objects.get(enrollment=enrolled).last_accessed_date == first  # coalesced

    older = first - LAST_ACCESS_RESOLUTION - dt.timedelta(seconds=1)
    CourseTrack.objects.filter(enrollment=enrolled).update(last_accessed_date=older)
    _post(learner_client, "/v1/view/update", contentId=lesson, collectionId=course.id, progress=30)
    assert CourseTrack.objects.get(enrollment=enrolled).last_accessed_date > first


def test_rows_written_by_view_update_and_enrolment_have_time_ordered_ids(learner_client, course, enrolled):
    """The hot tables' keys are UUID version 7 (lms.ids), so inserts append to the primary key's
    rightmost pages instead of a random page each (see docs/benchmarks.md, view/update at L)."""
    first, second = lesson_ids(course)[:2]
    assert _post(learner_client, "/v1/view/update", contentId=first, collectionId=course.id, progress=10).status_code == 200
    assert _post(learner_client, "/v1/view/update", contentId=second, collectionId=course.id, progress=10).status_code == 200
    earlier, later = (_row(learner_client.user_id, lesson, course.id, course.id).id for lesson in (first, second))
    assert (earlier.version, later.version) == (7, 7)
    assert CourseTrack.objects.get(user_id=learner_client.user_id, course_id=course.id).id.version == 7
