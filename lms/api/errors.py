"""Business-rule errors with a stable code and an actionable message (rendered by the envelope)."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, status


class ApiError(exceptions.APIException):
    """A business-rule failure with a stable code and an actionable message."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "ERR_BAD_REQUEST"

    def __init__(self, errmsg: str, *, code: str | None = None, http_status: int | None = None, result: Any = None):
        super().__init__(detail=errmsg)
        self.errmsg = errmsg
        self.err = code or self.default_code
        if http_status is not None:
            self.status_code = http_status
        self.result = result


class NotFoundError(ApiError):
    status_code = status.HTTP_404_NOT_FOUND
    default_code = "ERR_NOT_FOUND"


class ConflictError(ApiError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "ERR_CONFLICT"


class ForbiddenError(ApiError):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "ERR_FORBIDDEN"
