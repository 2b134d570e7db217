"""LMS_REQUIRE_TENANT_CLAIM (DECISIONS §8): where it is on, a token must name its tenant."""

from __future__ import annotations

import io
import uuid

import pytest
from django.core.management import call_command

from lms.models import Tenant
from tests.lms.conftest import assert_lms_envelope, assert_viewer_envelope, bearer_client, claims_for, hs256

pytestmark = pytest.mark.urls("tests.lms.urls_probe")

WHOAMI = "/probe/whoami"


@pytest.fixture
def claim_required(settings):
    settings.LMS_REQUIRE_TENANT_CLAIM = True


def test_a_token_without_tenant_id_is_403_where_the_claim_is_required(tenant, claim_required):
    response = bearer_client(hs256(claims_for(tenant_id=None)), tenant.id).get(WHOAMI)

    body = assert_lms_envelope(response, http_status=403, err="ERR_TENANT_CLAIM_REQUIRED")
    assert "`tenant_id` claim" in body["params"]["errmsg"]


def test_the_viewer_family_answers_the_same_refusal(tenant, claim_required):
    response = bearer_client(hs256(claims_for(tenant_id=None)), tenant.id).get("/v1/probe/whoami")

    assert_viewer_envelope(response, http_status=403, err="ERR_TENANT_CLAIM_REQUIRED")


def test_a_refused_token_provisions_nothing(db, claim_required):
    unknown = uuid.uuid4()

    response = bearer_client(hs256(claims_for(tenant_id=None)), unknown).get(WHOAMI)

    assert response.status_code == 403
    assert not Tenant.objects.filter(pk=unknown).exists()


def test_a_token_with_tenant_id_is_accepted_where_the_claim_is_required(tenant, claim_required):
    response = bearer_client(hs256(claims_for(tenant_id=tenant.id)), tenant.id).get(WHOAMI)

    assert assert_lms_envelope(response, http_status=200)["result"]["tenantId"] == str(tenant.id)


def test_without_the_requirement_a_token_may_leave_the_claim_out(tenant, settings):
    settings.LMS_REQUIRE_TENANT_CLAIM = False

    response = bearer_client(hs256(claims_for(tenant_id=None)), tenant.id).get(WHOAMI)

    assert response.status_code == 200


def test_the_claim_requirement_does_not_apply_to_superuser_sessions(client, tenant, claim_required, django_user_model):
    # A session has no token to carry a claim; its tenants come from the memberships instead.
    client.force_login(django_user_model.objects.create_superuser("root", password="pw-not-used-1"))

    response = client.get(WHOAMI, HTTP_TENANTID=str(tenant.id))

    assert response.status_code == 200


def test_a_minted_token_works_under_production_tenancy(tenant, settings):
    settings.LMS_REQUIRE_TENANT_CLAIM = True
    settings.LMS_AUTO_PROVISION_TENANTS = False
    out = io.StringIO()
    call_command("mint_token", "--user", str(uuid.uuid4()), "--tenant", str(tenant.id), "--roles", "admin", stdout=out)

    response = bearer_client(out.getvalue().strip(), tenant.id).get(WHOAMI)

    assert assert_lms_envelope(response, http_status=200)["result"]["roles"] == ["admin"]
