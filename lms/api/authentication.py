"""Bearer JWT and staff-session authentication (DECISIONS §2).

Verification costs no database query: the principal is built from the token's claims
alone, and the keys are prepared once per process. A token that verified once is kept in a
bounded per-process cache (issue 15): its signature and claims cannot change under the same
string, so a hit only re-checks the dates that depend on the clock.
"""

from __future__ import annotations

import functools
import time
import uuid
from typing import NamedTuple

import jwt
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from jwt.algorithms import RSAAlgorithm
from rest_framework import authentication, exceptions

from lms.api.fields import json_kind_phrase
from lms.api.identity import KNOWN_ROLES, ROLE_ADMIN, ROLE_LEARNER, Principal, staff_user_uuid
from lms.lru import WeightedLRU
from lms.services import directory_email_claim, directory_name_claim

_JWT_SETTINGS = frozenset(
    {
        "LMS_JWT_SECRET",
        "LMS_JWT_PUBLIC_KEY",
        "LMS_JWT_PRIVATE_KEY",
        "LMS_JWT_AUDIENCE",
        "LMS_JWT_ISSUER",
        "LMS_JWT_LEEWAY_SECONDS",
        "LMS_DEVELOPMENT_JWT_SECRET",
        "PRODUCTION",
    }
)


def _is_refused_development_secret(secret: str) -> bool:
    """The repository's published secret, where DECISIONS §8 forbids it.

    Settings already refuse it at start-up; this second check covers settings changed later
    (tests, a shell) so that the rule holds wherever the keys come from.
    """
    if secret != getattr(settings, "LMS_DEVELOPMENT_JWT_SECRET", None):
        return False
    return bool(settings.PRODUCTION or settings.LMS_JWT_PUBLIC_KEY or settings.LMS_JWT_PRIVATE_KEY)


@functools.cache
def verification_keys() -> dict[str, object]:
    """Algorithm -> key object, built once per process (settings never change at run time).

    Only HS256 and RS256 are ever accepted: `alg: none`, HS512, ES256 and the rest have no
    entry here and are refused before any signature check.
    """
    keys: dict[str, object] = {}
    if settings.LMS_JWT_SECRET and not _is_refused_development_secret(settings.LMS_JWT_SECRET):
        keys["HS256"] = settings.LMS_JWT_SECRET
    rsa = RSAAlgorithm(RSAAlgorithm.SHA256)
    if settings.LMS_JWT_PUBLIC_KEY:
        keys["RS256"] = rsa.prepare_key(settings.LMS_JWT_PUBLIC_KEY)
    elif settings.LMS_JWT_PRIVATE_KEY:
        # A deployment that signs its own tokens need not configure the public half twice.
        keys["RS256"] = rsa.prepare_key(settings.LMS_JWT_PRIVATE_KEY).public_key()
    return keys


def check_jwt_configuration() -> None:
    """Raises ImproperlyConfigured when a configured key cannot be used (called at start-up)."""
    try:
        verification_keys()
    except (jwt.InvalidKeyError, ValueError, TypeError) as error:
        raise ImproperlyConfigured(
            f"LMS_JWT_PUBLIC_KEY / LMS_JWT_PRIVATE_KEY must be RSA keys in PEM format: {error}"
        ) from None


def _forget_keys_when_settings_change(*, setting, **kwargs) -> None:
    # Tests override the JWT settings; the per-process key and token caches must follow them.
    if setting in _JWT_SETTINGS:
        verification_keys.cache_clear()
        verified_tokens.clear()


setting_changed.connect(_forget_keys_when_settings_change, dispatch_uid="lms.jwt.verification_keys")


