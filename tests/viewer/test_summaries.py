"""/v1/viewer/summary/list|read|delete: enrolment summaries straight from enrolments and tracks."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from courses.models import ContentStatus
from courses.services import lesson_set_status, module_update, placement_create, placement_update
from lms.api.envelope import encode_json
from lms.models import Tenant
from tests.factories import LessonFactory, PlacementFactory, build_course
from tests.viewer.conftest import enrol, lesson_ids, wrapped
from tracking.models import AssessmentAttempt, ContentConsumption, CourseTrack, IssuedCertificate
from tracking.services import course_tracks_recount_for_course, lesson_completion_record
from viewer.models import SummaryDeletion
from viewer.selectors import (
    required_lessons_cache_clear,
    summary_enrollments,
)

pytestmark = pytest.mark.django_db

TS = 1_700_000_000_000


def _post(client, path, **fields):
    return client.post(path, wrapped(**fields), format="json")


def summary_list(client, user_id):
    response = client.get(f"/v1/viewer/summary/list/{user_id}")
    assert response.status_code == 200, response.json()
    assert response.json()["id"] == "api.viewer.summary.list"
    return response.json()["result"]["summary"]


def summary_read(client, **fields):
    return _post(client, "/v1/viewer/summary/read", **fields)


def test_an_enrolment_has_a_summary_from_the_moment_of_enrolment(learner_client, course, enrolled):
    [summary] = summary_list(learner_client, learner_client.user_id)

    lessons = lesson_ids(course)
    assert summary == {
        "userId": str(learner_client.user_id),
        "collectionId": str(course.id),
        "batchId": str(course.id),
        "enrolledDate": int(enrolled.enrolled_on_time.timestamp() * 1000),
        "active": True,
        "contentStatus": {str(lesson): 0 for lesson in lessons},
        "assessmentStatus": {},
        "collection": {
            "identifier": str(course.id), "name": course.title, "logo": None, "leafNodesCount": 4,
            "description": course.description,
        },
        "issuedCertificates": [],
        "completedOn": None,
        "lastAccessedOn": None,
        "progress": 0,
        "status": 0,
    }


def test_summary_follows_views_assessments_and_completion(learner_client, course, enrolled):
    lessons = lesson_ids(course)
    _post(learner_client, "/v1/view/start", contentId=lessons[0], collectionId=course.id)
    _post(learner_client, "/v1/view/end", contentId=lessons[1], collectionId=course.id)
    learner_client.post("/v1/assessment/submit", wrapped(
        contentId=lessons[1], collectionId=course.id,
        assessments=[{"attemptId": "a1", "assessmentTs": TS, "events": [{"questionId": "q", "score": 3, "max_score": 4}]}],
    ), format="json")

    [summary] = summary_list(learner_client, learner_client.user_id)
    assert summary["contentStatus"] == {str(lessons[0]): 1, str(lessons[1]): 2, str(lessons[2]): 0, str(lessons[3]): 0}
    assert summary["assessmentStatus"] == {str(lessons[1]): {"score": 3.0, "max_score": 4.0}}
    assert (summary["progress"], summary["status"], summary["completedOn"]) == (25, 1, None)
    assert summary["lastAccessedOn"] is not None

    for lesson in lessons[2:] + lessons[:1]:
        _post(learner_client, "/v1/view/end", contentId=lesson, collectionId=course.id)
    [summary] = summary_list(learner_client, learner_client.user_id)
    track = CourseTrack.objects.get(enrollment=enrolled)
    certificate = IssuedCertificate.objects.get(track=track)
    assert (summary["progress"], summary["status"]) == (100, 2)
    assert summary["completedOn"] == int(track.timeend.timestamp() * 1000)
    assert summary["issuedCertificates"] == [{
        "name": certificate.name, "id": str(certificate.id), "token": certificate.token,
        "lastIssuedOn": certificate.issued_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),  # UTC with Z, as every datetime
        "verifyUrl": f"http://testserver/certificates/verify/{certificate.token}",
    }]


def test_lessons_completed_through_lesson_tracking_show_in_the_summary(learner_client, course, enrolled, tenant):
    lessons = lesson_ids(course)
    for lesson in lessons[:2]:
        lesson_completion_record(
            tenant_id=tenant.id, user_id=learner_client.user_id, course_id=course.id, batch_id=course.id,
            lesson_id=lesson,
        )

    [summary] = summary_list(learner_client, learner_client.user_id)

    assert [summary["contentStatus"][str(lesson)] for lesson in lessons] == [2, 2, 0, 0]
    assert (summary["progress"], summary["status"]) == (50, 1)


def test_lessons_added_after_completion_keep_the_course_completed(learner_client, course, enrolled, tenant):
    for lesson in lesson_ids(course):
        _post(learner_client, "/v1/view/end", contentId=lesson, collectionId=course.id)
    [before] = summary_list(learner_client, learner_client.user_id)

    # Through the service, as every content write goes: it bumps the course's content_version,
    # which is what tells the summaries (and their cache of required lessons) the course changed.
    added = placement_create(
        course=course, module=course.modules.first(), lesson=LessonFactory(tenant=tenant), created_by=None
    )

    [after] = summary_list(learner_client, learner_client.user_id)
    assert (after["status"], after["progress"], after["completedOn"]) == (2, 100, before["completedOn"])
    assert after["collection"]["leafNodesCount"] == 5
    assert after["contentStatus"][str(added.lesson_id)] == 0


def test_lessons_added_before_completion_lower_the_percentage(learner_client, course, enrolled, tenant):
    for lesson in lesson_ids(course)[:2]:
        _post(learner_client, "/v1/view/end", contentId=lesson, collectionId=course.id)
    PlacementFactory(module=course.modules.first(), course=course, tenant=tenant)
    course_tracks_recount_for_course(course_id=course.id)

    [summary] = summary_list(learner_client, learner_client.user_id)

    assert (summary["progress"], summary["status"]) == (40, 1)


def test_carry_forward_counts_completion_from_other_contexts(learner_client, course, tenant):
    tenant.carry_forward = Tenant.CarryForward.CARRY
    tenant.save(update_fields=["carry_forward"])
    lesson = lesson_ids(course)[0]
    _post(learner_client, "/v1/view/end", contentId=lesson)  # standalone, before enrolling
    enrol(course, learner_client.user_id)

    [summary] = summary_list(learner_client, learner_client.user_id)

    assert summary["contentStatus"][str(lesson)] == 2
    assert summary["progress"] == 25
    assert CourseTrack.objects.get(course=course).completed_lessons == 1


def test_strict_tenant_does_not_carry(learner_client, course):
    lesson = lesson_ids(course)[0]
    _post(learner_client, "/v1/view/end", contentId=lesson)
    enrol(course, learner_client.user_id)

    [summary] = summary_list(learner_client, learner_client.user_id)

    assert (summary["contentStatus"][str(lesson)], summary["progress"]) == (0, 0)


def test_logo_is_an_absolute_image_url(learner_client, tenant):
    course = build_course(tenant=tenant, modules=1, lessons_per_module=1)
    gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
    course.image.save("logo.gif", SimpleUploadedFile("logo.gif", gif), save=True)
    enrol(course, learner_client.user_id)

    [summary] = summary_list(learner_client, learner_client.user_id)

    assert summary["collection"]["logo"].startswith("http://testserver/")
    assert summary["collection"]["logo"].endswith(".gif")


# --- summary/read -------------------------------------------------------------------------------


def test_read_one_enrolment_by_collection_and_batch(learner_client, course, enrolled):
    program_batch = uuid.uuid4()
    enrol(course, learner_client.user_id, batch_id=program_batch)
    _post(learner_client, "/v1/view/end", contentId=lesson_ids(course)[0], collectionId=course.id)

    default_batch = summary_read(learner_client, collectionId=course.id)
    other_batch = summary_read(learner_client, collectionId=course.id, batchId=program_batch)

    assert default_batch.status_code == 200
    assert default_batch.json()["id"] == "api.viewer.summary.read"
    assert (default_batch.json()["result"]["batchId"], default_batch.json()["result"]["progress"]) == (
        str(course.id), 25
    )
    assert (other_batch.json()["result"]["batchId"], other_batch.json()["result"]["progress"]) == (
        str(program_batch), 0
    )


def test_read_unknown_enrolment_is_not_found(learner_client, course):
    response = summary_read(learner_client, collectionId=course.id)

    assert response.status_code == 404
    assert response.json()["responseCode"] == "RESOURCE_NOT_FOUND"


def test_read_requires_a_collection(learner_client):
    response = learner_client.post("/v1/viewer/summary/read", {"request": {}}, format="json")

    assert (response.status_code, response.json()["params"]["err"]) == (400, "MANDATORY_PARAMETER_MISSING")


def test_summary_permissions_and_tenants(
    learner_client, client_for, instructor_client, other_admin_client, course, enrolled, tenant
):
    other_learner = client_for(tenant, "learner")

    assert other_learner.get(f"/v1/viewer/summary/list/{learner_client.user_id}").status_code == 403
    assert summary_read(other_learner, collectionId=course.id, userId=learner_client.user_id).status_code == 403
    assert len(summary_list(instructor_client, learner_client.user_id)) == 1
    assert summary_read(instructor_client, collectionId=course.id, userId=learner_client.user_id).status_code == 200
    assert summary_list(other_admin_client, learner_client.user_id) == []
    response = summary_read(other_admin_client, collectionId=course.id, userId=learner_client.user_id)
    assert response.status_code == 404


def test_list_path_needs_a_uuid(learner_client):
    response = learner_client.get("/v1/viewer/summary/list/not-a-uuid")

    assert response.status_code == 404
    assert response.json()["responseCode"] == "RESOURCE_NOT_FOUND"


@pytest.mark.parametrize("enrolments", [2, 50])
def test_list_runs_a_constant_number_of_queries(
    learner_client, tenant, enrolments, django_assert_num_queries, is_postgres
):
    courses = [build_course(tenant=tenant, modules=1, lessons_per_module=2, certificate_term="COMPLETE_ALL")
               for _ in range(2)]
    for index in range(enrolments):
        course = courses[index % 2]
        batch = course.id if index < 2 else uuid.uuid4()
        enrol(course, learner_client.user_id, batch_id=batch)
        lesson_completion_record(
            tenant_id=tenant.id, user_id=learner_client.user_id, course_id=course.id, batch_id=batch,
            lesson_id=lesson_ids(course)[index % 2],
        )
    for course in courses:
        for lesson in lesson_ids(course):
            lesson_completion_record(
                tenant_id=tenant.id, user_id=learner_client.user_id, course_id=course.id, batch_id=course.id,
                lesson_id=lesson,
            )
    AssessmentAttempt.objects.create(
        user_id=learner_client.user_id, tenant=tenant, collection_id=courses[0].id, batch_id=courses[0].id,
        content_id=lesson_ids(courses[0])[0], attempt_id="a", assessment_ts=CourseTrack.objects.first().timestart,
        score=1, max_score=1,
    )
    # Warms the tenant cache and the cache of required lessons.
    learner_client.get(f"/v1/viewer/summary/list/{learner_client.user_id}")

    # enrolments with course (and its content_version), track, certificate, last consumed access and
    # the carry setting (deleted summaries excluded in the same query); consumption (on PostgreSQL
    # joined to the enrolments, grouped by context, in the same query); best assessments
    with django_assert_num_queries(2 if is_postgres else 3):
        summaries = summary_list(learner_client, learner_client.user_id)

    required_lessons_cache_clear()
    # the same, and the required lessons of the courses not cached at their content_version
    with django_assert_num_queries(3 if is_postgres else 4):
        cold = summary_list(learner_client, learner_client.user_id)

    assert cold == summaries
    assert len(summaries) == enrolments
    assert sum(1 for summary in summaries if summary["issuedCertificates"]) == 2


# --- required lessons follow content writes -----------------------------------------------------


def content_status_of(client, course) -> dict[str, int]:
    [summary] = [s for s in summary_list(client, client.user_id) if s["collectionId"] == str(course.id)]
    return summary["contentStatus"]


def test_content_status_lists_required_lessons_in_placement_order(learner_client, tenant):
    course = build_course(tenant=tenant, modules=3, lessons_per_module=3)
    enrol(course, learner_client.user_id)

    assert list(content_status_of(learner_client, course)) == [str(lesson) for lesson in lesson_ids(course)]


def test_required_lessons_follow_content_writes_at_once(learner_client, tenant, course, enrolled):
    lessons = lesson_ids(course)
    _post(learner_client, "/v1/view/end", contentId=lessons[1], collectionId=course.id)
    assert list(content_status_of(learner_client, course)) == [str(lesson) for lesson in lessons]

    first_module, second_module = course.modules.order_by("ordering")
    # A lesson moved within its module.
    placement_update(placement=first_module.placements.get(lesson_id=lessons[1]), ordering=1)
    assert list(content_status_of(learner_client, course)) == [str(lessons[i]) for i in (1, 0, 2, 3)]

    # A module moved before another.
    module_update(module=second_module, updated_by=None, changes={"ordering": 1})
    assert list(content_status_of(learner_client, course)) == [str(lessons[i]) for i in (2, 3, 1, 0)]

    # A placement archived, a lesson unpublished, a module unpublished: none of them is required.
    placement_update(placement=second_module.placements.get(lesson_id=lessons[2]), archived=True)
    assert list(content_status_of(learner_client, course)) == [str(lessons[i]) for i in (3, 1, 0)]
    lesson_set_status(lesson=course.placements.get(lesson_id=lessons[0]).lesson, status=ContentStatus.UNPUBLISHED,
                      updated_by=None)
    assert content_status_of(learner_client, course) == {str(lessons[3]): 0, str(lessons[1]): 2}
    module_update(module=second_module, updated_by=None, changes={"status": ContentStatus.UNPUBLISHED})
    [summary] = summary_list(learner_client, learner_client.user_id)
    assert (summary["contentStatus"], summary["collection"]["leafNodesCount"]) == ({str(lessons[1]): 2}, 1)


def test_a_lesson_shared_by_two_courses_carries_within_each(learner_client, tenant):
    tenant.carry_forward = Tenant.CarryForward.CARRY
    tenant.save(update_fields=["carry_forward"])
    first = build_course(tenant=tenant, modules=1, lessons_per_module=2)
    second = build_course(tenant=tenant, modules=1, lessons_per_module=1)
    shared = first.placements.order_by("ordering").first().lesson
    placement_create(course=second, module=second.modules.get(), lesson=shared, created_by=None)
    program_batch = uuid.uuid4()
    for course, batch in ((first, None), (second, None), (second, program_batch)):
        enrol(course, learner_client.user_id, batch_id=batch)
    _post(learner_client, "/v1/view/end", contentId=shared.id, collectionId=first.id)
    _post(learner_client, "/v1/view/start", contentId=lesson_ids(second)[0], collectionId=second.id,
          batchId=program_batch)

    summaries = {(s["collectionId"], s["batchId"]): s for s in summary_list(learner_client, learner_client.user_id)}

    own, carried = lesson_ids(second)
    assert carried == shared.id
    assert summaries[(str(first.id), str(first.id))]["contentStatus"] == {
        str(shared.id): 2, str(lesson_ids(first)[1]): 0,
    }
    assert summaries[(str(second.id), str(second.id))]["contentStatus"] == {str(own): 0, str(shared.id): 2}
    assert summaries[(str(second.id), str(program_batch))]["contentStatus"] == {str(own): 1, str(shared.id): 2}
    assert [summaries[(str(second.id), str(batch))]["progress"] for batch in (second.id, program_batch)] == [50, 50]


def test_summaries_never_share_their_content_status(learner_client, course, enrolled):
    # Two enrolments in one course start from the same cached lessons; each must get its own copy.
    program_batch = uuid.uuid4()
    enrol(course, learner_client.user_id, batch_id=program_batch)
    lesson = lesson_ids(course)[0]
    _post(learner_client, "/v1/view/end", contentId=lesson, collectionId=course.id, batchId=program_batch)

    by_batch = {s["batchId"]: s["contentStatus"][str(lesson)] for s in summary_list(learner_client, learner_client.user_id)}
    again = {s["batchId"]: s["contentStatus"][str(lesson)] for s in summary_list(learner_client, learner_client.user_id)}

    assert by_batch == again == {str(course.id): 0, str(program_batch): 2}


# --- the cache of required lessons ---------------------------------------------------------------


# --- summary/delete ---------------------------------------------------------------------------


def test_delete_one_enrolment_hides_its_summary_and_keeps_consumption(learner_client, course, enrolled, tenant):
    other_course = build_course(tenant=tenant, modules=1, lessons_per_module=1)
    enrol(other_course, learner_client.user_id)
    _post(learner_client, "/v1/view/end", contentId=lesson_ids(course)[0], collectionId=course.id)

    response = learner_client.delete(
        f"/v1/viewer/summary/delete/{learner_client.user_id}", wrapped(collectionId=course.id), format="json"
    )

    assert response.status_code == 200
    assert response.json()["id"] == "api.viewer.summary.delete"
    assert response.json()["result"] == {}
    assert [s["collectionId"] for s in summary_list(learner_client, learner_client.user_id)] == [str(other_course.id)]
    assert summary_read(learner_client, collectionId=course.id).status_code == 404
    assert ContentConsumption.objects.filter(collection_id=course.id, status=2).count() == 1
    assert CourseTrack.objects.get(enrollment=enrolled).completed_lessons == 1


def test_delete_all_through_the_alias_path(learner_client, course, enrolled, tenant):
    enrol(build_course(tenant=tenant, modules=1, lessons_per_module=1), learner_client.user_id)
    _post(learner_client, "/v1/view/end", contentId=lesson_ids(course)[0], collectionId=course.id)

    response = learner_client.delete(f"/v1/summary/delete/{learner_client.user_id}?all=true")
    again = learner_client.delete(f"/v1/summary/delete/{learner_client.user_id}?all=true")

    assert (response.status_code, again.status_code) == (200, 200)
    assert summary_list(learner_client, learner_client.user_id) == []
    assert SummaryDeletion.objects.count() == 2
    assert ContentConsumption.objects.filter(user_id=learner_client.user_id).count() == 1
    assert _post(learner_client, "/v1/view/read", contentId=[lesson_ids(course)[0]]).json()["result"][
        "contents"][0]["status"] == 2


def test_delete_needs_all_or_one_enrolment(learner_client, course, enrolled):
    response = learner_client.delete(f"/v1/viewer/summary/delete/{learner_client.user_id}?all=false")

    assert (response.status_code, response.json()["params"]["err"]) == (400, "MANDATORY_PARAMETER_MISSING")
    assert "request" in response.json()["params"]["errmsg"]
    assert not SummaryDeletion.objects.exists()


def test_a_bare_all_flag_deletes_every_summary(learner_client, course, enrolled):
    response = learner_client.delete(f"/v1/viewer/summary/delete/{learner_client.user_id}?all")

    assert response.status_code == 200
    assert summary_list(learner_client, learner_client.user_id) == []


@pytest.mark.parametrize("value", ["%1F", "maybe", "%20true"])
def test_an_unreadable_all_flag_is_a_400_and_deletes_nothing(learner_client, course, enrolled, value):
    # A control character once read as the bare flag (str.strip() removes %1F) and deleted everything.
    response = learner_client.delete(f"/v1/viewer/summary/delete/{learner_client.user_id}?all={value}")

    assert response.status_code == 400
    assert "all" in response.json()["result"]["errors"]
    assert not SummaryDeletion.objects.exists()


def test_a_new_enrolment_after_a_hard_delete_has_its_own_summary(learner_client, admin_client, course):
    def enrol_by_admin():
        response = admin_client.post(
            "/enrollments", {"course_id": str(course.id), "user_id": str(learner_client.user_id)}, format="json"
        )
        assert response.status_code == 201, response.json()
        return response.json()["result"]["id"]

    def delete_summary():
        response = learner_client.delete(
            f"/v1/viewer/summary/delete/{learner_client.user_id}", wrapped(collectionId=course.id), format="json"
        )
        assert response.status_code == 200, response.json()

    first = enrol_by_admin()
    delete_summary()
    assert summary_list(learner_client, learner_client.user_id) == []
    assert admin_client.delete(f"/enrollments/{first}?hard=true").status_code == 200

    second = enrol_by_admin()

    [summary] = summary_list(learner_client, learner_client.user_id)
    assert summary["collectionId"] == str(course.id) and second != first
    assert summary_read(learner_client, collectionId=course.id).status_code == 200

    # Deleting the new enrolment's summary hides it in turn.
    delete_summary()
    assert summary_list(learner_client, learner_client.user_id) == []
    assert summary_read(learner_client, collectionId=course.id).status_code == 404
    assert SummaryDeletion.objects.count() == 1


def test_delete_unknown_enrolment_is_not_found(learner_client, enrolled):
    response = learner_client.delete(
        f"/v1/viewer/summary/delete/{learner_client.user_id}", wrapped(collectionId=uuid.uuid4()), format="json"
    )

    assert response.status_code == 404


def test_delete_permissions_and_tenants(learner_client, client_for, admin_client, other_admin_client, enrolled, tenant,
                                        course):
    other_learner = client_for(tenant, "learner")
    path = f"/v1/viewer/summary/delete/{learner_client.user_id}"

    assert other_learner.delete(f"{path}?all=true").status_code == 403
    response = other_admin_client.delete(path, wrapped(collectionId=course.id), format="json")
    assert response.status_code == 404
    assert not SummaryDeletion.objects.exists()
    assert admin_client.delete(path, wrapped(collectionId=course.id), format="json").status_code == 200
    assert SummaryDeletion.objects.get().deleted_by == admin_client.user_id


def test_enrolment_queries_built_from_threads_keep_their_own_user():
    # The enrolments' base query is built once and shared between threads; each thread's query
    # must still be exactly the one built alone for its own tenant and user.
    contexts = [(uuid.uuid4(), uuid.uuid4()) for _ in range(8)]
    expected = {
        context: summary_enrollments(tenant_id=context[0], user_id=context[1]).query.sql_with_params()
        for context in contexts
    }
    built: list[tuple] = []

    def build(context):
        for _ in range(50):
            built.append(
                (context, summary_enrollments(tenant_id=context[0], user_id=context[1]).query.sql_with_params())
            )

    threads = [threading.Thread(target=build, args=(context,)) for context in contexts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(built) == 400
    assert all(query == expected[context] for context, query in built)


def test_content_status_is_spliced_as_the_bytes_its_dict_encodes_to(learner_client, course, enrolled, tenant):
    # contentStatus is written into a copy of the course's encoded all-zero statuses (issue 15): the
    # answer must be byte for byte what encoding the whole result gives, in placement order, on the
    # list, on one summary, and indented.
    lessons = lesson_ids(course)
    _post(learner_client, "/v1/view/start", contentId=lessons[2], collectionId=course.id)
    _post(learner_client, "/v1/view/end", contentId=lessons[0], collectionId=course.id)
    # A status of more than one digit (no service writes one) is encoded with the whole map instead.
    odd = ContentConsumption.objects.get(user_id=learner_client.user_id, content_id=lessons[2])
    ContentConsumption.objects.filter(pk=odd.pk).update(status=12)

    listed = learner_client.get(f"/v1/viewer/summary/list/{learner_client.user_id}")
    read = summary_read(learner_client, collectionId=course.id)
    indented = learner_client.get(
        f"/v1/viewer/summary/list/{learner_client.user_id}", HTTP_ACCEPT="application/json; indent=4"
    )

    [summary] = listed.json()["result"]["summary"]
    expected = {str(lessons[0]): 2, str(lessons[1]): 0, str(lessons[2]): 12, str(lessons[3]): 0}
    assert list(summary["contentStatus"].items()) == list(expected.items())
    assert read.json()["result"] == summary
    assert indented.json()["result"]["summary"] == [summary]
    for response in (listed, read):
        body = response.content
        assert body[body.index(b'"result":') + len(b'"result":'):-1] == encode_json(response.json()["result"])

    ContentConsumption.objects.filter(pk=odd.pk).update(status=1)
    [summary] = summary_list(learner_client, learner_client.user_id)
    assert list(summary["contentStatus"].values()) == [2, 0, 1, 0]
    body = learner_client.get(f"/v1/viewer/summary/list/{learner_client.user_id}").content
    assert encode_json(expected | {str(lessons[2]): 1}) in body
