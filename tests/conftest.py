"""Shared fixtures: tenants, tokens and API clients for each role."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from rest_framework.test import APIClient

from lms.api.authentication import mint_token
from lms.api.tenancy import forget_known_tenants
from lms.models import Tenant


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    if "postgresql" in settings.DATABASES["default"]["ENGINE"]:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: run with DATABASE_URL=postgres://...")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fresh_tenant_cache():
    # Test transactions roll tenants back; the per-process cache must not outlive them.
    forget_known_tenants()
    yield
    forget_known_tenants()


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def tenant(db) -> Tenant:
    return Tenant.objects.create(name="Tenant A")


@pytest.fixture
def other_tenant(db) -> Tenant:
    return Tenant.objects.create(name="Tenant B")


class RoleClient(APIClient):
    """An APIClient authenticated as one user with given roles in one tenant."""

    user_id: uuid.UUID
    tenant_id: uuid.UUID


def make_client(*, tenant_id, roles, user_id=None, with_claim=True) -> RoleClient:
    user_id = user_id or uuid.uuid4()
    token = mint_token(
        user_id=user_id, tenant_id=tenant_id if with_claim else None, roles=list(roles), ttl_seconds=3600
    )
    client = RoleClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_TENANTID=str(tenant_id))
    client.user_id = user_id
    client.tenant_id = tenant_id
    return client


@pytest.fixture
def client_for(db):
    """client_for(tenant, "admin") / client_for(tenant, "learner", user_id=...)."""

    def build(tenant, *roles, user_id=None):
        return make_client(tenant_id=tenant.id, roles=roles or ("learner",), user_id=user_id)

    return build


@pytest.fixture
def admin_client(tenant) -> RoleClient:
    return make_client(tenant_id=tenant.id, roles=["admin"])


@pytest.fixture
def instructor_client(tenant) -> RoleClient:
    return make_client(tenant_id=tenant.id, roles=["instructor"])


@pytest.fixture
def learner_client(tenant) -> RoleClient:
    return make_client(tenant_id=tenant.id, roles=["learner"])


@pytest.fixture
def other_admin_client(other_tenant) -> RoleClient:
    """An admin of another tenant: must never see tenant A's objects."""
    return make_client(tenant_id=other_tenant.id, roles=["admin"])


@pytest.fixture
def is_postgres() -> bool:
    return connection.vendor == "postgresql"
