"""Request-scoped plumbing that lives outside DRF: request ids, body limits, last-resort JSON errors."""

from __future__ import annotations

import logging
import threading
import uuid

from corsheaders.middleware import CorsMiddleware as _CorsHeadersMiddleware
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.cache import patch_vary_headers

from lms.api.authentication import bearer_header_parts
from lms.api.envelope import INTERNAL_ERRMSG, describe_django_exception, error_response
from lms.logcontext import current_resmsgid as _current_resmsgid

logger = logging.getLogger("lms.api")

# Paths rendered by Django itself (HTML admin, static assets, Swagger UI, Redoc); everything else is the JSON API.
_HTML_PREFIXES = ("/admin/", "/static/", "/api/docs", "/api/redoc")


def is_api_path(path: str) -> bool:
    return not path.startswith(_HTML_PREFIXES)


def is_bearer_api_request(request) -> bool:
    """A JSON API request that `JWTAuthentication` will judge by its token alone.

    The test is the one `JWTAuthentication` applies (`bearer_header_parts`). Such a
    request is authenticated or refused (401) by its token before any session is consulted, so
    sessions, CSRF cookies, `request.user` and messages can play no part in its answer.
    """
    return bearer_header_parts(request.META) is not None and is_api_path(request.path)


# Hands the continuation after the browser-only section from its end marker to its start. Django
# builds a handler's middleware innermost first, in one thread, so the end is always built just
# before the start of the same handler.
_section_handoff = threading.local()


class BrowserOnlySectionEnd:
    """Closes the MIDDLEWARE section that `BrowserOnlySectionStart` lets bearer API requests skip."""

    def __init__(self, get_response):
        self.get_response = get_response
        _section_handoff.continuation = get_response

    def __call__(self, request):
        return self.get_response(request)


class BrowserOnlySectionStart:
    """Sends a bearer-token API request past the middleware listed up to `BrowserOnlySectionEnd`.

    Sessions, CSRF cookies, `django.contrib.auth` and messages serve the admin and staff using
    the API from a browser session (CSRF is enforced there: by the middleware for Django views,
    by DRF's SessionAuthentication for API views). For a token-authenticated API request they
    only cost time (about 120 µs of a 600 µs request, issue 15), so it goes straight to what
    follows the section. Every other request, and everything under /admin/, goes through it.
    The section stays in MIDDLEWARE under Django's own names so that Django's system checks
    (admin, CSRF and session cookie settings) still see it. Their `process_view` hooks still
    run for a bearer request; CSRF's returns at once for the API's CSRF-exempt views.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.skip_to = getattr(_section_handoff, "continuation", None)
        if self.skip_to is None:
            raise ImproperlyConfigured(
                "List lms.api.middleware.BrowserOnlySectionEnd after BrowserOnlySectionStart in MIDDLEWARE."
            )
        _section_handoff.continuation = None

    def __call__(self, request):
        if is_bearer_api_request(request):
            return self.skip_to(request)
        return self.get_response(request)


class CorsMiddleware(_CorsHeadersMiddleware):
    """django-cors-headers' middleware, minus `request.headers` for requests that send no Origin.

    Its response hook reads the Origin from `request.headers`, which Django builds from every
    header of the request (about 10 µs, issue 15), and with none it only adds `Vary: origin` (on
    the paths CORS covers). API clients that are not a browser on another origin send none; they
    get exactly that here, and a request with an Origin header goes through the parent unchanged.
    """

    def add_response_headers(self, request, response):
        if "HTTP_ORIGIN" in request.META:
            return super().add_response_headers(request, response)
        enabled = getattr(request, "_cors_enabled", None)
        if enabled is None:
            enabled = self.is_enabled(request)
        if enabled:
            patch_vary_headers(response, ("origin",))
        return response


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
