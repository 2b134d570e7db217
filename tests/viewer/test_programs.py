"""Programs: POST /v1/program/enrol, the admin action, and the enrolment updater job."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from courses.models import ContentStatus
from enrollment.models import Enrollment
from lms.models import Tenant
from tests.factories import build_course
from tests.viewer.conftest import enrol, lesson_ids, wrapped
from tracking.models import CourseTrack, CourseTrackStatus, IssuedCertificate
from viewer.models import OutboxEvent, Program, ProgramCourse
from viewer.services import enrolment_updater_run

pytestmark = pytest.mark.django_db


def make_program(tenant, *courses, identifier="prog-1") -> Program:
    program = Program.objects.create(tenant=tenant, identifier=identifier, name="A program")
    for position, course in enumerate(courses, start=1):
        ProgramCourse.objects.create(program=program, course=course, ordering=position)
    return program


@pytest.fixture
def courses(tenant):
    return [
        build_course(tenant=tenant, modules=1, lessons_per_module=2, certificate_term="COMPLETE_ALL", auto_enroll=True)
        for _ in range(2)
    ]


@pytest.fixture
def program(tenant, courses):
    return make_program(tenant, *courses)


def enrol_in_program(client, program_ref, **fields):
    return client.post("/v1/program/enrol", wrapped(programId=str(program_ref), **fields), format="json")


def _post(client, path, **fields):
    return client.post(path, wrapped(**fields), format="json")


# --- POST /v1/program/enrol ------------------------------------------------------------------


def test_staff_enrol_a_learner_in_every_child_with_the_program_as_batch(admin_client, learner_client, program, courses):
    response = enrol_in_program(admin_client, program.id, userId=learner_client.user_id)

    assert response.status_code == 200
    result = response.json()["result"]
    assert response.json()["id"] == "api.program.enrol"
    assert (result["programId"], result["identifier"], result["userId"]) == (
        str(program.id), "prog-1", str(learner_client.user_id)
    )
    assert [(e["collectionId"], e["batchId"], e["created"], e["active"]) for e in result["enrolments"]] == [
        (str(course.id), str(program.id), True, True) for course in courses
    ]
    enrollments = Enrollment.objects.filter(user_id=learner_client.user_id, batch_id=program.id)
    assert enrollments.count() == 2
    assert all(e.enrolled_by == admin_client.user_id for e in enrollments)
    assert CourseTrack.objects.filter(batch_id=program.id).count() == 2
    event = OutboxEvent.objects.get()
    assert (event.kind, event.status, event.tenant_id) == ("program_enrolment", "pending", program.tenant_id)
    assert event.payload == {
        "user_id": str(learner_client.user_id),
        "program_id": str(program.id),
        "enrollment_ids": [e["enrollmentId"] for e in result["enrolments"]],
    }


def test_enrolling_again_skips_existing_children_and_emits_nothing(learner_client, program, courses):
    enrol(courses[0], learner_client.user_id, batch_id=program.id)

    first = enrol_in_program(learner_client, "prog-1")  # by identifier
    again = enrol_in_program(learner_client, program.id)

    assert [e["created"] for e in first.json()["result"]["enrolments"]] == [False, True]
    assert [e["created"] for e in again.json()["result"]["enrolments"]] == [False, False]
    assert OutboxEvent.objects.get().payload["enrollment_ids"] == [first.json()["result"]["enrolments"][1]["enrollmentId"]]
    assert Enrollment.objects.filter(batch_id=program.id).count() == 2


def test_learner_enrols_themselves_under_the_self_enrolment_rules(learner_client, tenant, courses):
    approval = build_course(tenant=tenant, modules=1, lessons_per_module=1, admin_approval=True)
    program = make_program(tenant, courses[0], approval, identifier="with-approval")

    response = enrol_in_program(learner_client, program.id)

    assert response.status_code == 200
    assert [e["active"] for e in response.json()["result"]["enrolments"]] == [True, False]


def test_learner_may_not_enrol_someone_else(learner_client, program):
    response = enrol_in_program(learner_client, program.id, userId=uuid.uuid4())

    assert response.status_code == 403
    assert not Enrollment.objects.exists()


@pytest.mark.parametrize("change", [{"status": ContentStatus.UNPUBLISHED}, {"auto_enroll": False}])
def test_learner_is_refused_a_program_with_a_child_not_open_to_them(learner_client, program, courses, change):
    for name, value in change.items():
        setattr(courses[1], name, value)
    courses[1].save()

    response = enrol_in_program(learner_client, program.id)

    assert response.status_code == 403
    assert response.json()["params"]["err"] == "ERR_PROGRAM_NOT_OPEN"
    assert str(courses[1].id) in response.json()["params"]["errmsg"]
    assert not Enrollment.objects.exists() and not OutboxEvent.objects.exists()


def test_staff_may_enrol_into_unpublished_children(admin_client, learner_client, program, courses):
    courses[1].status = ContentStatus.UNPUBLISHED
    courses[1].save(update_fields=["status"])

    assert enrol_in_program(admin_client, program.id, userId=learner_client.user_id).status_code == 200
    assert Enrollment.objects.filter(batch_id=program.id).count() == 2


def test_archived_children_are_refused_for_everyone(admin_client, learner_client, program, courses):
    courses[0].status = ContentStatus.ARCHIVED
    courses[0].save(update_fields=["status"])

    response = enrol_in_program(admin_client, program.id, userId=learner_client.user_id)

    assert (response.status_code, response.json()["params"]["err"]) == (400, "ERR_PROGRAM_COURSE_ARCHIVED")
    assert not Enrollment.objects.exists()


def test_empty_program_is_a_client_error(admin_client, tenant):
    program = make_program(tenant, identifier="empty")

    assert enrol_in_program(admin_client, program.id).status_code == 400


def test_unknown_and_other_tenants_programs_are_not_found(admin_client, other_admin_client, program):
    assert enrol_in_program(admin_client, uuid.uuid4()).status_code == 404
    assert enrol_in_program(admin_client, "no-such-program").status_code == 404
    response = enrol_in_program(other_admin_client, program.id)
    assert (response.status_code, response.json()["responseCode"]) == (404, "RESOURCE_NOT_FOUND")
    assert enrol_in_program(other_admin_client, "prog-1").status_code == 404
    assert not Enrollment.objects.exists()


def test_missing_program_id_is_a_missing_parameter(learner_client):
    response = learner_client.post("/v1/program/enrol", {"request": {}}, format="json")

    assert (response.status_code, response.json()["params"]["err"]) == (400, "MANDATORY_PARAMETER_MISSING")


# --- The program scenarios of the design -----------------------------------------------------------


def test_strict_program_context_counts_only_its_own_consumption(learner_client, program, courses):
    lesson = lesson_ids(courses[0])[0]
    enrol(courses[0], learner_client.user_id)
    _post(learner_client, "/v1/view/end", contentId=lesson, collectionId=courses[0].id)
    enrol_in_program(learner_client, program.id)

    assert enrolment_updater_run().done == 1

    track = CourseTrack.objects.get(course=courses[0], batch_id=program.id)
    assert track.completed_lessons == 0
    in_program = _post(learner_client, "/v1/view/read", contentId=[lesson], collectionId=courses[0].id,
                       batchId=program.id).json()["result"]["contents"][0]
    assert in_program["status"] == 0
    response = _post(learner_client, "/v1/view/end", contentId=lesson, collectionId=courses[0].id, batchId=program.id)
    assert response.status_code == 200
    track.refresh_from_db()
    assert track.completed_lessons == 1


def test_carry_program_context_counts_completions_from_other_contexts(learner_client, program, courses, tenant):
    tenant.carry_forward = Tenant.CarryForward.CARRY
    tenant.save(update_fields=["carry_forward"])
    first, second = lesson_ids(courses[0])
    enrol_in_program(learner_client, program.id)
    # Completed after the program enrolment, elsewhere: with carry, the completion is recounted into
    # every track of this user whose course places the lesson, at once; the job then changes nothing.
    _post(learner_client, "/v1/view/end", contentId=first)
    enrol(courses[0], learner_client.user_id)
    _post(learner_client, "/v1/view/end", contentId=second, collectionId=courses[0].id)
    program_track = CourseTrack.objects.get(course=courses[0], batch_id=program.id)
    assert program_track.status == CourseTrackStatus.COMPLETED

    run = enrolment_updater_run()

    assert (run.done, run.retried, run.failed) == (1, 0, 0)
    program_track.refresh_from_db()
    assert (program_track.completed_lessons, program_track.status) == (2, CourseTrackStatus.COMPLETED)
    assert IssuedCertificate.objects.filter(track=program_track).count() == 1
    event = OutboxEvent.objects.get()
    assert event.status == "done" and event.processed_at is not None and event.attempts == 1
    summary = _post(learner_client, "/v1/viewer/summary/read", collectionId=courses[0].id,
                    batchId=program.id).json()["result"]
    assert (summary["status"], summary["progress"], len(summary["issuedCertificates"])) == (2, 100, 1)
    assert set(summary["contentStatus"].values()) == {2}
    from tracking.models import ContentConsumption

    assert not ContentConsumption.objects.filter(batch_id=program.id).exists()  # writes stay in their context


def test_the_updater_is_idempotent(learner_client, program, courses, tenant):
    tenant.carry_forward = Tenant.CarryForward.CARRY
    tenant.save(update_fields=["carry_forward"])
    enrol_in_program(learner_client, program.id)
    _post(learner_client, "/v1/view/end", contentId=lesson_ids(courses[0])[0])
    enrolment_updater_run()
    snapshot = list(CourseTrack.objects.order_by("id").values())
    events = list(OutboxEvent.objects.values())

    second = enrolment_updater_run()
    call_command("run_enrolment_updater")

    assert second.claimed == 0
    assert list(CourseTrack.objects.order_by("id").values()) == snapshot
    assert list(OutboxEvent.objects.values()) == events


def test_recounting_an_event_twice_changes_nothing(learner_client, program, courses, tenant):
    tenant.carry_forward = Tenant.CarryForward.CARRY
    tenant.save(update_fields=["carry_forward"])
    enrol_in_program(learner_client, program.id)
    _post(learner_client, "/v1/view/end", contentId=lesson_ids(courses[0])[0])
    enrolment_updater_run()
    snapshot = list(CourseTrack.objects.order_by("id").values())
    OutboxEvent.objects.update(status=OutboxEvent.Status.PENDING)  # as if a worker died before marking it done

    assert enrolment_updater_run().done == 1
    assert list(CourseTrack.objects.order_by("id").values()) == snapshot


def test_failing_events_are_retried_then_marked_failed(tenant):
    broken = OutboxEvent.objects.create(tenant=tenant, kind=OutboxEvent.Kind.PROGRAM_ENROLMENT, payload={"user_id": "x"})

    first = enrolment_updater_run(max_attempts=2)
    broken.refresh_from_db()
    assert (first.retried, broken.status, broken.attempts) == (1, "pending", 1)
    assert "KeyError" in broken.last_error

    second = enrolment_updater_run(max_attempts=2)
    broken.refresh_from_db()
    assert (second.failed, broken.status, broken.attempts) == (1, "failed", 2)
    assert enrolment_updater_run(max_attempts=2).claimed == 0


def test_one_failing_event_does_not_hold_back_the_others(learner_client, program, tenant):
    OutboxEvent.objects.create(tenant=tenant, kind=OutboxEvent.Kind.PROGRAM_ENROLMENT, payload={})
    enrol_in_program(learner_client, program.id)

    run = enrolment_updater_run(batch_size=1)

    assert (run.done, run.retried) == (1, 1)


def test_the_command_reports_what_it_did(learner_client, program, capsys):
    enrol_in_program(learner_client, program.id)

    call_command("run_enrolment_updater", "--batch", "10")

    assert "done=1 retried=0 failed=0" in capsys.readouterr().out
    assert OutboxEvent.objects.get().status == "done"


# --- The admin ---------------------------------------------------------------------------------


@pytest.fixture
def staff_browser(db) -> Client:
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-123456789")
    browser = Client()
    browser.force_login(user)
    return browser


def test_admin_action_enrols_a_user_through_the_same_service(staff_browser, program, courses):
    user_id = uuid.uuid4()
    changelist = "/admin/viewer/program/"

    form = staff_browser.post(changelist, {"action": "enrol_user", "_selected_action": [str(program.id)]})
    assert form.status_code == 200
    assert b"user_id" in form.content

    done = staff_browser.post(changelist, {
        "action": "enrol_user", "_selected_action": [str(program.id)], "apply": "Enrol", "user_id": str(user_id),
    })
    assert done.status_code == 302
    assert Enrollment.objects.filter(user_id=user_id, batch_id=program.id).count() == 2
    assert OutboxEvent.objects.count() == 1


def test_admin_program_pages_render(staff_browser, program):
    assert staff_browser.get("/admin/viewer/program/").status_code == 200
    assert staff_browser.get(f"/admin/viewer/program/{program.id}/change/").status_code == 200
    assert staff_browser.get("/admin/viewer/outboxevent/").status_code == 200


def test_admin_refuses_another_tenants_course_as_a_child(staff_browser, tenant, other_tenant):
    foreign = build_course(tenant=other_tenant, modules=1, lessons_per_module=1)
    response = staff_browser.post("/admin/viewer/program/add/", {
        "tenant": str(tenant.id), "identifier": "p", "name": "P",
        "children-TOTAL_FORMS": "1", "children-INITIAL_FORMS": "0", "children-MIN_NUM_FORMS": "0",
        "children-MAX_NUM_FORMS": "1000", "children-0-ordering": "1", "children-0-course": str(foreign.id),
    })

    assert response.status_code == 200
    assert "belongs to another tenant" in response.content.decode()
    assert not Program.objects.exists()


def test_the_updater_recounts_program_tracks_left_behind(learner_client, program, courses, tenant):
    tenant.carry_forward = Tenant.CarryForward.CARRY
    tenant.save(update_fields=["carry_forward"])
    enrol_in_program(learner_client, program.id)
    # A standalone completion counts at once in every track that carries it…
    _post(learner_client, "/v1/view/end", contentId=lesson_ids(courses[0])[0])
    program_track = CourseTrack.objects.get(course=courses[0], batch_id=program.id)
    assert program_track.completed_lessons == 1
    # …so a track left behind is one written before that rule (or by hand): the job catches it up.
    CourseTrack.objects.filter(pk=program_track.pk).update(completed_lessons=0)

    assert enrolment_updater_run().done == 1

    program_track.refresh_from_db()
    assert (program_track.completed_lessons, program_track.status) == (1, CourseTrackStatus.IN_PROGRESS)
