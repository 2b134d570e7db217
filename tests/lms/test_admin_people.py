"""People, not UUIDs, in the admin: every change list that shows a learner shows their name and
email from the directory, finds rows by them, and reads the directory once per page."""

from __future__ import annotations

import secrets
import uuid

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from enrollment.services import enrollments_bulk_create
from lms.models import LearnerDirectoryEntry
from lms.services import learner_directory_import
from tests.factories import build_course
from tracking.models import CourseTrack, CourseTrackOverride, IssuedCertificate
from tracking.services import lesson_attempt_start
from viewer.models import SummaryDeletion

pytestmark = pytest.mark.django_db

PAGES = {
    "enrollments": "/admin/enrollment/enrollment/",
    "course tracks": "/admin/tracking/coursetrack/",
    "lesson attempts": "/admin/tracking/lessonattempt/",
    "certificates": "/admin/tracking/issuedcertificate/",
    "overrides": "/admin/tracking/coursetrackoverride/",
    "summary deletions": "/admin/viewer/summarydeletion/",
}


@pytest.fixture
def site_admin(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def learners(tenant, count: int, *, known: bool = True) -> list[uuid.UUID]:
    """`count` enrolled learners of a course with a row on every page; named in the directory when `known`."""
    user_ids = [uuid.uuid4() for _ in range(count)]
    course = build_course(tenant=tenant, modules=1, lessons_per_module=1)
    lesson_id = course.placements.values_list("lesson_id", flat=True).get()
    enrollments_bulk_create(tenant_id=tenant.id, course=course, user_ids=user_ids, enrolled_by=uuid.uuid4())
    for user_id in user_ids:
        lesson_attempt_start(tenant_id=tenant.id, user_id=user_id, lesson_id=lesson_id, course_id=course.id)
    now = timezone.now()
    tracks = list(CourseTrack.objects.filter(course=course))
    IssuedCertificate.objects.bulk_create(
        IssuedCertificate(user_id=t.user_id, tenant=tenant, course=course, track=t, name=course.title,
                          token=secrets.token_urlsafe(16), issued_at=now)
        for t in tracks
    )
    CourseTrackOverride.objects.bulk_create(
        CourseTrackOverride(tenant=tenant, track=t, changed_by=uuid.uuid4(), old_values={}, new_values={}) for t in tracks
    )
    SummaryDeletion.objects.bulk_create(
        SummaryDeletion(user_id=u, tenant=tenant, collection_id=course.id, batch_id=course.id, deleted_by=uuid.uuid4())
        for u in user_ids
    )
    if known:
        learner_directory_import(
            tenant_id=tenant.id,
            rows=[(u, f"Learner {u.hex[:6]}", f"{u.hex[:6]}@example.org") for u in user_ids],
        )
    return user_ids


def queries_of(client, url, **params) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200, url
    return len(captured), response.content.decode()


@pytest.mark.parametrize("page", PAGES)
def test_each_page_shows_names_and_emails_and_unknown_learners_by_id(site_admin, tenant, page):
    (named,) = learners(tenant, 1)
    (unknown,) = learners(tenant, 1, known=False)

    _, html = queries_of(site_admin, PAGES[page])

    assert f"Learner {named.hex[:6]}" in html and f"{named.hex[:6]}@example.org" in html
    assert 'class="learner learner-unknown"' in html and str(unknown) in html


@pytest.mark.parametrize("page", PAGES)
def test_each_page_reads_the_directory_once_whatever_the_rows(site_admin, tenant, page):
    learners(tenant, 3)
    few, _ = queries_of(site_admin, PAGES[page])
    learners(tenant, 97)

    many, html = queries_of(site_admin, PAGES[page])

    # The same statements at 100 rows as at 3 (session, user, the page's count and rows, the list
    # filters' choices, and one read of the directory for the page's learners): none per row.
    # The list filters offer one more course, which costs no query either.
    assert many == few, (page, few, many)
    assert html.count('class="learner"') >= 50  # the page (50 or 100 rows) is all named


@pytest.mark.parametrize("page", PAGES)
def test_each_page_finds_learners_by_name_email_or_id(site_admin, tenant, other_tenant, page):
    alice, bob = learners(tenant, 2, known=False)
    learner_directory_import(tenant_id=tenant.id, rows=[(alice, "Alice Martin", "alice@school.example"),
                                                       (bob, "Bob Stone", "bob@school.example")])
    # The same person named otherwise in another tenant: a name belongs to a tenant's learner only.
    learner_directory_import(tenant_id=other_tenant.id, rows=[(bob, "Alice Impostor", None)])
    url = PAGES[page]

    for query, expected in (("alice", {alice}), ("ALICE@school", {alice}), ("school.example", {alice, bob}),
                            ("nobody", set())):
        response = site_admin.get(url, {"q": query})
        found = {row_learner(row) for row in response.context["cl"].result_list}
        assert found == expected, (page, query)
    if page != "overrides":  # the override page is searched by the track's user id already
        response = site_admin.get(url, {"q": str(bob)})
        assert {row_learner(row) for row in response.context["cl"].result_list} == {bob}


def row_learner(row) -> uuid.UUID:
    return row.track.user_id if isinstance(row, CourseTrackOverride) else row.user_id


def test_the_change_form_shows_the_learner(site_admin, tenant):
    (named,) = learners(tenant, 1)
    track = CourseTrack.objects.get(user_id=named)

    html = site_admin.get(f"/admin/tracking/coursetrack/{track.pk}/change/").content.decode()

    assert f"Learner {named.hex[:6]}" in html


def test_the_directory_knows_the_imported_rows(tenant):
    learners(tenant, 2)
    assert LearnerDirectoryEntry.objects.filter(tenant=tenant).count() == 2


MODELS = {
    "enrollments": "enrollment.Enrollment",
    "course tracks": "tracking.CourseTrack",
    "lesson attempts": "tracking.LessonAttempt",
    "certificates": "tracking.IssuedCertificate",
    "summary deletions": "viewer.SummaryDeletion",
}


@pytest.mark.parametrize("page", MODELS)
def test_a_change_pages_heading_and_breadcrumb_name_the_learner(site_admin, tenant, page):
    from django.apps import apps

    (user_id,) = learners(tenant, 1)
    row = apps.get_model(MODELS[page]).objects.get(user_id=user_id)
    response = site_admin.get(f"{PAGES[page]}{row.pk}/change/")
    assert response.status_code == 200
    label = f"Learner {user_id.hex[:6]} &lt;{user_id.hex[:6]}@example.org&gt;"
    heading = response.content.decode().split('<div class="breadcrumbs">', 1)[1].split("</h2>", 1)[0]
    # Breadcrumb and subtitle both read the name; the raw user id is gone from them.
    assert heading.count(label) == 2, heading
    assert str(user_id) not in heading


def test_a_change_page_of_an_unknown_learner_keeps_the_row_text(site_admin, tenant):
    (user_id,) = learners(tenant, 1, known=False)
    track = CourseTrack.objects.get(user_id=user_id)
    response = site_admin.get(f"{PAGES['course tracks']}{track.pk}/change/")
    assert response.status_code == 200
    assert str(user_id) in response.content.decode().split('<div class="breadcrumbs">', 1)[1].split("</h2>", 1)[0]
