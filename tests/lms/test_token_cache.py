"""The per-process cache of verified tokens (issue 15): a hit skips PyJWT but never a refusal.

A token that verified once is not verified again while it is cached, but every request still
re-checks its dates against the clock, and nothing that failed verification is ever stored.
"""

from __future__ import annotations

import time
import types
import uuid

import jwt
import pytest
from django.test import RequestFactory
from rest_framework import exceptions

from lms.api import authentication
from lms.api.authentication import JWTAuthentication, verified_tokens
from tests.lms.conftest import assert_lms_envelope, bearer_client, claims_for, hs256

pytestmark = pytest.mark.urls("tests.lms.urls_probe")

WHOAMI = "/probe/whoami"


@pytest.fixture
def pyjwt_decodes(monkeypatch) -> list[str]:
    """The tokens PyJWT verified in full, in order (the real decode runs)."""
    calls: list[str] = []
    real_decode = jwt.decode

    def counting_decode(token, *args, **kwargs):
        calls.append(token)
        return real_decode(token, *args, **kwargs)

    monkeypatch.setattr(authentication.jwt, "decode", counting_decode)
    return calls


def _clock_at(monkeypatch, seconds: float) -> None:
    monkeypatch.setattr(authentication, "time", types.SimpleNamespace(time=lambda: seconds))


def _authenticate(token: str):
    request = RequestFactory().get("/probe/whoami", HTTP_AUTHORIZATION=f"Bearer {token}")
    return JWTAuthentication().authenticate(request)


def _unauthorized(response, fragment: str) -> None:
    body = assert_lms_envelope(response, http_status=401, err="ERR_UNAUTHORIZED")
    assert fragment in body["params"]["errmsg"], body["params"]["errmsg"]


def test_a_second_request_with_the_same_token_is_not_verified_again(tenant, pyjwt_decodes):
    user_id = uuid.uuid4()
    token = hs256(claims_for(user_id=user_id, tenant_id=tenant.id, roles=["instructor"]))
    client = bearer_client(token, tenant.id)

    first = assert_lms_envelope(client.get(WHOAMI), http_status=200)
    second = assert_lms_envelope(client.get(WHOAMI), http_status=200)

    assert pyjwt_decodes == [token]
    assert first["result"] == second["result"] == {
        "userId": str(user_id),
        "tenantId": str(tenant.id),
        "roles": ["instructor"],
    }


def test_a_cached_token_is_refused_once_it_expires(tenant, settings, monkeypatch):
    settings.LMS_JWT_LEEWAY_SECONDS = 0
    now = int(time.time())
    token = hs256(claims_for(tenant_id=tenant.id) | {"iat": now, "exp": now + 60})
    client = bearer_client(token, tenant.id)
    assert_lms_envelope(client.get(WHOAMI), http_status=200)
    assert token in verified_tokens._entries

    _clock_at(monkeypatch, now + 60)

    _unauthorized(client.get(WHOAMI), "The bearer token has expired; obtain a new one.")


def test_the_leeway_applies_to_a_cached_token_as_to_a_fresh_one(tenant, settings, monkeypatch):
    settings.LMS_JWT_LEEWAY_SECONDS = 30
    now = int(time.time())
    token = hs256(claims_for(tenant_id=tenant.id) | {"iat": now, "exp": now + 60})
    client = bearer_client(token, tenant.id)
    assert_lms_envelope(client.get(WHOAMI), http_status=200)

    _clock_at(monkeypatch, now + 60 + 29)
    assert_lms_envelope(client.get(WHOAMI), http_status=200)

    _clock_at(monkeypatch, now + 60 + 30)
    _unauthorized(client.get(WHOAMI), "expired")


def test_a_fractional_exp_is_compared_as_pyjwt_compares_it(settings, monkeypatch):
    # PyJWT compares int(exp); a hit must not accept a token a full verification would refuse.
    settings.LMS_JWT_LEEWAY_SECONDS = 0
    now = int(time.time())
    token = hs256(claims_for() | {"exp": now + 60.9})
    _authenticate(token)

    _clock_at(monkeypatch, now + 60.5)

    with pytest.raises(exceptions.AuthenticationFailed, match="expired"):
        _authenticate(token)


def test_a_cached_token_whose_nbf_is_ahead_of_a_clock_set_back_is_refused(settings, monkeypatch):
    settings.LMS_JWT_LEEWAY_SECONDS = 0
    now = int(time.time())
    token = hs256(claims_for() | {"nbf": now - 1})
    _authenticate(token)

    _clock_at(monkeypatch, now - 100)

    with pytest.raises(exceptions.AuthenticationFailed, match=r"not yet valid \(nbf\)"):
        _authenticate(token)


def test_a_token_with_a_bad_signature_is_never_cached(tenant, pyjwt_decodes):
    token = hs256(claims_for(tenant_id=tenant.id), secret="another-secret-of-at-least-32-chars!!")
    client = bearer_client(token, tenant.id)

    _unauthorized(client.get(WHOAMI), "signature does not verify")
    _unauthorized(client.get(WHOAMI), "signature does not verify")

    assert len(verified_tokens) == 0
    assert pyjwt_decodes == [token, token]


def test_a_signed_token_with_unusable_claims_is_never_cached(tenant):
    token = hs256(claims_for(tenant_id=tenant.id) | {"sub": "not-a-uuid"})
    client = bearer_client(token, tenant.id)

    _unauthorized(client.get(WHOAMI), "`sub` claim must be a UUID")
    _unauthorized(client.get(WHOAMI), "`sub` claim must be a UUID")

    assert len(verified_tokens) == 0


def test_changing_the_key_forgets_tokens_verified_with_the_old_one(tenant, settings):
    token = hs256(claims_for(tenant_id=tenant.id))
    client = bearer_client(token, tenant.id)
    assert_lms_envelope(client.get(WHOAMI), http_status=200)

    settings.LMS_JWT_SECRET = "a-rotated-secret-that-is-32-chars-or-more"

    _unauthorized(client.get(WHOAMI), "signature does not verify")


def test_the_cache_is_bounded_and_forgets_the_least_recently_used(monkeypatch, pyjwt_decodes):
    monkeypatch.setattr(verified_tokens, "max_weight", 3)
    tokens = [hs256(claims_for()) for _ in range(5)]

    for token in tokens:
        _authenticate(token)

    assert len(verified_tokens) == 3
    _authenticate(tokens[-1])  # still cached
    _authenticate(tokens[0])  # forgotten: verified again
    assert pyjwt_decodes == [*tokens, tokens[0]]


def test_each_request_gets_its_own_copy_of_the_claims():
    token = hs256(claims_for(roles=["learner"]))
    _, first_claims = _authenticate(token)
    first_claims["roles"] = ["admin"]

    principal, second_claims = _authenticate(token)

    assert second_claims["roles"] == ["learner"]
    assert principal.roles == frozenset({"learner"})
