"""Input parsing shared by the catalogue's serializers (DECISIONS §1).

Multipart clients send nested objects either as a JSON string in one field or as bracketed
fields (`mediaContent[format]`), booleans as true/false/1/0/yes/no, and every field as a
string. `request_body` turns either body kind into one plain dict; the fields below accept
both the JSON types and their multipart spellings. The fields every app shares (aware
datetimes, JSON objects) are in `lms.api.fields`.
"""

from __future__ import annotations

import json
import re

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ParseError

from courses.images import ImageRejected, verify_image
from lms.api.fields import MAX_STORED_INT, UUIDStringField

_BRACKETED = re.compile(r"^(?P<base>[^\[\]]+)(?P<rest>(?:\[[^\[\]]*\])+)$")


def _insert(body: dict, key: str, values: list) -> None:
    match = _BRACKETED.match(key)
    if match is None:
        body[key] = values[0] if len(values) == 1 else values
        return
    parts = [match["base"], *re.findall(r"\[([^\[\]]*)\]", match["rest"])]
    as_list = parts[-1] == "" or parts[-1].isdigit()
    if as_list:
        parts = parts[:-1]
    node = body
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    if as_list:
        existing = node.get(parts[-1])
        node[parts[-1]] = (existing if isinstance(existing, list) else []) + list(values)
    else:
        node[parts[-1]] = values[0] if len(values) == 1 else values


def request_body(request, *, aliases: dict[str, str] | None = None) -> dict:
    """The request's body (JSON object, multipart or form) as one plain dict, files included."""
    data = request.data
    aliases = aliases or {}
    if hasattr(data, "getlist"):
        body: dict = {}
        for key in data.keys():
            _insert(body, aliases.get(key, key), data.getlist(key))
        return body
    if not isinstance(data, dict):
        raise ParseError("The body must be a JSON object.")
    return {aliases.get(key, key): value for key, value in data.items()}


@extend_schema_field(OpenApiTypes.BINARY)
class ImageUploadField(serializers.Field):
    """An uploaded image file, verified by `courses.images`; null or "" removes the image."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if data in ("", None):
            return None
        try:
            return verify_image(data)
        except ImageRejected as rejected:
            raise serializers.ValidationError(str(rejected)) from None


@extend_schema_field({"type": "array", "items": {"type": "string", "format": "uuid"}})
class LessonIdListField(serializers.ListField):
    """A list of lesson ids; a single id, a JSON array string or repeated fields are accepted too."""

    child = UUIDStringField()

    def to_internal_value(self, data):
        if data is None or data == "":
            return []
        if isinstance(data, str):
            text = data.strip()
            if text.startswith("["):
                try:
                    data = json.loads(text)
                except ValueError:
                    raise serializers.ValidationError("Send a JSON array of lesson ids.") from None
            else:
                data = [part.strip() for part in text.split(",") if part.strip()]
        elif not isinstance(data, list):
            data = [data]
        return [str(lesson_id) for lesson_id in super().to_internal_value(data)]


@extend_schema_field({"type": "array", "items": {"type": "string", "format": "uuid"}})
class CategoryIdListField(LessonIdListField):
    """`categoryIds`: a JSON list, repeated multipart fields or one comma-separated string
    (DECISIONS §11); an empty value clears the categories."""

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError:
            raise serializers.ValidationError(
                "Send category ids as a JSON array, repeated fields or one comma-separated string."
            ) from None


def stored_integer_field(*, min_value: int = 0, **kwargs) -> serializers.IntegerField:
    """An integer input no larger than its PositiveIntegerField column holds (MAX_STORED_INT)."""
    return serializers.IntegerField(min_value=min_value, max_value=MAX_STORED_INT, **kwargs)


def choice_field(choices, **kwargs) -> serializers.ChoiceField:
    values = [value for value, _ in choices]
    return serializers.ChoiceField(
        choices=choices,
        error_messages={"invalid_choice": f'"{{input}}" is not a valid choice; use one of: {", ".join(values)}.'},
        **kwargs,
    )


class CatalogueInputSerializer(serializers.Serializer):
    """Multipart sends "" for an empty optional field; there, nullable fields read it as null.

    A JSON body can say null, so a JSON "" where an id or number belongs stays the 400 the schema
    promises (the caller sets `form_encoded` in the context from the body's kind).
    """

    def to_internal_value(self, data):
        if isinstance(data, dict) and self.context.get("form_encoded"):
            nullable = {field.field_name for field in self.fields.values() if field.allow_null}
            data = {key: (None if value == "" and key in nullable else value) for key, value in data.items()}
        return super().to_internal_value(data)
