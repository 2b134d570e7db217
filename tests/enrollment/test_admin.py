"""The enrollment admin: list filters and search, approve/deactivate actions, edits through the service."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from enrollment.models import Enrollment
from lms.api.identity import staff_user_uuid

CHANGELIST = "/admin/enrollment/enrollment/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def site_admin(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    client.staff_uuid = staff_user_uuid(admin_user.pk)
    return client


def test_changelist_filters_and_searches(site_admin, course, enroll):
    wanted = enroll(course)
    enroll(course, active=False)

    assert site_admin.get(CHANGELIST).status_code == 200
    for query in (
        {"course__id__exact": str(course.id)}, {"state__exact": "0"}, {"active__exact": "1"}, {"q": str(wanted.user_id)},
        {"q": "not-a-uuid"},
    ):
        assert site_admin.get(CHANGELIST, query).status_code == 200, query
    response = site_admin.get(CHANGELIST, {"q": str(wanted.user_id)})
    assert list(response.context["cl"].queryset) == [wanted]
    assert site_admin.get(CHANGELIST, {"active__exact": "0"}).context["cl"].result_count == 1


def test_approve_and_deactivate_actions_go_through_the_services(site_admin, course, enroll):
    pending = [enroll(course, active=False) for _ in range(2)]
    ids = [str(e.pk) for e in pending]

    response = site_admin.post(CHANGELIST, {"action": "approve", "_selected_action": ids}, follow=True)
    assert "Activated 2 enrollment(s)" in response.content.decode()
    assert set(Enrollment.objects.values_list("active", "updated_by")) == {(True, site_admin.staff_uuid)}

    site_admin.post(CHANGELIST, {"action": "deactivate", "_selected_action": ids})
    assert not Enrollment.objects.filter(active=True).exists()


def test_change_form_saves_through_the_service_and_keeps_identity_read_only(site_admin, course, enroll):
    enrollment = enroll(course)
    new_end = enrollment.end_time + dt.timedelta(days=5)
    url = f"{CHANGELIST}{enrollment.pk}/change/"

    form = site_admin.get(url)
    assert form.status_code == 200
    assert 'name="user_id"' not in form.content.decode() and 'name="course"' not in form.content.decode()

    response = site_admin.post(url, {
        "active": "on", "end_time_0": new_end.strftime("%Y-%m-%d"), "end_time_1": new_end.strftime("%H:%M:%S"),
        "params": "{}", "before_expiry_mail": "on",
    })  # fmt: skip

    assert response.status_code == 302
    enrollment.refresh_from_db()
    assert enrollment.end_time.replace(microsecond=0) == new_end.replace(microsecond=0)
    assert (enrollment.before_expiry_mail, enrollment.updated_by) == (True, site_admin.staff_uuid)


def test_change_form_refuses_an_unlimited_plan_with_an_end(site_admin, course, enroll):
    enrollment = enroll(course)
    end = enrollment.end_time
    url = f"{CHANGELIST}{enrollment.pk}/change/"

    response = site_admin.post(url, {
        "active": "on", "unlimited_plan": "on", "end_time_0": end.strftime("%Y-%m-%d"),
        "end_time_1": end.strftime("%H:%M:%S"), "params": "{}",
    })  # fmt: skip

    assert response.status_code == 200  # the form again, with the error
    assert "End time is empty exactly when the plan is unlimited" in response.content.decode()
    assert Enrollment.objects.get(pk=enrollment.pk).unlimited_plan is False


def test_no_delete_in_the_admin(site_admin, course, enroll):
    enrollment = enroll(course)

    assert site_admin.get(f"{CHANGELIST}add/").status_code == 200  # adding goes through enrollment_create
    assert site_admin.get(f"{CHANGELIST}{enrollment.pk}/delete/").status_code == 403
