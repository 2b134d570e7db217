"""Enrolling a class in the admin (paste or upload, preview, confirm) and the "Add enrollment" form."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from enrollment.models import Enrollment
from lms.api.identity import staff_user_uuid
from lms.models import TenantMembership
from lms.services import learner_directory_import
from tests.factories import build_course
from tracking.models import CourseTrack

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/enrollment/enrollment/"


def page_of(course) -> str:
    return f"{CHANGELIST}enrol-class/{course.pk}/"


@pytest.fixture
def site_admin(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture
def instructor_of(db):
    """instructor_of(tenant): a logged-in staff client, member of that tenant only, allowed to enrol."""

    def build(tenant) -> Client:
        user = User.objects.create_user(username=f"teacher-{uuid.uuid4().hex[:6]}", password="x", is_staff=True)
        user.user_permissions.add(*Permission.objects.filter(
            content_type__app_label="enrollment", codename__in=["add_enrollment", "view_enrollment", "change_enrollment"]
        ))
        TenantMembership.objects.create(tenant=tenant, user=user, role=TenantMembership.Role.INSTRUCTOR)
        client = Client()
        client.force_login(user)
        return client

    return build


@pytest.fixture
def directory(tenant):
    alice, bob = uuid.uuid4(), uuid.uuid4()
    learner_directory_import(tenant_id=tenant.id, rows=[(alice, "Alice Martin", "alice@school.example"),
                                                       (bob, "Bob Stone", "bob@school.example")])
    return {"alice": alice, "bob": bob}


def test_preview_sorts_every_line_and_changes_nothing(site_admin, course, enroll, directory):
    already = enroll(course)
    newcomer = str(uuid.uuid4())
    pasted = (f"{newcomer}\nALICE@school.example; {already.user_id}\nnobody@school.example\nnot-an-id\n"
              f"{newcomer}\n{directory['alice']}\n{directory['bob']}, Bob Stone, bob@school.example")

    response = site_admin.post(page_of(course), {"entries": pasted, "_preview": "Preview"})

    assert response.status_code == 200
    assert 'id="bulk-preview-table"' in response.content.decode()
    # A line holding a user id counts by it alone; the repeats of a learner (by id or by email) are flagged.
    assert [(line.text, line.outcome) for line, _ in response.context["lines"]] == [
        (newcomer, "new"),
        (str(already.user_id), "existing"),
        ("nobody@school.example", "unknown"),
        ("not-an-id", "invalid"),
        (newcomer, "duplicate"),
        (str(directory["alice"]), "new"),
        (str(directory["bob"]), "new"),
    ]
    html = response.content.decode()
    assert "Alice Martin" in html and 'id="bulk-confirm"' in html and "Enrol 3 learners" in html
    assert Enrollment.objects.count() == 1


def test_confirm_enrols_through_the_service_and_reports_each_line(site_admin, admin_user, course, directory):
    newcomer = uuid.uuid4()
    pasted = f"{newcomer}\nbob@school.example\nnobody@school.example"
    batch_id = uuid.uuid4()

    response = site_admin.post(page_of(course), {"entries": pasted, "batch_id": str(batch_id), "_confirm": "Enrol"})

    assert response.status_code == 200
    assert [line.outcome for line, _ in response.context["lines"]] == ["new", "new", "unknown"]
    html = response.content.decode()
    assert 'id="bulk-result-table"' in html and "Bob Stone" in html and "Enrolled 2 learner(s)" in html
    assert 'id="bulk-see-enrollments"' in html
    enrollments = Enrollment.objects.filter(course=course)
    assert {e.user_id for e in enrollments} == {newcomer, directory["bob"]}
    assert {(e.batch_id, e.enrolled_by) for e in enrollments} == {(batch_id, staff_user_uuid(admin_user.pk))}
    assert CourseTrack.objects.filter(course=course, batch_id=batch_id).count() == 2

    again = site_admin.post(page_of(course), {"entries": pasted, "batch_id": str(batch_id), "_confirm": "Enrol"})
    assert [line.outcome for line, _ in again.context["lines"]] == ["existing", "existing", "unknown"]
    assert Enrollment.objects.count() == 2


def test_an_uploaded_directory_export_counts_each_line_once(site_admin, course, directory):
    newcomer = uuid.uuid4()
    csv = (f"user_id,name,email\n{directory['alice']},Alice Martin,alice@school.example\n"
           f"{newcomer},New Person,new@school.example\n,No Id,bob@school.example\n").encode()

    response = site_admin.post(page_of(course), {
        "entries": "", "upload": SimpleUploadedFile("class.csv", csv, content_type="text/csv"), "_preview": "Preview",
    })

    assert [(line.text, line.outcome) for line, _ in response.context["lines"]] == [
        (str(directory["alice"]), "new"), (str(newcomer), "new"), ("bob@school.example", "new"),
    ]


@pytest.mark.parametrize(("entries", "message"), [
    ("", "Enter at least one user id or email"),
    ("\n".join(str(uuid.uuid4()) for _ in range(1001)), "at most 1000 per run"),
])
def test_an_empty_or_too_long_list_is_refused_with_a_reason(site_admin, course, entries, message):
    response = site_admin.post(page_of(course), {"entries": entries, "_preview": "Preview"})

    assert response.status_code == 200 and message in response.content.decode()
    assert 'id="bulk-enrol-form"' in response.content.decode()


def test_the_course_page_and_the_enrollment_list_link_to_the_page(site_admin, course):
    course_page = site_admin.get(f"/admin/courses/course/{course.pk}/change/").content.decode()
    assert 'id="enrol-class-link"' in course_page and page_of(course) in course_page

    filtered = site_admin.get(CHANGELIST, {"course__id__exact": str(course.pk)}).content.decode()
    assert page_of(course) in filtered
    chooser = site_admin.get(CHANGELIST).content.decode()
    assert f"{CHANGELIST}enrol-class/" in chooser

    chosen = site_admin.get(f"{CHANGELIST}enrol-class/", {"course": str(course.pk)})
    assert chosen.status_code == 302 and chosen.url == page_of(course)


def test_a_member_of_another_tenant_gets_404_and_never_sees_the_course(instructor_of, course, other_tenant):
    outsider = instructor_of(other_tenant)
    own_course = build_course(tenant=other_tenant, modules=1, lessons_per_module=1, title="Own course")

    assert outsider.get(page_of(course)).status_code == 404
    assert outsider.post(page_of(course), {"entries": str(uuid.uuid4()), "_confirm": "Enrol"}).status_code == 404
    chooser = outsider.get(f"{CHANGELIST}enrol-class/").content.decode()
    assert "Own course" in chooser and course.title not in chooser
    assert outsider.get(page_of(own_course)).status_code == 200
    assert not Enrollment.objects.exists()


def test_the_preview_reads_a_constant_number_of_times(site_admin, tenant, course):
    learner_directory_import(tenant_id=tenant.id, rows=[(uuid.uuid4(), f"L{i}", f"l{i}@x.example") for i in range(300)])

    def queries(size: int) -> int:
        pasted = "\n".join([str(uuid.uuid4()) for _ in range(size)] + [f"l{i}@x.example" for i in range(size)])
        with CaptureQueriesContext(connection) as captured:
            response = site_admin.post(page_of(course), {"entries": pasted, "_preview": "Preview"})
        assert len(response.context["lines"]) == 2 * size
        return len(captured)

    # session, user, the course; the directory by email, the enrollments already there, the
    # directory entries of the named learners: the same at 10 and 300 entries.
    assert queries(10) == queries(300) <= 6


# --- "Add enrollment" --------------------------------------------------------------------------

def test_add_enrollment_by_user_id_or_directory_email(site_admin, course, directory):
    learner = uuid.uuid4()

    assert site_admin.get(f"{CHANGELIST}add/").status_code == 200
    response = site_admin.post(f"{CHANGELIST}add/", {"course": str(course.pk), "learner": str(learner), "batch": ""})
    assert response.status_code == 302, response.content.decode()[:3000]
    response = site_admin.post(f"{CHANGELIST}add/", {"course": str(course.pk), "learner": "Bob@School.example"})
    assert response.status_code == 302

    assert {e.user_id for e in Enrollment.objects.all()} == {learner, directory["bob"]}
    assert CourseTrack.objects.filter(course=course).count() == 2


@pytest.mark.parametrize(("learner", "message"), [
    ("nobody@school.example", "No learner with this email"),
    ("not an id", "No learner with this email"),
    ("existing", "already enrolled"),
])
def test_add_enrollment_refuses_with_a_reason(site_admin, course, enroll, learner, message):
    if learner == "existing":
        learner = str(enroll(course).user_id)

    response = site_admin.post(f"{CHANGELIST}add/", {"course": str(course.pk), "learner": learner})

    assert response.status_code == 200 and message in response.content.decode()


def test_add_enrollment_offers_only_the_members_courses(instructor_of, course, other_tenant):
    outsider = instructor_of(other_tenant)

    form = outsider.get(f"{CHANGELIST}add/").content.decode()
    assert course.title not in form
    response = outsider.post(f"{CHANGELIST}add/", {"course": str(course.pk), "learner": str(uuid.uuid4())})
    assert response.status_code == 200 and not Enrollment.objects.exists()
