"""Token strictness (DECISIONS §8): `roles` is a JSON list of strings, dates are numbers, and the
repository's development secret signs nothing where a real key or production is configured."""

from __future__ import annotations

import secrets
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from lms.models import Tenant
from tests.lms.conftest import assert_lms_envelope, assert_viewer_envelope, bearer_client, claims_for, hs256

pytestmark = pytest.mark.urls("tests.lms.urls_probe")

WHOAMI = "/probe/whoami"
DEVELOPMENT_SECRET = "dev-insecure-jwt-secret-change-me-0123456789"


@pytest.fixture(scope="module")
def public_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def _unauthorized(response, *fragments: str) -> str:
    errmsg = assert_lms_envelope(response, http_status=401, err="ERR_UNAUTHORIZED")["params"]["errmsg"]
    for fragment in fragments:
        assert fragment in errmsg, errmsg
    return errmsg


# --- roles ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("roles", "described_as"),
    [
        ("admin", "a string"),
        ("admin,instructor", "a string"),
        (1, "a number"),
        (True, "a boolean"),
        (None, "null"),
        ({"admin": True}, "an object"),
        (["admin", 1], "a list with a non-string entry"),
        (["admin", ["admin"]], "a list with a non-string entry"),
    ],
    ids=["string", "comma-string", "number", "boolean", "null", "object", "list-with-number", "nested-list"],
)
def test_roles_that_are_not_a_list_of_strings_are_401(tenant, roles, described_as):
    token = hs256(claims_for(tenant_id=tenant.id, roles=None) | {"roles": roles})

    response = bearer_client(token, tenant.id).get(WHOAMI)

    _unauthorized(response, "`roles` claim must be a JSON list of role names", described_as)


def test_a_string_role_is_refused_on_the_viewer_family_too(tenant):
    token = hs256(claims_for(tenant_id=tenant.id, roles=None) | {"roles": "admin"})

    response = bearer_client(token, tenant.id).get("/v1/probe/whoami")

    assert_viewer_envelope(response, http_status=401, err="ERR_UNAUTHORIZED")


def test_a_string_role_changes_nothing_on_a_real_write(tenant):
    from courses.models import Course

    token = hs256(claims_for(tenant_id=tenant.id, roles=None) | {"roles": "admin"})

    response = bearer_client(token, tenant.id).post("/courses", {"title": "x"}, format="json")

    assert_lms_envelope(response, http_status=401, err="ERR_UNAUTHORIZED")
    assert not Course.objects.exists()


def test_an_empty_roles_list_is_a_learner(tenant):
    token = hs256(claims_for(tenant_id=tenant.id, roles=[]))

    assert bearer_client(token, tenant.id).get(WHOAMI).json()["result"]["roles"] == ["learner"]


def test_unknown_roles_beside_a_known_one_are_ignored(tenant):
    token = hs256(claims_for(tenant_id=tenant.id, roles=["root", "instructor"]))

    assert bearer_client(token, tenant.id).get(WHOAMI).json()["result"]["roles"] == ["instructor"]


# --- numeric dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
def test_a_date_claim_given_as_a_string_is_401(tenant, claim):
    claims = claims_for(tenant_id=tenant.id)
    claims[claim] = str(claims["exp"] if claim == "exp" else claims["iat"])

    response = bearer_client(hs256(claims), tenant.id).get(WHOAMI)

    _unauthorized(response, f"`{claim}` claim must be a number of seconds since the epoch", "a string")


def test_a_fractional_exp_is_a_number_and_accepted(tenant):
    claims = claims_for(tenant_id=tenant.id)
    claims["exp"] = claims["exp"] + 0.5

    assert_lms_envelope(bearer_client(hs256(claims), tenant.id).get(WHOAMI), http_status=200)


# --- the development secret ---------------------------------------------------------------------------


def test_the_development_secret_signs_tokens_on_a_developer_machine(tenant, settings):
    # The control for the two refusals below: same secret, same token, development settings.
    assert settings.LMS_JWT_SECRET == DEVELOPMENT_SECRET
    token = hs256(claims_for(tenant_id=tenant.id), secret=DEVELOPMENT_SECRET)

    assert bearer_client(token, tenant.id).get(WHOAMI).status_code == 200


def test_the_development_secret_is_refused_beside_a_public_key(tenant, settings, public_pem):
    settings.LMS_JWT_SECRET = DEVELOPMENT_SECRET
    settings.LMS_JWT_PUBLIC_KEY = public_pem
    token = hs256(claims_for(tenant_id=tenant.id, roles=["admin"]), secret=DEVELOPMENT_SECRET)

    response = bearer_client(token, tenant.id).get(WHOAMI)

    _unauthorized(response, "`HS256` are not accepted here (accepted: RS256)")


def test_the_development_secret_is_refused_in_production(tenant, settings):
    settings.LMS_JWT_SECRET = DEVELOPMENT_SECRET
    settings.PRODUCTION = True
    token = hs256(claims_for(tenant_id=tenant.id, roles=["admin"]), secret=DEVELOPMENT_SECRET)

    response = bearer_client(token, tenant.id).get(WHOAMI)

    _unauthorized(response, "`HS256` are not accepted here")


def test_a_real_hs256_secret_still_works_beside_a_public_key(tenant, settings, public_pem):
    secret = secrets.token_urlsafe(40)
    settings.LMS_JWT_SECRET = secret
    settings.LMS_JWT_PUBLIC_KEY = public_pem
    token = jwt.encode(claims_for(tenant_id=tenant.id), secret, algorithm="HS256")

    assert bearer_client(token, tenant.id).get(WHOAMI).status_code == 200


def test_a_refused_development_token_provisions_no_tenant(db, settings, public_pem):
    settings.LMS_JWT_PUBLIC_KEY = public_pem
    settings.LMS_JWT_SECRET = DEVELOPMENT_SECRET
    unknown = uuid.uuid4()
    token = hs256(claims_for(tenant_id=unknown, roles=["admin"]), secret=DEVELOPMENT_SECRET)

    assert bearer_client(token, unknown).get(WHOAMI).status_code == 401
    assert not Tenant.objects.filter(pk=unknown).exists()
