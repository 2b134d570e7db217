"""Serializer fields and output helpers every app's API shares (DECISIONS §1).

Multipart clients send every field as a string, so the fields here accept both the JSON types
and their multipart spellings.
"""

from __future__ import annotations

import json

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


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
        return data

    def to_representation(self, value):
        return value


def absolute_url(request, url: str | None) -> str | None:
    """A stored file's URL made absolute on the caller's host; None for no file.

    Without a request (a serializer used outside a view) the URL is returned as the storage gave it;
    a storage that already returns absolute URLs keeps them.
    """
    if not url:
        return None
    return request.build_absolute_uri(url) if request is not None else url