def _parse_uuid(value, claim: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        raise exceptions.AuthenticationFailed(f"The token's `{claim}` claim must be a UUID.") from None


def _json_type(value) -> str:
    if isinstance(value, list):
        return "a list with a non-string entry"
    return json_kind_phrase(value)


# RFC 7519 NumericDate claims. PyJWT converts strings with int(), so `"exp": "9999999999"` would
# otherwise pass; a token whose dates are not numbers was not made by a conforming issuer.
_NUMERIC_DATE_CLAIMS = ("exp", "nbf", "iat")


def _check_numeric_dates(claims: dict) -> None:
    for claim in _NUMERIC_DATE_CLAIMS:
        if claim not in claims:
            continue
        value = claims[claim]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise exceptions.AuthenticationFailed(
                f"The token's `{claim}` claim must be a number of seconds since the epoch; got {_json_type(value)}."
            )


def principal_from_claims(claims: dict) -> Principal:
    """The caller described by verified claims; raises AuthenticationFailed on a bad claim."""
    if "sub" not in claims:
        raise exceptions.AuthenticationFailed("The token has no `sub` claim naming the user.")
    user_id = _parse_uuid(claims["sub"], "sub")
    if "roles" not in claims:
        roles = frozenset({ROLE_LEARNER})
    else:
        raw_roles = claims["roles"]
        # A string is refused rather than split: "admin" read as a list would be the characters
        # of a word, and guessing at a separator is how a malformed token becomes an admin's.
        if not isinstance(raw_roles, list) or not all(isinstance(role, str) for role in raw_roles):
            raise exceptions.AuthenticationFailed(
                "The token's `roles` claim must be a JSON list of role names, such as [\"learner\"]; "
                f"got {_json_type(raw_roles)}."
            )
        roles = frozenset(raw_roles)
    # Unknown role names grant nothing; a token left with none is a learner's.
    roles = (roles & KNOWN_ROLES) or frozenset({ROLE_LEARNER})
    tenant_claim = claims.get("tenant_id")
    return Principal(
        user_id=user_id,
        roles=roles,
        tenant_claim=_parse_uuid(tenant_claim, "tenant_id") if tenant_claim is not None else None,
        name=directory_name_claim(claims.get("name")),
        email=directory_email_claim(claims.get("email")),
    )


def decode_token(token: str) -> dict:
    """The verified claims of `token`; raises AuthenticationFailed (401) for any defect."""
    keys = verification_keys()
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise exceptions.AuthenticationFailed("The bearer token is malformed; send a signed JWT.") from None
    algorithm = header.get("alg")
    if not isinstance(algorithm, str) or algorithm not in keys:
        accepted = ", ".join(sorted(keys)) or "none configured"
        raise exceptions.AuthenticationFailed(
            f"Tokens signed with `{algorithm}` are not accepted here (accepted: {accepted})."
        )
    audience = settings.LMS_JWT_AUDIENCE or None
    issuer = settings.LMS_JWT_ISSUER or None
    try:
        claims = jwt.decode(
            token,
            keys[algorithm],
            algorithms=[algorithm],
            audience=audience,
            issuer=issuer,
            options={
                "require": ["exp", "sub"],
                # Identity providers often stamp `aud`/`iss`; check them only when configured.
                "verify_aud": audience is not None,
                "verify_iss": issuer is not None,
            },
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
    _check_numeric_dates(claims)
    return claims


class _VerifiedToken(NamedTuple):
    principal: Principal
    claims: dict
    # PyJWT compares the integer part of the NumericDates; so does the re-check on a hit.
    expires_at: int
    not_before: int | None


# Verifying a token with PyJWT costs 130-180 µs (two base64 passes of the header, key
# preparation, claim checks); a hit here costs about 1 µs. Only tokens that verified AND gave a
# principal are stored, so every refusal still goes through `decode_token` and keeps its
# message. The bound keeps a worker's memory flat (an entry is about 2 KB, a token lives an
# hour or so, and a worker rarely sees more distinct callers than this within that hour).
VERIFIED_TOKEN_CACHE_SIZE = 4096
verified_tokens: WeightedLRU[_VerifiedToken] = WeightedLRU(max_weight=VERIFIED_TOKEN_CACHE_SIZE, weigh=lambda _: 1)


def _still_valid(entry: _VerifiedToken) -> _VerifiedToken:
    """`entry` if its dates still hold now; the same refusal as a full verification otherwise."""
    now = time.time()
    leeway = settings.LMS_JWT_LEEWAY_SECONDS
    if entry.expires_at <= now - leeway:
        raise exceptions.AuthenticationFailed("The bearer token has expired; obtain a new one.")
    if entry.not_before is not None and entry.not_before > now + leeway:
        # Only a clock that stepped back since the token verified gets here.
        raise exceptions.AuthenticationFailed("The bearer token is invalid: The token is not yet valid (nbf).")
    return entry


def verify_token(token: str) -> _VerifiedToken:
    """The principal and claims of `token`, from the cache when it verified before."""
    cached = verified_tokens.get(token)
    if cached is not None:
        return _still_valid(cached)
    claims = decode_token(token)
    principal = principal_from_claims(claims)
    entry = _VerifiedToken(
        principal=principal,
        claims=claims,
        expires_at=int(claims["exp"]),
        not_before=int(claims["nbf"]) if "nbf" in claims else None,
    )
    verified_tokens.put(token, entry)
    return entry


BEARER = "Bearer"


def bearer_header_parts(meta) -> list[str] | None:
    """The words of the `Authorization` header in `meta` (request.META) when the first is `Bearer`
    in any case, else None. The one test of whether a request is `JWTAuthentication`'s to judge:
    the middleware that lets such requests skip the browser-only section asks it too."""
    parts = meta.get("HTTP_AUTHORIZATION", "").split()
    if not parts or parts[0].lower() != BEARER.lower():
        return None
    return parts


class JWTAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <JWT>` -> (Principal, claims)."""

    keyword = BEARER

    def authenticate(self, request):
        parts = bearer_header_parts(request.META)
        if parts is None:
            # No header, or another scheme (Basic, a session-only browser): not ours to judge.
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Send the header as `Authorization: Bearer <token>`.")
        verified = verify_token(parts[1])
        # A copy: the cached claims are shared by every request with this token.
        return verified.principal, dict(verified.claims)

    def authenticate_header(self, request):
        return f'{self.keyword} realm="lms"'


class StaffSessionAuthentication(authentication.SessionAuthentication):
    """Admin-site staff using the API from the browser (CSRF enforced; DECISIONS §8).

    A superuser acts as admin in every tenant. Any other staff user has no role until the
    tenant is known: `lms.api.tenancy` then gives them their membership's role, or refuses.
    A logged-in user who is not staff is not authenticated by this class, so they get the
    401 of an anonymous caller.
    """

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        django_user, _ = result
        if not django_user.is_staff:
            return None
        principal = Principal(
            user_id=staff_user_uuid(django_user.pk),
            roles=frozenset({ROLE_ADMIN}) if django_user.is_superuser else frozenset(),
            staff_user_pk=django_user.pk,
            is_superuser=django_user.is_superuser,
        )
        return principal, None


def mint_token(
    *,
    user_id: uuid.UUID,
    tenant_id: uuid.UUID | None,
    roles: list[str],
    ttl_seconds: int = 3600,
    name: str | None = None,
    email: str | None = None,
) -> str:
    """A signed token for operators (`manage.py mint_token`) and tests.

    Signs with RS256 when LMS_JWT_PRIVATE_KEY is set, HS256 with LMS_JWT_SECRET otherwise;
    raises RuntimeError when neither is configured.
    """
    now = int(time.time())
    claims = {"sub": str(user_id), "roles": list(roles), "iat": now, "exp": now + ttl_seconds}
    if tenant_id is not None:
        claims["tenant_id"] = str(tenant_id)
    # The standard OpenID Connect claims the learner directory keeps (DECISIONS §10).
    if name is not None:
        claims["name"] = name
    if email is not None:
        claims["email"] = email
    if settings.LMS_JWT_AUDIENCE:
        claims["aud"] = settings.LMS_JWT_AUDIENCE
    if settings.LMS_JWT_ISSUER:
        claims["iss"] = settings.LMS_JWT_ISSUER
    if settings.LMS_JWT_PRIVATE_KEY:
        return jwt.encode(claims, settings.LMS_JWT_PRIVATE_KEY, algorithm="RS256")
    if not settings.LMS_JWT_SECRET:
        raise RuntimeError("Set LMS_JWT_SECRET (or LMS_JWT_PRIVATE_KEY) to mint tokens.")
    return jwt.encode(claims, settings.LMS_JWT_SECRET, algorithm="HS256")


__all__ = ["JWTAuthentication", "StaffSessionAuthentication", "mint_token", "decode_token", "ROLE_ADMIN"]
