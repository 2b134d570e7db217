"""The Tenant admin writes through the same service as `manage.py create_tenant`."""

from __future__ import annotations

import uuid

import pytest

from lms.models import Tenant


@pytest.fixture
def superuser_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", password="pw-not-used-1")
    client.force_login(user)
    return client


def test_admin_creates_a_tenant_with_a_given_id(superuser_client):
    tenant_id = uuid.uuid4()

    response = superuser_client.post(
        "/admin/lms/tenant/add/", {"id": str(tenant_id), "name": "Hooli", "carry_forward": "carry"}
    )

    assert response.status_code == 302, response.content[:500]
    tenant = Tenant.objects.get()
    assert (tenant.id, tenant.name, tenant.carry_forward) == (tenant_id, "Hooli", "carry")


def test_admin_edits_a_tenant_but_not_its_id(superuser_client, tenant):
    response = superuser_client.post(
        f"/admin/lms/tenant/{tenant.id}/change/", {"id": str(uuid.uuid4()), "name": "Renamed", "carry_forward": "strict"}
    )

    assert response.status_code == 302
    assert list(Tenant.objects.values_list("id", "name")) == [(tenant.id, "Renamed")]
