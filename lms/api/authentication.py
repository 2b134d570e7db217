"""Bearer JWT and staff-session authentication (DECISIONS §2)."""

from __future__ import annotations

import functools
import uuid

import jwt
from django.conf import settings
from rest_framework import authentication, exceptions

from lms.api.identity import KNOWN_ROLES, ROLE_ADMIN, ROLE_LEARNER, Principal, staff_user_uuid


@functools.cache
def verification_keys() -> dict[str, object]:
    """Algorithm → key object, built once per process (settings never change at run time)."""
    keys: dict[str, object] = {}
    if settings.LMS_JWT_SECRET:
        keys["HS256"] = settings.LMS_JWT_SECRET
    if settings.LMS_JWT_PUBLIC_KEY:
        keys["RS256"] = jwt.algorithms.RSAAlgorithm.prepare_key(settings.LMS_JWT_PUBLIC_KEY)
    return keys


def _parse_uuid(value, claim: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        raise exceptions.AuthenticationFailed(f"The token's `{claim}` claim must be a UUID.") from None


def principal_from_claims(claims: dict) -> Principal:
    if "sub" not in claims:
        raise exceptions.AuthenticationFailed("The token has no `sub` claim naming the user.")
    user_id = _parse_uuid(claims["sub"], "sub")
    raw_roles = claims.get("roles")
    if raw_roles is None:
        roles = frozenset({ROLE_LEARNER})
    elif isinstance(raw_roles, str):
        roles = frozenset(r.strip() for r in raw_roles.split(",") if r.strip())
    elif isinstance(raw_roles, list) and all(isinstance(r, str) for r in raw_roles):
        roles = frozenset(raw_roles)
    else:
        raise exceptions.AuthenticationFailed("The token's `roles` claim must be a list of role names.")
    roles = roles & KNOWN_ROLES or frozenset({ROLE_LEARNER})
    tenant_claim = claims.get("tenant_id")
    return Principal(
        user_id=user_id,
        roles=roles,
        tenant_claim=_parse_uuid(tenant_claim, "tenant_id") if tenant_claim is not None else None,
    )


def decode_token(token: str) -> dict:
    keys = verification_keys()
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise exceptions.AuthenticationFailed("The bearer token is malformed.") from None
    algorithm = header.get("alg")
    if algorithm not in keys:
        accepted = ", ".join(sorted(keys)) or "none configured"
        raise exceptions.AuthenticationFailed(
            f"Tokens signed with `{algorithm}` are not accepted (accepted: {accepted})."
        )
    try:
        return jwt.decode(
            token,
            keys[algorithm],
            algorithms=[algorithm],
            options={"require": ["exp", "sub"]},
            leeway=settings.LMS_JWT_LEEWAY_SECONDS,
        )
    except jwt.ExpiredSignatureError:
        raise exceptions.AuthenticationFailed("The bearer token has expired; obtain a new one.") from None
    except jwt.MissingRequiredClaimError as error:
        raise exceptions.AuthenticationFailed(f"The token has no `{error.claim}` claim.") from None
    except jwt.InvalidSignatureError:
        raise exceptions.AuthenticationFailed("The bearer token's signature does not verify.") from None
    except jwt.PyJWTError as error:
        raise exceptions.AuthenticationFailed(f"The bearer token is invalid: {error}.") from None


class JWTAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        parts = header.split()
        if parts[0].lower() != self.keyword.lower():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Send the header as `Authorization: Bearer <token>`.")
        claims = decode_token(parts[1])
        return principal_from_claims(claims), claims

    def authenticate_header(self, request):
        return f'{self.keyword} realm="lms"'


class StaffSessionAuthentication(authentication.SessionAuthentication):
    """Admin-site staff using the browsable API act as tenant admins (CSRF enforced)."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        django_user, _ = result
        if not django_user.is_staff:
            return None
        return Principal(user_id=staff_user_uuid(django_user.pk), roles=frozenset({ROLE_ADMIN})), None


def mint_token(*, user_id: uuid.UUID, tenant_id: uuid.UUID | None, roles: list[str], ttl_seconds: int) -> str:
    """A signed token for operators (`manage.py mint_token`) and tests."""
    import time

    now = int(time.time())
    claims = {"sub": str(user_id), "roles": roles, "iat": now, "exp": now + ttl_seconds}
    if tenant_id is not None:
        claims["tenant_id"] = str(tenant_id)
    if settings.LMS_JWT_PRIVATE_KEY:
        return jwt.encode(claims, settings.LMS_JWT_PRIVATE_KEY, algorithm="RS256")
    if not settings.LMS_JWT_SECRET:
        raise RuntimeError("Set LMS_JWT_SECRET (or LMS_JWT_PRIVATE_KEY) to mint tokens.")
    return jwt.encode(claims, settings.LMS_JWT_SECRET, algorithm="HS256")


__all__ = ["JWTAuthentication", "StaffSessionAuthentication", "mint_token", "decode_token", "ROLE_ADMIN"]
