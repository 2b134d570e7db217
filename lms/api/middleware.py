"""Request-scoped plumbing that lives outside DRF: request ids, body limits, last-resort JSON errors."""

from __future__ import annotations

import logging
import uuid

from django.conf import settings

from lms.api.envelope import INTERNAL_ERRMSG, describe_django_exception, error_response
from lms.logcontext import current_resmsgid as _current_resmsgid

logger = logging.getLogger("lms.api")

# Paths rendered by Django itself (HTML admin, static assets, Swagger UI, Redoc); everything else is the JSON API.
_HTML_PREFIXES = ("/admin/", "/static/", "/api/docs", "/api/redoc")


def is_api_path(path: str) -> bool:
    return not path.startswith(_HTML_PREFIXES)


class RequestIdMiddleware:
    """Gives each request a fresh `resmsgid`: in the envelope, the X-Request-Id header and every log line."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.resmsgid = str(uuid.uuid4())
        token = _current_resmsgid.set(request.resmsgid)
        try:
            response = self.get_response(request)
        finally:
            _current_resmsgid.reset(token)
        response["X-Request-Id"] = request.resmsgid
        return response


class BodySizeLimitMiddleware:
    """Refuses a body larger than LMS_MAX_BODY_BYTES with 413 before anything reads it.

    Django's own DATA_UPLOAD_MAX_MEMORY_SIZE caps JSON and form fields (also 413, through
    the exception handler); this cap bounds whole requests, uploads included.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.LMS_MAX_BODY_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            return error_response(
                request,
                http_status=413,
                err="ERR_PAYLOAD_TOO_LARGE",
                errmsg=f"The request body is {length} bytes; the limit is {limit} bytes.",
            )
        return self.get_response(request)


class JsonErrorMiddleware:
    """Last resort for exceptions raised in plain Django views: the JSON envelope, never an HTML page.

    DRF views never get here (their exception handler answers first). Unknown paths, media
    that does not exist and crashes in non-DRF views do, with DEBUG on or off.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_api_path(request.path):
            return None
        response = describe_django_exception(request, exception)
        if response is not None:
            return response
        logger.error("Unhandled error outside the API views", exc_info=exception)
        return error_response(
            request,
            http_status=500,
            err="ERR_INTERNAL",
            errmsg=INTERNAL_ERRMSG,
        )
