"""The summary download link is the credential (DECISIONS §8), like a presigned object-store link.

`summary/download` signs {tenant, user, format} with a timestamp; whoever holds the link may fetch
that one file, without headers, for DOWNLOAD_MAX_AGE_SECONDS. The file route reads tenant, user
and format only from the signed payload, never from the request.

Answers for a link that does not hold: malformed (not three parts of the right alphabet, or a
signed payload that is not the expected object) 400 ERR_BAD_LINK; a signature that does not
verify (tampered, forged, another salt or key) 403 ERR_LINK_FORBIDDEN; older than the maximum
age 410 ERR_LINK_EXPIRED.
"""

from __future__ import annotations

import re
import uuid
import zlib
from dataclasses import dataclass

from django.core import signing

from lms.api.errors import ApiError, ForbiddenError

DOWNLOAD_SALT = "viewer.summary.download"
DOWNLOAD_MAX_AGE_SECONDS = 3600
DOWNLOAD_FORMATS = ("csv", "json")

# payload:timestamp:signature as TimestampSigner.sign_object writes them: URL-safe base64 (a
# leading "." marks a compressed payload), base62, URL-safe base64.
_TOKEN_SHAPE = re.compile(r"\.?[A-Za-z0-9_-]+:[A-Za-z0-9]+:[A-Za-z0-9_-]+")
_MAX_TOKEN_LENGTH = 1000

_NEW_LINK = "request a new one from summary/download"


@dataclass(frozen=True)
class DownloadClaims:
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    format: str


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=DOWNLOAD_SALT)


def download_token(*, tenant_id: uuid.UUID, user_id: uuid.UUID, file_format: str) -> str:
    """A URL-safe token naming one user's summaries file in one tenant and format."""
    return _signer().sign_object({"t": str(tenant_id), "u": str(user_id), "f": file_format})


def _malformed() -> ApiError:
    return ApiError(f"This download link is malformed; {_NEW_LINK}.", code="ERR_BAD_LINK")


def download_claims(token: str, *, max_age: int = DOWNLOAD_MAX_AGE_SECONDS) -> DownloadClaims:
    """The tenant, user and format a download token grants.

    Raises ApiError 400 ERR_BAD_LINK (malformed, or a signed payload without the expected fields
    and types), ForbiddenError 403 ERR_LINK_FORBIDDEN (the signature does not verify) and
    ApiError 410 ERR_LINK_EXPIRED (older than `max_age` seconds).
    """
    if len(token) > _MAX_TOKEN_LENGTH or not _TOKEN_SHAPE.fullmatch(token):
        raise _malformed()
    try:
        claims = _signer().unsign_object(token, max_age=max_age)
    except signing.SignatureExpired:
        raise ApiError(f"This download link has expired; {_NEW_LINK}.", code="ERR_LINK_EXPIRED",
                       http_status=410) from None
    except signing.BadSignature:
        raise ForbiddenError(
            f"This download link was altered or was not issued here; {_NEW_LINK}.", code="ERR_LINK_FORBIDDEN"
        ) from None
    # Reached only with a valid signature over bytes that are not a payload this module wrote
    # (another release's format, or a key shared with other signers): still the client's link.
    except (ValueError, TypeError, zlib.error):
        raise _malformed() from None
    return _claims_from_payload(claims)


def _claims_from_payload(claims) -> DownloadClaims:
    if not isinstance(claims, dict):
        raise _malformed()
    tenant, user, file_format = claims.get("t"), claims.get("u"), claims.get("f")
    if not (isinstance(tenant, str) and isinstance(user, str) and file_format in DOWNLOAD_FORMATS):
        raise _malformed()
    try:
        return DownloadClaims(tenant_id=uuid.UUID(tenant), user_id=uuid.UUID(user), format=file_format)
    except ValueError:
        raise _malformed() from None
