"""The progress admin screens: they list, filter and search, and offer no way to write."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from tests.factories import build_course
from tests.tracking.helpers import enroll, lessons_of
from tracking.models import CourseTrack, CourseTrackOverride, IssuedCertificate, LessonAttempt
from tracking.services import course_track_override, lesson_attempt_start, lesson_completion_record

pytestmark = pytest.mark.django_db

SCREENS = {
    CourseTrack: "/admin/tracking/coursetrack/",
    LessonAttempt: "/admin/tracking/lessonattempt/",
    IssuedCertificate: "/admin/tracking/issuedcertificate/",
    CourseTrackOverride: "/admin/tracking/coursetrackoverride/",
}


@pytest.fixture
def staff_client(client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-long-enough-123")
    client.force_login(user)
    return client


@pytest.fixture
def progress(tenant):
    course = build_course(tenant=tenant, modules=1, lessons_per_module=1, certificate_term="COMPLETE_ALL")
    enrollment = enroll(course)
    lesson = lessons_of(course)[0]
    lesson_attempt_start(tenant_id=tenant.id, user_id=enrollment.user_id, lesson_id=lesson.id)
    lesson_completion_record(
        tenant_id=tenant.id, user_id=enrollment.user_id, course_id=course.id, batch_id=course.id, lesson_id=lesson.id
    )
    track = CourseTrack.objects.get(enrollment=enrollment)
    course_track_override(tenant_id=tenant.id, track_id=track.id, changed_by=enrollment.user_id,
                          changes={"last_accessed_date": track.timestart})
    return course, enrollment


@pytest.mark.parametrize("model", list(SCREENS))
def test_screens_list_filter_and_search(staff_client, progress, model):
    course, enrollment = progress
    url = SCREENS[model]
    assert model.objects.count() == 1
    listing = staff_client.get(url)
    assert listing.status_code == 200
    course_filter = "track__course__id__exact" if model is CourseTrackOverride else "course__id__exact"
    assert staff_client.get(url, {course_filter: str(course.id)}).status_code == 200
    search = staff_client.get(url, {"q": str(enrollment.user_id)[:8]})
    assert search.status_code == 200 and "1 result" in search.content.decode()


@pytest.mark.parametrize("model", list(SCREENS))
def test_screens_are_read_only(staff_client, progress, model):
    url = SCREENS[model]
    assert staff_client.get(f"{url}add/").status_code == 403
    row = model.objects.get()
    detail = staff_client.get(f"{url}{row.pk}/change/")
    assert detail.status_code == 200 and b'name="_save"' not in detail.content
    assert staff_client.post(f"{url}{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert model.objects.count() == 1
