"""The bodies of view/start, view/update and view/end, validated without a serializer.

These are the hot writes: instantiating the nested `{"request": {...}}` serializers deep-copies
their declared fields on every request (about 226 µs of a view/update). The function here is
the same validation as `serializers.ViewStartInput`/`ViewUpdateInput`/`ViewEndInput` over the
parsed JSON: the same accepted values, and for a refused body a `ValidationError` with the same
detail (field paths, messages and codes, in the same order), so the envelope does not change.
tests/viewer/test_content_bodies.py holds the two to each other over a corpus of bodies. The
serializers stay as the OpenAPI documentation of these bodies and their source of messages.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError

from lms.api.fields import UUIDStringField, json_kind
from viewer.api import serializers as s

_WRAPPER_MESSAGES = {code: message.format() for code, message in s._WRAPPER_ERRORS.items()}
_FIELD_MESSAGES = {code: str(message) for code, message in serializers.Field.default_error_messages.items()}
_NOT_A_DICT = str(serializers.Serializer.default_error_messages["invalid"])
_UUID_MESSAGES = UUIDStringField.default_error_messages
_INTEGER_MESSAGES = {code: str(message) for code, message in serializers.IntegerField.default_error_messages.items()}
_INTEGER_DECIMAL_TAIL = serializers.IntegerField.re_decimal
_INTEGER_MAX_STRING = serializers.IntegerField.MAX_STRING_LENGTH

_PROGRESS = s.ViewProgressSerializer._declared_fields["progress"]
_PROGRESS_MIN, _PROGRESS_MAX = _PROGRESS.min_value, _PROGRESS.max_value

_NULLABLE_IDS = ("userId", "collectionId", "batchId")


def _error(message: str, code: str) -> list[ErrorDetail]:
    return [ErrorDetail(message, code=code)]


def _uuid(value: Any) -> uuid.UUID | list[ErrorDetail]:
    """`UUIDStringField.to_internal_value`: the UUID, or the field's error."""
    if isinstance(value, uuid.UUID):
        return value
    if not isinstance(value, str):
        return _error(_UUID_MESSAGES["not_string"].format(kind=json_kind(value)), "not_string")
    try:
        return uuid.UUID(hex=value)
    except ValueError:
        return _error(_UUID_MESSAGES["invalid"].format(value=value), "invalid")


def _progress(value: Any) -> int | list[ErrorDetail]:
    """DRF's IntegerField(min_value=0, max_value=100): the integer, or the field's error."""
    if isinstance(value, str) and len(value) > _INTEGER_MAX_STRING:
        return _error(_INTEGER_MESSAGES["max_string_length"], "max_string_length")
    try:
        number = int(_INTEGER_DECIMAL_TAIL.sub("", str(value)))
    except (ValueError, TypeError):
        return _error(_INTEGER_MESSAGES["invalid"], "invalid")
    if number > _PROGRESS_MAX:
        return _error(_INTEGER_MESSAGES["max_value"].format(max_value=_PROGRESS_MAX), "max_value")
    if number < _PROGRESS_MIN:
        return _error(_INTEGER_MESSAGES["min_value"].format(min_value=_PROGRESS_MIN), "min_value")
    return number


def _inner(body: Mapping, *, with_progress: bool) -> tuple[dict[str, Any], dict[str, list]]:
    """(values, errors) of the fields inside `request`, in the serializer's field order."""
    values: dict[str, Any] = {}
    errors: dict[str, list] = {}
    for name in _NULLABLE_IDS:
        if name not in body:
            continue
        value = body[name]
        parsed = None if value is None else _uuid(value)
        (errors if isinstance(parsed, list) else values)[name] = parsed
    checks = [("contentId", _uuid)]
    if with_progress:
        checks.append(("progress", _progress))
    for name, check in checks:
        if name not in body:
            errors[name] = _error(_FIELD_MESSAGES["required"], "required")
        elif body[name] is None:
            errors[name] = _error(_FIELD_MESSAGES["null"], "null")
        else:
            parsed = check(body[name])
            (errors if isinstance(parsed, list) else values)[name] = parsed
    return values, errors


def content_view_body(data: Any, *, with_progress: bool) -> dict[str, Any]:
    """The validated fields inside `{"request": {...}}` of a content view (start and end;
    `with_progress` for update): UUIDs for the ids present, an int `progress`; fields sent as
    null are None and fields left out are absent. Raises ValidationError as the serializer does."""
    if data is None:
        raise ValidationError({"non_field_errors": _error("No data provided", "null")})
    if not isinstance(data, Mapping):
        message = _NOT_A_DICT.format(datatype=type(data).__name__)
        raise ValidationError({"non_field_errors": _error(message, "invalid")})
    if "request" not in data:
        raise ValidationError({"request": _error(_WRAPPER_MESSAGES["required"], "required")})
    body = data["request"]
    if body is None:
        raise ValidationError({"request": _error(_WRAPPER_MESSAGES["null"], "null")})
    if not isinstance(body, Mapping):
        message = _NOT_A_DICT.format(datatype=type(body).__name__)
        raise ValidationError({"request": {"non_field_errors": _error(message, "invalid")}})
    values, errors = _inner(body, with_progress=with_progress)
    if errors:
        raise ValidationError({"request": errors})
    return values
