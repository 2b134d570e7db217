"""Shared fixtures: tenants, tokens and API clients for each role."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from rest_framework.test import APIClient

from lms.api.authentication import mint_token
from lms.api.tenancy import forget_known_tenants
from lms.celery import app as celery_app
from lms.models import Tenant
from lms.services import forget_directory_seen

# Background tasks run in place, when a test runs its on-commit callbacks; no test talks to a broker
# unless it starts one with a worker of its own (tests/events/).
celery_app.conf.update(task_always_eager=True, broker_url="memory://")


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    if "postgresql" in settings.DATABASES["default"]["ENGINE"]:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: run with DATABASE_URL=postgres://...")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def _recount_differences() -> list[str]:
    from tracking.services import course_tracks_drift

    return [
        f"track {track.pk} (user {track.user_id}, course {track.course_id}, batch {track.batch_id}): "
        + ", ".join(f"{name} {stored!r} -> {derived!r}" for name, (stored, derived) in differences.items())
        for track, differences in course_tracks_drift()
    ]


@pytest.fixture(autouse=True)
def _recount_finds_no_drift(request):
    """The recount is the service's own statement of the truth: after every test that touches the
    database, a dry-run recount must find every course track as the facts derive it. A test that
    leaves drift on purpose (it corrupts a track to test the recount, or records a staff override)
    says so with `@pytest.mark.drift_expected("why")`."""
    uses_db = {"db", "transactional_db", "django_db_reset_sequences"} & set(request.fixturenames) or (
        request.node.get_closest_marker("django_db") is not None
    )
    if not uses_db or request.node.get_closest_marker("drift_expected") is not None:
        yield
        return
    # Requested here first, so the database outlives this fixture's check at teardown.
    transactional = request.node.get_closest_marker("django_db")
    if "transactional_db" in request.fixturenames or (transactional and transactional.kwargs.get("transaction")):
        request.getfixturevalue("transactional_db")
    else:
        request.getfixturevalue("db")
    yield
    if connection.needs_rollback:
        return  # the test ended inside a failed transaction (an expected IntegrityError): nothing stands
    differences = _recount_differences()
    if differences:
        pytest.fail("The recount finds drift after this test (fix the write path, or mark the test "
                    "drift_expected):\n" + "\n".join(differences), pytrace=False)


@pytest.fixture(autouse=True)
def _fresh_tenant_cache():
    # Test transactions roll tenants back; the per-process cache must not outlive them.
    forget_known_tenants()
    forget_directory_seen()
    yield
    forget_known_tenants()
    forget_directory_seen()


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


def make_client(*, tenant_id, roles, user_id=None, with_claim=True, name=None, email=None) -> RoleClient:
    user_id = user_id or uuid.uuid4()
    token = mint_token(
        user_id=user_id,
        tenant_id=tenant_id if with_claim else None,
        roles=list(roles),
        ttl_seconds=3600,
        name=name,
        email=email,
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
