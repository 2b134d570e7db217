"""The Tenant admin writes through the same service as `manage.py create_tenant`."""

from __future__ import annotations

import uuid

import pytest

from lms.models import Tenant, TenantMembership

# The tenant page carries the staff memberships inline; an empty inline still sends its counts.
NO_MEMBERSHIPS = {"memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0"}


@pytest.fixture
def superuser_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", password="pw-not-used-1")
    client.force_login(user)
    return client


def test_admin_creates_a_tenant_with_a_given_id(superuser_client):
    tenant_id = uuid.uuid4()

    response = superuser_client.post(
        "/admin/lms/tenant/add/", {"id": str(tenant_id), "name": "Hooli", "carry_forward": "carry", **NO_MEMBERSHIPS}
    )

    assert response.status_code == 302, response.content[:500]
    tenant = Tenant.objects.get()
    assert (tenant.id, tenant.name, tenant.carry_forward) == (tenant_id, "Hooli", "carry")


def test_admin_edits_a_tenant_but_not_its_id(superuser_client, tenant):
    response = superuser_client.post(
        f"/admin/lms/tenant/{tenant.id}/change/",
        {"id": str(uuid.uuid4()), "name": "Renamed", "carry_forward": "strict", **NO_MEMBERSHIPS},
    )

    assert response.status_code == 302
    assert list(Tenant.objects.values_list("id", "name")) == [(tenant.id, "Renamed")]


def test_admin_adds_a_staff_member_to_a_tenant_with_a_role(superuser_client, tenant, django_user_model):
    staff = django_user_model.objects.create_user("ops", password="pw-not-used-1", is_staff=True)

    response = superuser_client.post(
        f"/admin/lms/tenant/{tenant.id}/change/",
        {
            "name": tenant.name, "carry_forward": tenant.carry_forward,
            "memberships-TOTAL_FORMS": "1", "memberships-INITIAL_FORMS": "0",
            "memberships-0-user": str(staff.pk), "memberships-0-role": "admin",
        },
    )

    assert response.status_code == 302, response.content[:500]
    assert list(TenantMembership.objects.values_list("tenant_id", "user_id", "role")) == [(tenant.id, staff.pk, "admin")]


def test_user_page_lists_the_tenants_a_staff_account_acts_in(superuser_client, tenant, django_user_model):
    staff = django_user_model.objects.create_user("ops", password="pw-not-used-1", is_staff=True)
    TenantMembership.objects.create(tenant=tenant, user=staff, role="instructor")

    response = superuser_client.get(f"/admin/auth/user/{staff.pk}/change/")

    assert response.status_code == 200
    assert b"tenant_memberships-0-tenant" in response.content
    assert tenant.name.encode() in response.content
