"""The `tenantid` header (DECISIONS §2): required, a UUID, equal to the token's claim, provisioned on first use."""

from __future__ import annotations

import uuid

import pytest

from lms.api.errors import ForbiddenError
from lms.api.tenancy import ensure_tenant
from lms.models import Tenant
from tests.lms.conftest import assert_lms_envelope, assert_viewer_envelope, bearer_client, claims_for, hs256

pytestmark = pytest.mark.urls("tests.lms.urls_probe")

WHOAMI = "/probe/whoami"


def test_missing_tenant_header_is_400(tenant):
    token = hs256(claims_for(tenant_id=None))

    response = bearer_client(token).get(WHOAMI)

    body = assert_lms_envelope(response, http_status=400, err="ERR_TENANT_REQUIRED")
    assert "`tenantid` header" in body["params"]["errmsg"]


def test_missing_tenant_header_on_the_viewer_family_is_a_client_error(tenant):
    response = bearer_client(hs256(claims_for())).get("/v1/probe/whoami")

    assert_viewer_envelope(response, http_status=400, err="ERR_TENANT_REQUIRED")


@pytest.mark.parametrize("raw", ["acme", "1234", "not-a-uuid-at-all-but-long-enough-to-truncate" * 3])
def test_malformed_tenant_header_is_400(db, raw):
    response = bearer_client(hs256(claims_for()), tenant_id=raw).get(WHOAMI)

    body = assert_lms_envelope(response, http_status=400, err="ERR_TENANT_INVALID")
    assert "must be a UUID" in body["params"]["errmsg"]
    assert len(body["params"]["errmsg"]) < 120


def test_header_not_matching_the_token_claim_is_403(tenant, other_tenant):
    token = hs256(claims_for(tenant_id=tenant.id))

    response = bearer_client(token, tenant_id=other_tenant.id).get(WHOAMI)

    body = assert_lms_envelope(response, http_status=403, err="ERR_TENANT_MISMATCH")
    assert "does not match the token's tenant" in body["params"]["errmsg"]


def test_token_without_a_tenant_claim_may_name_any_tenant(tenant):
    response = bearer_client(hs256(claims_for(tenant_id=None)), tenant_id=tenant.id).get(WHOAMI)

    assert response.json()["result"]["tenantId"] == str(tenant.id)


def test_anonymous_caller_gets_401_before_any_tenant_error(db):
    response = bearer_client(None, tenant_id="garbage").get(WHOAMI)

    assert_lms_envelope(response, http_status=401, err="ERR_UNAUTHORIZED")


def test_default_tenant_lets_the_header_be_omitted(tenant, settings):
    settings.LMS_DEFAULT_TENANT = str(tenant.id)

    response = bearer_client(hs256(claims_for(tenant_id=tenant.id))).get(WHOAMI)

    assert assert_lms_envelope(response, http_status=200)["result"]["tenantId"] == str(tenant.id)


def test_header_wins_over_the_default_tenant(tenant, other_tenant, settings):
    settings.LMS_DEFAULT_TENANT = str(tenant.id)

    response = bearer_client(hs256(claims_for()), tenant_id=other_tenant.id).get(WHOAMI)

    assert response.json()["result"]["tenantId"] == str(other_tenant.id)


def test_unknown_tenant_is_provisioned_on_first_use(db):
    new_id = uuid.uuid4()

    response = bearer_client(hs256(claims_for(tenant_id=new_id)), tenant_id=new_id).get(WHOAMI)

    assert_lms_envelope(response, http_status=200)
    tenant = Tenant.objects.get(pk=new_id)
    assert tenant.name == f"Tenant {new_id}"
    assert tenant.carry_forward == Tenant.CarryForward.STRICT


def test_provisioning_twice_creates_one_tenant(db):
    new_id = uuid.uuid4()
    client = bearer_client(hs256(claims_for(tenant_id=new_id)), tenant_id=new_id)

    client.get(WHOAMI)
    client.get(WHOAMI)

    assert Tenant.objects.filter(pk=new_id).count() == 1


def test_without_auto_provisioning_an_unknown_tenant_is_403(db, settings):
    settings.LMS_AUTO_PROVISION_TENANTS = False
    new_id = uuid.uuid4()

    response = bearer_client(hs256(claims_for(tenant_id=new_id)), tenant_id=new_id).get(WHOAMI)

    body = assert_lms_envelope(response, http_status=403, err="ERR_UNKNOWN_TENANT")
    assert "create" in body["params"]["errmsg"]
    assert not Tenant.objects.filter(pk=new_id).exists()


def test_without_auto_provisioning_a_known_tenant_still_works(tenant, settings):
    settings.LMS_AUTO_PROVISION_TENANTS = False

    response = bearer_client(hs256(claims_for(tenant_id=tenant.id)), tenant_id=tenant.id).get(WHOAMI)

    assert response.status_code == 200


def test_a_deleted_tenant_is_forgotten_by_the_cache(db, settings):
    settings.LMS_AUTO_PROVISION_TENANTS = False
    tenant = Tenant.objects.create(name="Short-lived")
    ensure_tenant(tenant.id)

    tenant.delete()

    with pytest.raises(ForbiddenError, match="not provisioned"):
        ensure_tenant(tenant.id)


def test_a_warm_process_authenticates_and_resolves_the_tenant_without_queries(
    admin_client, django_assert_num_queries
):
    with django_assert_num_queries(1):  # the tenant's existence, once per process
        admin_client.get(WHOAMI)

    with django_assert_num_queries(0):  # token verified from its claims, tenant id cached
        response = admin_client.get(WHOAMI)

    assert response.status_code == 200


def test_a_tenant_scoped_list_costs_the_same_queries_at_any_size(
    admin_client, django_assert_num_queries
):
    admin_client.get("/probe/tenants")  # warm the tenant cache
    with django_assert_num_queries(2):  # count of the tenant's rows, the page of rows
        small = admin_client.get("/probe/tenants")
    Tenant.objects.bulk_create([Tenant(name=f"Other {i}") for i in range(30)])
    with django_assert_num_queries(2):  # the same two: other tenants are filtered out in SQL
        large = admin_client.get("/probe/tenants")

    assert len(small.json()["result"]) == len(large.json()["result"]) == 1
