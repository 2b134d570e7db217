"""`manage.py mint_token` and `manage.py create_tenant`."""

from __future__ import annotations

import io
import uuid

import jwt
import pytest
from django.core.management import CommandError, call_command

from lms.models import Tenant
from tests.lms.conftest import assert_lms_envelope, bearer_client

pytestmark = pytest.mark.urls("tests.lms.urls_probe")


def _run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


# --- mint_token ---------------------------------------------------------------------------------


def test_minted_token_authenticates_against_the_api(tenant):
    user_id = uuid.uuid4()

    output = _run("mint_token", "--user", str(user_id), "--tenant", str(tenant.id), "--roles", "admin,instructor")

    assert output.count("\n") == 1
    token = output.strip()
    response = bearer_client(token, tenant_id=tenant.id).get("/probe/whoami")
    body = assert_lms_envelope(response, http_status=200)
    assert body["result"] == {"userId": str(user_id), "tenantId": str(tenant.id), "roles": ["admin", "instructor"]}


def test_minted_token_carries_the_ttl_and_the_tenant_claim(settings):
    tenant_id = uuid.uuid4()

    token = _run("mint_token", "--user", str(uuid.uuid4()), "--tenant", str(tenant_id), "--ttl", "120").strip()

    claims = jwt.decode(token, settings.LMS_JWT_SECRET, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 120
    assert claims["tenant_id"] == str(tenant_id)
    assert claims["roles"] == ["learner"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "bob", "--tenant", str(uuid.uuid4())], "--user must be a UUID, got 'bob'"),
        (["--user", str(uuid.uuid4()), "--tenant", "acme"], "--tenant must be a UUID, got 'acme'"),
        (["--user", str(uuid.uuid4()), "--tenant", str(uuid.uuid4()), "--roles", "admin,boss"], "got boss"),
        (["--user", str(uuid.uuid4()), "--tenant", str(uuid.uuid4()), "--roles", " , "], "got nothing"),
        (["--user", str(uuid.uuid4()), "--tenant", str(uuid.uuid4()), "--ttl", "0"], "--ttl must be a positive"),
    ],
    ids=["bad-user", "bad-tenant", "bad-role", "no-role", "bad-ttl"],
)
def test_mint_token_rejects_bad_arguments_clearly(args, message):
    with pytest.raises(CommandError, match=message):
        _run("mint_token", *args)


def test_mint_token_without_any_key_says_what_to_set(settings):
    settings.LMS_JWT_SECRET = ""
    settings.LMS_JWT_PRIVATE_KEY = ""

    with pytest.raises(CommandError, match="Set LMS_JWT_SECRET"):
        _run("mint_token", "--user", str(uuid.uuid4()), "--tenant", str(uuid.uuid4()))


# --- create_tenant ------------------------------------------------------------------------------


def test_create_tenant_with_an_id_is_idempotent(db):
    tenant_id = uuid.uuid4()

    first = _run("create_tenant", "--name", "Acme", "--id", str(tenant_id), "--carry-forward", "carry")
    second = _run("create_tenant", "--name", "Acme", "--id", str(tenant_id), "--carry-forward", "carry")

    assert first.strip() == second.strip() == str(tenant_id)
    tenant = Tenant.objects.get()
    assert (tenant.name, tenant.carry_forward) == ("Acme", "carry")


def test_create_tenant_by_name_is_idempotent(db):
    first = _run("create_tenant", "--name", "Globex")
    second = _run("create_tenant", "--name", "Globex")

    assert first == second
    assert Tenant.objects.get().id == uuid.UUID(first.strip())
    assert Tenant.objects.get().carry_forward == "strict"


def test_create_tenant_renames_an_auto_provisioned_tenant(db):
    tenant = Tenant.objects.create(id=uuid.uuid4(), name="Tenant (auto)")

    _run("create_tenant", "--name", "Initech", "--id", str(tenant.id))

    tenant.refresh_from_db()
    assert tenant.name == "Initech"
    assert tenant.carry_forward == "strict"  # untouched when --carry-forward is not given


def test_create_tenant_makes_an_explicitly_provisioned_tenant_usable(db, settings):
    settings.LMS_AUTO_PROVISION_TENANTS = False
    from lms.api.authentication import mint_token

    tenant_id = uuid.UUID(_run("create_tenant", "--name", "Umbrella", "--id", str(uuid.uuid4())).strip())
    token = mint_token(user_id=uuid.uuid4(), tenant_id=tenant_id, roles=["learner"])

    assert bearer_client(token, tenant_id=tenant_id).get("/probe/whoami").status_code == 200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "Acme", "--id", "nope"], "--id must be a UUID"),
        (["--name", "   "], "--name must not be empty"),
    ],
)
def test_create_tenant_rejects_bad_arguments(db, args, message):
    with pytest.raises(CommandError, match=message):
        _run("create_tenant", *args)


def test_create_tenant_refuses_an_ambiguous_name(db):
    Tenant.objects.bulk_create([Tenant(name="Twin"), Tenant(name="Twin")])

    with pytest.raises(CommandError, match="Several tenants are named 'Twin'"):
        _run("create_tenant", "--name", "Twin")


def test_create_tenant_rejects_an_unknown_policy(db):
    with pytest.raises(CommandError, match="invalid choice"):
        _run("create_tenant", "--name", "Acme", "--carry-forward", "sometimes")

