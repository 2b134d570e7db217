"""Staff sessions act only where they are members (DECISIONS §8).

A superuser is admin in every tenant. Any other staff user acts in a tenant only through a
TenantMembership, with its role; elsewhere the answer is 403 ERR_NOT_A_MEMBER, the same whether
the tenant exists or not, and no tenant is ever provisioned for them.
"""

from __future__ import annotations

import uuid

import pytest
from django.db import IntegrityError

from courses.models import Course
from lms.api.identity import staff_user_uuid
from lms.models import Tenant, TenantMembership
from tests.factories import CourseFactory
from tests.lms.conftest import assert_lms_envelope, assert_viewer_envelope

WHOAMI = "/probe/whoami"


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user("ops", password="pw-not-used-1", is_staff=True)


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


def _whoami(client, tenant_id):
    return client.get(WHOAMI, HTTP_TENANTID=str(tenant_id))


# --- through the probe: which role, where -----------------------------------------------------------


@pytest.mark.urls("tests.lms.urls_probe")
@pytest.mark.parametrize("role", ["admin", "instructor"])
def test_a_member_acts_with_the_membership_role(staff_client, staff_user, tenant, role):
    TenantMembership.objects.create(tenant=tenant, user=staff_user, role=role)

    body = assert_lms_envelope(_whoami(staff_client, tenant.id), http_status=200)

    assert body["result"] == {"userId": str(staff_user_uuid(staff_user.pk)), "tenantId": str(tenant.id), "roles": [role]}


@pytest.mark.urls("tests.lms.urls_probe")
def test_a_member_of_one_tenant_is_refused_in_another(staff_client, staff_user, tenant, other_tenant):
    TenantMembership.objects.create(tenant=tenant, user=staff_user, role="admin")

    body = assert_lms_envelope(_whoami(staff_client, other_tenant.id), http_status=403, err="ERR_NOT_A_MEMBER")

    assert "not a member of this tenant" in body["params"]["errmsg"]


@pytest.mark.urls("tests.lms.urls_probe")
def test_staff_without_any_membership_is_refused_on_the_viewer_family_too(staff_client, tenant):
    assert_viewer_envelope(
        staff_client.get("/v1/probe/whoami", HTTP_TENANTID=str(tenant.id)), http_status=403, err="ERR_NOT_A_MEMBER"
    )


@pytest.mark.urls("tests.lms.urls_probe")
def test_staff_never_provisions_a_tenant_and_cannot_tell_unknown_from_foreign(staff_client, settings):
    settings.LMS_AUTO_PROVISION_TENANTS = True
    unknown = uuid.uuid4()

    response = _whoami(staff_client, unknown)

    assert_lms_envelope(response, http_status=403, err="ERR_NOT_A_MEMBER")
    assert not Tenant.objects.filter(pk=unknown).exists()


@pytest.mark.urls("tests.lms.urls_probe")
def test_a_superuser_is_admin_in_every_tenant_without_membership(client, tenant, other_tenant, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", password="pw-not-used-1"))

    for tenant_id in (tenant.id, other_tenant.id):
        assert assert_lms_envelope(_whoami(client, tenant_id), http_status=200)["result"]["roles"] == ["admin"]


@pytest.mark.urls("tests.lms.urls_probe")
def test_an_instructor_member_passes_the_authors_only_check(staff_client, staff_user, tenant):
    TenantMembership.objects.create(tenant=tenant, user=staff_user, role="instructor")

    assert staff_client.get("/probe/authors", HTTP_TENANTID=str(tenant.id)).status_code == 200


@pytest.mark.urls("tests.lms.urls_probe")
def test_a_membership_removed_takes_effect_on_the_next_request(staff_client, staff_user, tenant):
    membership = TenantMembership.objects.create(tenant=tenant, user=staff_user, role="admin")
    assert _whoami(staff_client, tenant.id).status_code == 200

    membership.delete()

    assert _whoami(staff_client, tenant.id).status_code == 403


def test_one_membership_per_tenant_and_user(staff_user, tenant):
    TenantMembership.objects.create(tenant=tenant, user=staff_user, role="admin")

    with pytest.raises(IntegrityError):
        TenantMembership.objects.create(tenant=tenant, user=staff_user, role="instructor")


# --- through the real API ------------------------------------------------------------------------


def test_a_member_writes_content_in_their_tenant_as_themselves(staff_client, staff_user, tenant):
    TenantMembership.objects.create(tenant=tenant, user=staff_user, role="instructor")

    response = staff_client.post(
        "/courses",
        {
            "title": "Staff course", "shortDescription": "s", "description": "d",
            "startDatetime": "2026-01-01T00:00:00Z", "endDatetime": "2027-01-01T00:00:00Z",
        },
        HTTP_TENANTID=str(tenant.id),
    )

    assert_lms_envelope(response, http_status=201)
    course = Course.objects.get()
    assert (course.tenant_id, course.created_by) == (tenant.id, staff_user_uuid(staff_user.pk))


def test_staff_without_membership_reads_and_writes_nothing(staff_client, tenant):
    course = CourseFactory(tenant=tenant, title="Before")

    read = staff_client.get(f"/courses/{course.pk}", HTTP_TENANTID=str(tenant.id))
    write = staff_client.put(
        f"/courses/{course.pk}", {"title": "After"}, content_type="application/json", HTTP_TENANTID=str(tenant.id)
    )

    assert_lms_envelope(read, http_status=403, err="ERR_NOT_A_MEMBER")
    assert_lms_envelope(write, http_status=403, err="ERR_NOT_A_MEMBER")
    course.refresh_from_db()
    assert course.title == "Before"
