"""The two response envelopes (DECISIONS §1), produced in exactly one place.

Views return bare result data; `EnvelopeJSONRenderer` wraps it. Every error, whatever
raised it, goes through `exception_handler`, which builds the failed envelope itself.
Django-level failures outside DRF (unknown paths, oversized bodies, crashes in plain
views) use `error_response`, so all clients see one shape.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import json
import logging
import math
import uuid
from collections.abc import Sequence
from typing import Any

import orjson
from django.core import exceptions as django_exceptions
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import IntegrityError, OperationalError
from django.http import Http404, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from lms.api.errors import ApiError
from lms.api.fields import iso_utc

logger = logging.getLogger("lms.api")


class Family(enum.Enum):
    LMS = "lms"
    VIEWER = "viewer"


VIEWER_RESPONSE_CODES = {
    200: "OK",
    201: "OK",
    400: "CLIENT_ERROR",
    401: "UNAUTHORIZED",
    403: "UNAUTHORIZED",
    404: "RESOURCE_NOT_FOUND",
}


def viewer_response_code(http_status: int) -> str:
    if http_status in VIEWER_RESPONSE_CODES:
        return VIEWER_RESPONSE_CODES[http_status]
    if http_status >= 500:
        return "SERVER_ERROR"
    if http_status >= 400:
        return "CLIENT_ERROR"
    return "OK"


def family_for_path(path: str) -> Family:
    return Family.VIEWER if path.startswith("/v1/") else Family.LMS


def _now_iso() -> str:
    return iso_utc(dt.datetime.now(dt.UTC))


def build_envelope(
    *,
    family: Family,
    api_id: str,
    http_status: int,
    result: Any,
    err: str | None = None,
    errmsg: str | None = None,
    resmsgid: str | None = None,
    msgid: str | None = None,
) -> dict:
    failed = http_status >= 400
    resmsgid = resmsgid or str(uuid.uuid4())
    if family is Family.VIEWER:
        return {
            "id": api_id,
            "ver": "v1",
            "ts": _now_iso(),
            "params": {
                "resmsgid": resmsgid,
                "msgid": msgid or resmsgid,
                "err": err,
                "status": "failed" if failed else "success",
                "errmsg": errmsg,
            },
            "responseCode": viewer_response_code(http_status),
            "result": result,
        }
    return {
        "id": api_id,
        "ver": "1.0",
        "ts": _now_iso(),
        "params": {
            "resmsgid": resmsgid,
            "status": "failed" if failed else "successful",
            "err": err,
            "errmsg": errmsg,
        },
        "responseCode": http_status,
        "result": result,
    }


def view_family(view) -> Family:
    return getattr(view, "envelope_family", Family.LMS) if view is not None else Family.LMS


def view_api_id(view) -> str:
    """The documented `id` of the endpoint: `api_ids[action]` on viewsets, `api_id` otherwise."""
    if view is None:
        return "api.unknown"
    action = getattr(view, "action", None)
    api_ids = getattr(view, "api_ids", None) or {}
    if action and action in api_ids:
        return api_ids[action]
    api_id = getattr(view, "api_id", None)
    if api_id:
        return api_id
    # A method the route does not map (a 405) has no action: name the route by its first action.
    for mapped in (getattr(view, "action_map", None) or {}).values():
        if mapped in api_ids:
            return api_ids[mapped]
    return "api.unknown"


def _request_ids(request) -> tuple[str | None, str | None]:
    if request is None:
        return None, None
    django_request = getattr(request, "_request", request)
    return getattr(django_request, "resmsgid", None), getattr(django_request, "msgid", None)


class PreRenderedJSON:
    """A result already encoded as compact UTF-8 JSON (e.g. a cached course tree).

    The renderer splices it into the envelope instead of encoding it again, which is most of the
    cost of a large, unchanging result. It holds the encoded bytes rather than being bytes: a bytes
    subclass copies them when built, and they can be hundreds of kilobytes on every request."""

    __slots__ = ("pieces",)

    def __init__(self, encoded: bytes) -> None:
        self.pieces: Sequence[bytes] = (encoded,)

    @classmethod
    def of_pieces(cls, pieces: Sequence[bytes]) -> PreRenderedJSON:
        """The encoded result as the concatenation of `pieces` (bytes-like), which the renderer
        joins into the envelope at once: a large result made of large encoded parts (the full
        summary list's contentStatus) is copied once, not assembled first and copied again."""
        pre_rendered = cls.__new__(cls)
        pre_rendered.pieces = pieces
        return pre_rendered

    @property
    def encoded(self) -> bytes:
        return self.pieces[0] if len(self.pieces) == 1 else b"".join(self.pieces)


# orjson hands every type it should not encode itself to DRF's encoder, so dates, times,
# datetimes ("Z" for UTC), Decimals, lazy strings, querysets and dataclasses come out as DRF
# writes them. It refuses what the standard library might encode differently (integers past
# 64 bits, non-string keys, invalid strings): those go through DRF's own renderer.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
# orjson's own datetimes: RFC 3339 with "Z" for UTC, microseconds when not zero: the text of DRF's
# encoder (isoformat, "+00:00" as "Z") for every datetime whose UTC offset is whole minutes (orjson
# drops an offset's seconds, which only local mean times before 1900 have), so for every value
# the database returns. Written in C, where DRF's encoder costs a Python call (~1.5 µs) a value.
_ORJSON_NATIVE_DATETIME_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_PASSTHROUGH_DATACLASS
_orjson_default = JSONEncoder().default
_LINE_SEPARATOR = "\u2028".encode()
_PARAGRAPH_SEPARATOR = "\u2029".encode()
# The byte both separators start with (E2 80 A8, E2 80 A9). A one-byte search is a memchr, some
# 10 µs for the 850 KB of a full summary list; a three-byte search walks the answer a byte at a
# time, over a millisecond there, twice. Most answers hold no E2 at all.
_SEPARATOR_LEAD = _LINE_SEPARATOR[:1]
_drf_renderer = JSONRenderer()


def encode_json(data, *, native_datetimes: bool = False) -> bytes:
    """DRF's compact JSON for `data`, written by orjson (about 1 µs instead of 10, issue 15): the
    one encoder of every JSON body, whether rendered now or encoded ahead to be spliced in
    (PreRenderedJSON), so both write the same bytes for the same data.

    The same bytes as JSONRenderer, with two differences that change no value: floats use
    orjson's shortest form (0.00001 where the standard library writes 1e-05), and NaN or an
    infinity becomes null where the standard library refuses it (the parsers refuse such
    numbers on input, so no stored value holds one).

    `native_datetimes`: orjson writes the datetimes itself (`_ORJSON_NATIVE_DATETIME_OPTIONS`), for
    data whose datetimes come from the database (in UTC): the same text, without a Python call each.
    """
    try:
        encoded = orjson.dumps(
            data, default=_orjson_default,
            option=_ORJSON_NATIVE_DATETIME_OPTIONS if native_datetimes else _ORJSON_OPTIONS,
        )
    except orjson.JSONEncodeError:
        return _drf_renderer.render(data)
    # DRF escapes these two so that the JSON is also valid JavaScript; so must we.
    if _SEPARATOR_LEAD in encoded and (_LINE_SEPARATOR in encoded or _PARAGRAPH_SEPARATOR in encoded):
        encoded = encoded.replace(_LINE_SEPARATOR, b"\\u2028").replace(_PARAGRAPH_SEPARATOR, b"\\u2029")
    return encoded


def encode_json_to_keep(data, *, native_datetimes: bool = False) -> bytes:
    """`encode_json` for bytes that a cache or memo keeps: copied to their length. orjson's bytes
    keep the whole buffer it wrote them in: at least 4 KB each, whatever their length (measured with
    orjson 3.13: 100,000 encodings of 350 bytes took 4.1 KB of memory each, their copies 365 bytes).
    An answer's bytes live for one request, so only what is kept pays for the copy."""
    return bytes(memoryview(encode_json(data, native_datetimes=native_datetimes)))


class EnvelopeJSONRenderer(JSONRenderer):
    """Wraps the view's bare result in the envelope of the view's family."""

    charset = "utf-8"

    def encode(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        """`encode_json(data)`; an indented rendering (`Accept: application/json; indent=4`) is
        left to DRF."""
        if data is None:
            return b""
        if (accepted_media_type and ";" in accepted_media_type) or (renderer_context or {}).get("indent"):
            return super().render(data, accepted_media_type, renderer_context)
        return encode_json(data)

    def render(self, data, accepted_media_type=None, renderer_context=None):
        renderer_context = renderer_context or {}
        response = renderer_context.get("response")
        if response is None or getattr(response, "enveloped", False):
            return self.encode(data, accepted_media_type, renderer_context)
        if response.status_code == 204:
            # A 204 may carry no body, but every answer carries the envelope: deletes say 200.
            response.status_code = 200
        view = renderer_context.get("view")
        resmsgid, msgid = _request_ids(renderer_context.get("request"))
        pre_rendered = data if isinstance(data, PreRenderedJSON) else None
        envelope = build_envelope(
            family=view_family(view),
            api_id=view_api_id(view),
            http_status=response.status_code,
            result=None if pre_rendered is not None else data,
            resmsgid=resmsgid,
            msgid=msgid,
        )
        if pre_rendered is not None:
            rendered = self.encode(envelope, accepted_media_type, renderer_context)
            spliced = _splice_result(rendered, pre_rendered.pieces)
            if spliced is not None:
                return spliced
            envelope["result"] = json.loads(pre_rendered.encoded)
        return self.encode(envelope, accepted_media_type, renderer_context)


def _splice_result(rendered: bytes, pieces: Sequence[bytes]) -> bytes | None:
    """The encoded envelope `rendered` (its result null) with the encoded result in its place, or
    None when the envelope was not written compactly."""
    # `result` is the envelope's last key, so the encoded envelope ends with its null.
    if rendered.endswith(b'"result":null}'):
        # One join: chained `+` would copy the large result once per operator.
        return b"".join((rendered[: -len(b"null}")], *pieces, b"}"))
    return None


def pre_rendered_ok(request, view, encoded: bytes) -> HttpResponse | Response:
    """A 200 whose result is already encoded (a cached rendering): what `Response(PreRenderedJSON(encoded))`
    answers, byte for byte, as a plain HttpResponse when the request negotiated the compact envelope.

    For a small cached result, DRF's Response was most of what a 200 cost beyond its 304: a
    SimpleTemplateResponse built, then rendered through the renderer context after the view
    returned (issue 15, `GET /courses/:id`). The envelope is the renderer's own (`build_envelope`,
    `encode_json`, the same splice), so only the machinery around it is skipped. Any other
    negotiation (an indented `Accept`, another renderer) gets the Response, rendered as before.
    """
    renderer = getattr(request, "accepted_renderer", None)
    if type(renderer) is not EnvelopeJSONRenderer or ";" in (getattr(request, "accepted_media_type", None) or ";"):
        return Response(PreRenderedJSON(encoded))
    resmsgid, msgid = _request_ids(request)
    envelope = build_envelope(
        family=view_family(view), api_id=view_api_id(view), http_status=200, result=None,
        resmsgid=resmsgid, msgid=msgid,
    )
    body = _splice_result(encode_json(envelope), (encoded,))
    if body is None:  # not reached: encode_json writes compactly
        return Response(PreRenderedJSON(encoded))
    # The Content-Type DRF's Response takes from the renderer.
    return HttpResponse(body, content_type=f"{renderer.media_type}; charset={renderer.charset}")


def _flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as {"field.sub": ["message", ...]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "non_field_errors" and prefix == "":
                name = "non_field_errors"
            flat.update(_flatten_errors(value, name))
    elif isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            flat[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                flat.update(_flatten_errors(item, f"{prefix}[{index}]"))
    else:
        flat[prefix or "non_field_errors"] = [str(detail)]
    return flat


def _has_code(codes: Any, wanted: str) -> bool:
    if isinstance(codes, dict):
        return any(_has_code(value, wanted) for value in codes.values())
    if isinstance(codes, list):
        return any(_has_code(value, wanted) for value in codes)
    return codes == wanted


def _strip_request_prefix(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    # Viewer bodies are wrapped in {"request": {...}}; name fields as clients send them.
    return {key.removeprefix("request."): value for key, value in errors.items()}


FORBIDDEN_ERRMSG = "You may not do this."
INTERNAL_ERRMSG = "An internal error occurred; it has been logged. Retry later or report the resmsgid."

# The `err` code of DRF and Django exceptions that carry only an HTTP status.
_ERR_FOR_STATUS = {
    400: "ERR_BAD_REQUEST",
    401: "ERR_UNAUTHORIZED",
    403: "ERR_FORBIDDEN",
    404: "ERR_NOT_FOUND",
    405: "ERR_METHOD_NOT_ALLOWED",
    406: "ERR_NOT_ACCEPTABLE",
    409: "ERR_CONFLICT",
    413: "ERR_PAYLOAD_TOO_LARGE",
    415: "ERR_UNSUPPORTED_MEDIA_TYPE",
    429: "ERR_RATE_LIMITED",
}


def _describe(exc, family: Family, request=None, view=None) -> tuple[int, str, str, Any]:
    """(http status, err code, errmsg, result) for any exception; never raises for odd input."""
    if isinstance(exc, ApiError):
        return exc.status_code, exc.err, exc.errmsg, exc.result
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten_errors(exc.detail)
        if family is Family.VIEWER:
            errors = _strip_request_prefix(errors)
        field, messages = next(iter(errors.items()), ("non_field_errors", ["Invalid input."]))
        more = f" ({len(errors) - 1} more field errors in result.errors)" if len(errors) > 1 else ""
        errmsg = messages[0] if field == "non_field_errors" else f"{field}: {messages[0]}"
        if family is Family.VIEWER and _has_code(exc.get_codes(), "required"):
            code = "MANDATORY_PARAMETER_MISSING"
        else:
            code = "ERR_VALIDATION" if family is Family.LMS else "ERR_BAD_REQUEST"
        return 400, code, f"{errmsg}{more}", {"errors": errors}
    if isinstance(exc, exceptions.ParseError):
        detail = str(exc.detail).rstrip(".")
        return 400, "ERR_BAD_REQUEST", f"The request body could not be parsed: {detail}.", None
    if isinstance(exc, exceptions.UnsupportedMediaType):
        # Name what this endpoint parses: some take JSON only (lms.api.views.json_parsers).
        accepted = [parser.media_type for parser in getattr(view, "parser_classes", ())] or ["application/json"]
        return 415, "ERR_UNSUPPORTED_MEDIA_TYPE", f"{exc.detail} Send {' or '.join(accepted)}.", None
    if isinstance(exc, exceptions.NotAuthenticated):
        return 401, "ERR_UNAUTHORIZED", "Authenticate with an `Authorization: Bearer <token>` header.", None
    if isinstance(exc, exceptions.AuthenticationFailed):
        return 401, "ERR_UNAUTHORIZED", str(exc.detail), None
    if isinstance(exc, exceptions.PermissionDenied):
        return 403, "ERR_FORBIDDEN", str(exc.detail), None
    if isinstance(exc, django_exceptions.PermissionDenied):
        return 403, "ERR_FORBIDDEN", FORBIDDEN_ERRMSG, None
    if isinstance(exc, (exceptions.NotFound, Http404, django_exceptions.ObjectDoesNotExist)):
        return 404, "ERR_NOT_FOUND", "The requested resource was not found in this tenant.", None
    if isinstance(exc, exceptions.MethodNotAllowed):
        method = getattr(request, "method", None) or "This method"
        allowed = ", ".join(m for m in getattr(view, "allowed_methods", []) if m != "OPTIONS")
        hint = f"; use {allowed}" if allowed else ""
        return 405, "ERR_METHOD_NOT_ALLOWED", f"{method} is not allowed on this endpoint{hint}.", None
    if isinstance(exc, exceptions.NotAcceptable):
        return 406, "ERR_NOT_ACCEPTABLE", "Ask for application/json.", None
    if isinstance(exc, exceptions.Throttled):
        return 429, "ERR_RATE_LIMITED", str(exc.detail), None
    if isinstance(exc, RequestDataTooBig):
        return 413, "ERR_PAYLOAD_TOO_LARGE", "The request body is larger than this service accepts; send less data.", None
    if isinstance(exc, (TooManyFieldsSent, TooManyFilesSent)):
        return 400, "ERR_BAD_REQUEST", "The request has too many form fields or files; send fewer.", None
    if isinstance(exc, (django_exceptions.SuspiciousOperation, django_exceptions.BadRequest, MultiPartParserError)):
        return 400, "ERR_BAD_REQUEST", "The request is malformed; check its headers and body.", None
    if isinstance(exc, django_exceptions.ValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        field, messages = next(iter(errors.items()), ("non_field_errors", ["Invalid input."]))
        errmsg = messages[0] if field == "non_field_errors" else f"{field}: {messages[0]}"
        return 400, "ERR_VALIDATION", errmsg, {"errors": errors}
    if isinstance(exc, IntegrityError):
        # A service should have turned this into a ConflictError; say so in the log.
        logger.warning("Unhandled IntegrityError answered as 409: %s", exc)
        return 409, "ERR_CONFLICT", "The change conflicts with data stored meanwhile; reload and retry.", None
    if isinstance(exc, OperationalError):
        # Lost connection, lock or statement timeout, serialization failure: worth a retry.
        return 503, "ERR_UNAVAILABLE", "The database is briefly unavailable; retry in a few seconds.", None
    if isinstance(exc, exceptions.APIException) and exc.status_code < 500:
        return exc.status_code, _ERR_FOR_STATUS.get(exc.status_code, "ERR_BAD_REQUEST"), str(exc.detail), None
    return 500, "ERR_INTERNAL", INTERNAL_ERRMSG, None


def exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: every error becomes the failed envelope of the view's family.

    It must never raise itself: a bug here would turn every error into Django's HTML 500,
    so any failure while describing the error falls back to a plain ERR_INTERNAL envelope.
    """
    from rest_framework.views import set_rollback  # late: rest_framework.views imports our settings

    view = context.get("view")
    request = context.get("request")
    try:
        family = view_family(view)
        api_id = view_api_id(view)
        http_status, err, errmsg, result = _describe(exc, family, request, view)
    except Exception:  # the last line of defence: see the docstring
        logger.exception("The exception handler failed to describe %r", exc)
        family, api_id = Family.LMS, "api.unknown"
        http_status, err, errmsg, result = 500, "ERR_INTERNAL", INTERNAL_ERRMSG, None
    database_unavailable = http_status == 503 and isinstance(exc, OperationalError)
    if database_unavailable:
        # An outage, not a code bug: one line at WARNING for whoever is on call, no traceback.
        logger.warning(
            "Database unavailable in %s: %s: %s", type(view).__name__ if view else "view", type(exc).__name__,
            str(exc).strip().splitlines()[0] if str(exc).strip() else "",
        )
    elif http_status >= 500:
        logger.error("Unhandled error in %s", type(view).__name__ if view else "view", exc_info=exc)
    set_rollback()
    resmsgid, msgid = _request_ids(request)
    envelope = build_envelope(
        family=family,
        api_id=api_id,
        http_status=http_status,
        result=result if result is not None else ({} if family is Family.VIEWER else None),
        err=err,
        errmsg=errmsg,
        resmsgid=resmsgid,
        msgid=msgid,
    )
    response = Response(envelope, status=http_status)
    response.enveloped = True
    if http_status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="lms"'
    elif http_status == 503:
        response["Retry-After"] = "5"
    elif isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        response["Retry-After"] = str(max(1, math.ceil(exc.wait)))
    if database_unavailable:
        # Already logged above; Django's request logger would log every 5xx again at ERROR.
        response._has_been_logged = True
    return response


def describe_django_exception(request, exc) -> JsonResponse | None:
    """The failed envelope for an exception that escaped a plain Django view, or None for a crash.

    Http404, PermissionDenied and malformed-request errors answer in the envelope even with
    DEBUG on, where Django would otherwise render its HTML debug pages.
    """
    handled = (
        Http404,
        django_exceptions.PermissionDenied,
        django_exceptions.SuspiciousOperation,
        django_exceptions.BadRequest,
        MultiPartParserError,
    )
    if not isinstance(exc, handled):
        return None
    http_status, err, errmsg, _ = _describe(exc, family_for_path(request.path), request)
    if isinstance(exc, Http404):
        errmsg = f"Nothing found at {request.path}."
    return error_response(request, http_status=http_status, err=err, errmsg=errmsg)


def error_response(request, *, http_status: int, err: str, errmsg: str, api_id: str = "api.error") -> JsonResponse:
    """A failed envelope from plain Django code (middleware, URL fallbacks)."""
    family = family_for_path(request.path)
    envelope = build_envelope(
        family=family,
        api_id=api_id,
        http_status=http_status,
        result={} if family is Family.VIEWER else None,
        err=err,
        errmsg=errmsg,
        resmsgid=getattr(request, "resmsgid", None),
    )
    return JsonResponse(envelope, status=http_status)


def plain_json_view(*methods: str, api_id: str):
    """Decorates a plain Django view of the JSON API: a method not in `methods` (when given) is a
    405 envelope with Allow.

    The view is CSRF-exempt. It changes nothing (health, media, the JSON 404), and under the CSRF
    middleware a write to it answered Django's HTML "CSRF verification failed" page before the
    view could say 404 or 405 (DECISIONS §8). Session-authenticated writes through DRF are still
    CSRF-checked by DRF's SessionAuthentication.
    """
    allowed = ", ".join(methods)

    def decorate(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            if methods and request.method not in methods:
                response = error_response(
                    request,
                    http_status=405,
                    err="ERR_METHOD_NOT_ALLOWED",
                    errmsg=f"{request.method} is not allowed on {request.path}; use {allowed}.",
                    api_id=api_id,
                )
                response["Allow"] = allowed
                return response
            response = view(request, *args, **kwargs)
            if request.method == "HEAD":
                _drop_body(response)
            return response

        return csrf_exempt(wrapped)

    return decorate


def _drop_body(response) -> None:
    # Django leaves HEAD bodies to the server; gunicorn drops them with a warning per request.
    # Content-Length stays that of the GET, as HEAD promises.
    if response.streaming:
        response.close()
        response.streaming_content = []
    else:
        response["Content-Length"] = str(len(response.content))
        response.content = b""
