"""The admin's 403 and 404 are admin pages, not the API's JSON envelope (found by the browser suite:
a guessed URL of another tenant's course showed `{"err": "ERR_NOT_FOUND", "errmsg": "No endpoint…"}`)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from lms.models import TenantMembership
from tests.factories import CourseFactory

PASSWORD = "a-long-staff-password"


@pytest.fixture
def staff_of(db, client):
    def log_in(tenant, *, permissions=()):
        from django.contrib.auth.models import Permission

        user = get_user_model().objects.create_user("staff", "staff@example.invalid", PASSWORD, is_staff=True)
        user.user_permissions.set(Permission.objects.filter(codename__in=permissions))
        TenantMembership.objects.create(tenant=tenant, user=user, role=TenantMembership.Role.ADMIN)
        assert client.login(username="staff", password=PASSWORD)
        return client

    return log_in


def _assert_admin_page(response, *, status: int, says: str) -> None:
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert 'id="header"' in html and 'href="/admin/"' in html  # the admin's header and a way home
    assert says in html


def test_another_tenants_course_is_an_admin_404(staff_of, tenant, other_tenant):
    client = staff_of(other_tenant, permissions=["view_course", "change_course"])
    course = CourseFactory(tenant=tenant, title="Tenant A's own course")
    response = client.get(f"/admin/courses/course/{course.pk}/change/")
    _assert_admin_page(response, status=404, says="No course with this id.")
    assert "Tenant A" not in response.content.decode()


def test_an_unknown_admin_address_is_an_admin_404(staff_of, tenant):
    response = staff_of(tenant).get("/admin/courses/nothing-here/")
    _assert_admin_page(response, status=404, says="this address matches no page")


def test_a_page_without_permission_is_an_admin_403(staff_of, tenant):
    response = staff_of(tenant).get("/admin/courses/course/")
    _assert_admin_page(response, status=403, says="may not open this page")


def test_the_api_keeps_its_json_404(client, db):
    response = client.get("/no-such-endpoint")
    assert response.status_code == 404
    assert response.json()["params"]["err"] == "ERR_NOT_FOUND"
