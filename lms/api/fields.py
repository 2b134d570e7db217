"""Serializer fields and output helpers every app's API shares (DECISIONS §1).

Multipart clients send every field as a string, so the fields here accept both the JSON types
and their multipart spellings.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

# The largest value a PositiveIntegerField holds on every supported database (PostgreSQL's
# `integer`); integer inputs stop here so a bigger number is a 400, not a database error.
MAX_STORED_INT = 2**31 - 1


class UUIDStringField(serializers.UUIDField):
    """An id: a UUID written as a JSON string (DECISIONS §8).

    DRF's UUIDField turns the number 12345 into 00000000-0000-0000-0000-000000003039, so a client
    that sent a number by mistake would act on an id nobody ever issued; here it is a 400.
    A `uuid.UUID` is accepted too, for serializers fed by server code rather than a request.
    """

    default_error_messages = {
        "invalid": '"{value}" is not a UUID; send the id as a string such as "3fa85f64-5717-4562-b3fc-2c963f66afa6".',
        "not_string": (
            "Send the id as a UUID string, e.g. \"3fa85f64-5717-4562-b3fc-2c963f66afa6\"; got a JSON {kind}."
        ),
    }

    def to_internal_value(self, data):
        if isinstance(data, uuid.UUID):
            return data
        if not isinstance(data, str):
            self.fail("not_string", kind=json_kind(data))
        return super().to_internal_value(data)


class TextField(serializers.CharField):
    """Text: a JSON string only (multipart and form values are strings already).

    DRF's CharField would turn the number 0 into "0"; a number where text belongs is a client bug
    worth naming rather than a value to guess at, and the schema says `string`.

    `max_length` counts what the client sent. DRF measures after trimming, and Python's trim
    also drops characters such as U+0085 (NEL), so a 256-character title that begins with one
    was stored although the schema's `maxLength: 255` refuses it; the schema is the contract.
    """

    default_error_messages = {"not_string": "Send a JSON string here; got a JSON {kind}."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_string", kind=json_kind(data))
        if self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


class StringIdField(TextField):
    """An id that is not a UUID (a program identifier, a client's attempt id): a JSON string only."""

    default_error_messages = {"not_string": 'Send the id as a JSON string, e.g. "attempt-1"; got a JSON {kind}.'}


class RefuseUnknownFields(serializers.Serializer):
    """A body whose every field must be one of the serializer's: an unknown one is a 400 naming it.

    For settings bodies where a misspelt field silently ignored does harm (`{"activ": false}` would
    leave a webhook delivering). The schema says `additionalProperties: false` for them
    (lms.api.schema). The Sunbird-shaped bodies keep ignoring what they do not know: their clients
    send envelope fields (`id`, `ver`, `params`) beside the request.
    """

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(key for key in data if key not in self.fields)
            if unknown:
                raise serializers.ValidationError({
                    key: [f"Unknown field; send only {', '.join(self.fields)}."] for key in unknown
                })
        return super().to_internal_value(data)


def json_kind(value) -> str:
    """The JSON name of a parsed value's type, for messages that say what the client sent."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def json_kind_phrase(value) -> str:
    """`json_kind` for a sentence: "an array", "a string", "null"."""
    kind = json_kind(value)
    return kind if kind == "null" else f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


def id_or_none(value) -> str | None:
    """An optional id (UUID) as the API writes it when rendering without a serializer."""
    return None if value is None else str(value)


def iso_utc(value: dt.datetime | None) -> str | None:
    """A datetime as the API writes it when rendering without a serializer: ISO-8601 in UTC
    with `Z`, exactly as DRF's DateTimeField renders it under these settings."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


class AwareDateTimeField(serializers.DateTimeField):
    """ISO-8601 with a timezone; a naive datetime is refused rather than guessed (DECISIONS §1)."""

    default_error_messages = {
        "naive": "Include a timezone offset, e.g. 2024-03-20T00:00:00Z; a datetime without one is ambiguous.",
        "invalid": "Use the ISO-8601 format with a timezone, e.g. 2024-03-20T00:00:00Z.",
    }

    # Every parsed value (a string in any input format, or a datetime object) passes through here
    # before DRF would silently read a naive one in the server's timezone.
    def enforce_timezone(self, value):
        if timezone.is_naive(value):
            self.fail("naive")
        return super().enforce_timezone(value)


@extend_schema_field(OpenApiTypes.OBJECT)
class JSONObjectField(serializers.Field):
    """A JSON object, also accepted as a JSON string (multipart); an empty string means {}."""

    default_error_messages = {
        "invalid_json": "Must be a JSON object, e.g. {{}}; it could not be parsed ({error}).",
        "not_object": "Must be a JSON object, e.g. {{}}; got {kind}.",
        "unstorable_key": "Must not contain {character}; remove it from a key of {where}.",
        "unstorable_value": "Must not contain {character}; remove it from the value at {where}.",
    }

    def to_internal_value(self, data):
        if isinstance(data, str):
            if not data.strip():
                return {}
            try:
                data = json.loads(data)
            except ValueError as error:
                self.fail("invalid_json", error=str(error).split(":")[0])
        if not isinstance(data, dict):
            self.fail("not_object", kind=type(data).__name__)
        # Refused here, naming the place, rather than failing in the database as a 500.
        found = unstorable_character_at(data)
        if found is not None:
            part, character, where = found
            self.fail(f"unstorable_{part}", character=character, where=where)
        return data

    def to_representation(self, value):
        return value


# Text PostgreSQL cannot store: jsonb refuses U+0000, and a lone surrogate cannot be encoded as
# UTF-8 by any driver. DRF's CharField refuses both already; JSON objects are checked here.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_character_at(value) -> tuple[str, str, str] | None:
    """The first character a database cannot store in a parsed JSON value, as ("key" or "value",
    the character named for a message, its place such as "`a.b[1]`" or "the object"), or None.

    Walks with an explicit stack, so a deeply nested body cannot exhaust the recursion limit.
    """
    stack: list[tuple[str, object]] = [("", value)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, str):
            found = _UNSTORABLE.search(node)
            if found:
                return "value", _character_name(found.group()), _place(path)
        elif isinstance(node, dict):
            for key, child in node.items():
                key = str(key)
                found = _UNSTORABLE.search(key)
                if found:
                    return "key", _character_name(found.group()), _place(path)
                stack.append((f"{path}.{key}" if path else key, child))
        elif isinstance(node, list):
            stack.extend((f"{path}[{index}]", child) for index, child in enumerate(node))
    return None


def _character_name(character: str) -> str:
    if character == "\x00":
        return "the NUL character (\\u0000)"
    return f"the lone surrogate \\u{ord(character):04x}"


def _place(path: str) -> str:
    if not path:
        return "the object"
    # Keys are the client's text; a long one must not turn the message into a wall of text.
    return f"`{path if len(path) <= 80 else path[:77] + '...'}`"


def absolute_url(request, url: str | None) -> str | None:
    """A stored file's URL made absolute on the caller's host; None for no file.

    Without a request (a serializer used outside a view) the URL is returned as the storage gave it;
    a storage that already returns absolute URLs keeps them.
    """
    if not url:
        return None
    return request.build_absolute_uri(url) if request is not None else url
