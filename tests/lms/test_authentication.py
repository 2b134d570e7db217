"""Bearer JWTs and staff sessions (DECISIONS §2): what is accepted, what answers 401, and why."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured

from lms.api.authentication import check_jwt_configuration
from lms.api.identity import staff_user_uuid
from tests.lms.conftest import (
    assert_lms_envelope,
    b64url,
    bearer_client,
    claims_for,
    hs256,
)

pytestmark = pytest.mark.urls("tests.lms.urls_probe")

WHOAMI = "/probe/whoami"


def _rsa_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return private_pem, public_pem


@pytest.fixture(scope="module")
def rsa_pair() -> tuple[str, str]:
    return _rsa_pair()


def _get(token: str, tenant) -> dict:
    return bearer_client(token, tenant.id).get(WHOAMI)


def _unauthorized(response, fragment: str) -> None:
    body = assert_lms_envelope(response, http_status=401, err="ERR_UNAUTHORIZED")
    assert fragment in body["params"]["errmsg"], body["params"]["errmsg"]


# --- HS256 --------------------------------------------------------------------------------------


def test_valid_hs256_token_authenticates(tenant):
    user_id = uuid.uuid4()
    token = hs256(claims_for(user_id=user_id, tenant_id=tenant.id, roles=["admin", "instructor"]))

    body = assert_lms_envelope(_get(token, tenant), http_status=200)

    assert body["result"] == {"userId": str(user_id), "tenantId": str(tenant.id), "roles": ["admin", "instructor"]}


def test_expired_token_is_401(tenant, settings):
    settings.LMS_JWT_LEEWAY_SECONDS = 0
    token = hs256(claims_for(tenant_id=tenant.id, ttl=-5))

    _unauthorized(_get(token, tenant), "expired")


def test_leeway_tolerates_small_clock_skew(tenant):
    token = hs256(claims_for(tenant_id=tenant.id, ttl=-5))

    assert _get(token, tenant).status_code == 200


def test_token_signed_with_another_key_is_401(tenant):
    token = hs256(claims_for(tenant_id=tenant.id), secret="another-secret-of-at-least-thirty-two-bytes")

    _unauthorized(_get(token, tenant), "signature does not verify")


def test_alg_none_is_refused(tenant):
    # Crafted by hand: libraries refuse to produce it, attackers do not.
    token = f"{b64url({'alg': 'none', 'typ': 'JWT'})}.{b64url(claims_for(tenant_id=tenant.id))}."

    _unauthorized(_get(token, tenant), "`none` are not accepted")


def test_alg_none_with_a_stolen_signature_is_refused(tenant):
    genuine = hs256(claims_for(tenant_id=tenant.id)).split(".")
    token = f"{b64url({'alg': 'none', 'typ': 'JWT'})}.{genuine[1]}.{genuine[2]}"

    _unauthorized(_get(token, tenant), "`none` are not accepted")


def test_hs512_is_refused_even_with_the_right_secret(tenant, settings):
    settings.LMS_JWT_SECRET = "s" * 64  # long enough for SHA-512, so only the algorithm is wrong
    token = hs256(claims_for(tenant_id=tenant.id), algorithm="HS512")

    _unauthorized(_get(token, tenant), "`HS512` are not accepted")


def test_non_string_alg_header_is_401_not_500(tenant):
    token = f"{b64url({'alg': ['HS256'], 'typ': 'JWT'})}.{b64url(claims_for(tenant_id=tenant.id))}.sig"

    _unauthorized(_get(token, tenant), "are not accepted")


def test_missing_sub_is_401(tenant):
    claims = claims_for(tenant_id=tenant.id)
    del claims["sub"]

    _unauthorized(_get(hs256(claims), tenant), "`sub`")


def test_non_uuid_sub_is_401(tenant):
    claims = claims_for(tenant_id=tenant.id)
    claims["sub"] = "alice"

    _unauthorized(_get(hs256(claims), tenant), "`sub` claim must be a UUID")


def test_missing_exp_is_401(tenant):
    claims = claims_for(tenant_id=tenant.id)
    del claims["exp"]

    _unauthorized(_get(hs256(claims), tenant), "`exp`")


def test_non_uuid_tenant_claim_is_401(tenant):
    claims = claims_for()
    claims["tenant_id"] = "acme"

    _unauthorized(_get(hs256(claims), tenant), "`tenant_id` claim must be a UUID")


def test_roles_missing_means_learner(tenant):
    token = hs256(claims_for(tenant_id=tenant.id, roles=None))

    assert _get(token, tenant).json()["result"]["roles"] == ["learner"]


def test_unknown_roles_grant_nothing(tenant):
    token = hs256(claims_for(tenant_id=tenant.id, roles=["superuser", "root"]))

    assert _get(token, tenant).json()["result"]["roles"] == ["learner"]


def test_roles_of_the_wrong_type_are_401(tenant):
    token = hs256(claims_for(tenant_id=tenant.id, roles=None) | {"roles": {"admin": True}})

    _unauthorized(_get(token, tenant), "`roles` claim")


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer a b", "Bearer not-a-jwt", "Bearer a.b.c"],
    ids=["no-token", "two-tokens", "not-a-jwt", "garbage-segments"],
)
def test_malformed_authorization_header_is_401(client, tenant, header):
    response = client.get(WHOAMI, HTTP_AUTHORIZATION=header, HTTP_TENANTID=str(tenant.id))

    assert_lms_envelope(response, http_status=401, err="ERR_UNAUTHORIZED")


@pytest.mark.parametrize("header", ["   ", "Basic dXNlcjpwYXNz", "Token abc"], ids=["blank", "basic", "token"])
def test_other_schemes_are_unauthenticated_not_errors(client, tenant, header):
    response = client.get(WHOAMI, HTTP_AUTHORIZATION=header, HTTP_TENANTID=str(tenant.id))

    body = assert_lms_envelope(response, http_status=401, err="ERR_UNAUTHORIZED")
    assert "Bearer" in body["params"]["errmsg"]


def test_audience_is_checked_only_when_configured(tenant, settings):
    token = hs256(claims_for(tenant_id=tenant.id, aud="some-other-service"))
    assert _get(token, tenant).status_code == 200

    settings.LMS_JWT_AUDIENCE = "lms"
    _unauthorized(_get(token, tenant), "Audience doesn't match")
    assert _get(hs256(claims_for(tenant_id=tenant.id, aud="lms")), tenant).status_code == 200


# --- RS256 --------------------------------------------------------------------------------------


def test_rs256_token_verifies_with_the_public_key(tenant, settings, rsa_pair):
    private_pem, public_pem = rsa_pair
    settings.LMS_JWT_PUBLIC_KEY = public_pem  # the setting_changed receiver drops the cached keys
    user_id = uuid.uuid4()
    token = jwt.encode(claims_for(user_id=user_id, tenant_id=tenant.id), private_pem, algorithm="RS256")

    body = assert_lms_envelope(_get(token, tenant), http_status=200)

    assert body["result"]["userId"] == str(user_id)


def test_rs256_signed_by_another_key_is_401(tenant, settings, rsa_pair):
    settings.LMS_JWT_PUBLIC_KEY = rsa_pair[1]
    intruder_private, _ = _rsa_pair()
    token = jwt.encode(claims_for(tenant_id=tenant.id), intruder_private, algorithm="RS256")

    _unauthorized(_get(token, tenant), "signature does not verify")


def test_rs256_is_refused_when_no_public_key_is_configured(tenant, settings, rsa_pair):
    settings.LMS_JWT_PUBLIC_KEY = ""
    token = jwt.encode(claims_for(tenant_id=tenant.id), rsa_pair[0], algorithm="RS256")

    _unauthorized(_get(token, tenant), "`RS256` are not accepted here (accepted: HS256)")


def test_hs256_forged_with_the_public_key_as_secret_is_refused(tenant, settings, rsa_pair):
    # The classic algorithm-confusion attack: with RS256-only configuration HS256 is not accepted.
    settings.LMS_JWT_SECRET = ""
    settings.LMS_JWT_PUBLIC_KEY = rsa_pair[1]
    signing_input = f"{b64url({'alg': 'HS256', 'typ': 'JWT'})}.{b64url(claims_for(tenant_id=tenant.id))}"
    signature = hmac.new(rsa_pair[1].encode(), signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"

    _unauthorized(_get(token, tenant), "`HS256` are not accepted here (accepted: RS256)")


def test_private_key_alone_signs_and_verifies(tenant, settings, rsa_pair):
    from lms.api.authentication import mint_token

    settings.LMS_JWT_PRIVATE_KEY = rsa_pair[0]
    settings.LMS_JWT_PUBLIC_KEY = ""
    token = mint_token(user_id=uuid.uuid4(), tenant_id=tenant.id, roles=["admin"])

    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    assert _get(token, tenant).status_code == 200


def test_a_malformed_public_key_stops_start_up(settings):
    settings.LMS_JWT_PUBLIC_KEY = "-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----"

    with pytest.raises(ImproperlyConfigured, match="LMS_JWT_PUBLIC_KEY"):
        check_jwt_configuration()


# --- staff sessions -----------------------------------------------------------------------------


def test_superuser_session_acts_as_tenant_admin(client, tenant):
    staff = get_user_model().objects.create_superuser("ops", password="pw-not-used-1")
    client.force_login(staff)

    response = client.get(WHOAMI, HTTP_TENANTID=str(tenant.id))

    body = assert_lms_envelope(response, http_status=200)
    assert body["result"] == {"userId": str(staff_user_uuid(staff.pk)), "tenantId": str(tenant.id), "roles": ["admin"]}


def test_staff_session_writes_need_the_csrf_token(tenant):
    from rest_framework.test import APIClient

    staff = get_user_model().objects.create_user("ops", password="pw-not-used-1", is_staff=True)
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(staff)

    response = client.post(WHOAMI, {"title": "t"}, format="json", HTTP_TENANTID=str(tenant.id))

    body = assert_lms_envelope(response, http_status=403, err="ERR_FORBIDDEN")
    assert "CSRF" in body["params"]["errmsg"]


def test_non_staff_session_is_refused(client, tenant):
    user = get_user_model().objects.create_user("learner", password="pw-not-used-1", is_staff=False)
    client.force_login(user)

    response = client.get(WHOAMI, HTTP_TENANTID=str(tenant.id))

    assert_lms_envelope(response, http_status=401, err="ERR_UNAUTHORIZED")


def test_bearer_token_wins_over_a_staff_session(client, tenant):
    staff = get_user_model().objects.create_user("ops", password="pw-not-used-1", is_staff=True)
    client.force_login(staff)
    user_id = uuid.uuid4()
    token = hs256(claims_for(user_id=user_id, tenant_id=tenant.id, roles=["learner"]))

    response = client.get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_TENANTID=str(tenant.id))

    assert response.json()["result"]["userId"] == str(user_id)
