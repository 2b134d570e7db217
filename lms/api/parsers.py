"""The JSON body parser of every API view (DECISIONS §8: malformed bodies are 400)."""

from __future__ import annotations

import json

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils.json import strict_constant

from lms.api.fields import json_kind_phrase

MAX_JSON_DEPTH = 32


def _nested_deeper_than(value, limit: int) -> bool:
    # Iterative: the point is to refuse bodies whose recursion would be the problem.
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
    return False


class JSONObjectParser(parsers.JSONParser):
    """DRF's JSONParser, but every malformed body is a ParseError (400), never a 500.

    The body must be one JSON object (every endpoint of both specs takes one), nested at most
    MAX_JSON_DEPTH levels: deeper nesting made json.loads raise RecursionError, which escaped
    DRF's parser as a 500. NaN and Infinity are refused, as DRF's strict mode does.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        raw = stream.read()
        try:
            data = json.loads(raw.decode(encoding), parse_constant=strict_constant)
        except RecursionError:
            raise ParseError(f"the JSON is nested deeper than {MAX_JSON_DEPTH} levels") from None
        except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError included
            raise ParseError(f"invalid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ParseError(f"the body must be a JSON object, not {json_kind_phrase(data)}")
        # Counting brackets runs at C speed; only a body with more of them than the limit can be
        # too deep, so the usual small body skips the walk.
        if raw.count(b"{") + raw.count(b"[") > MAX_JSON_DEPTH and _nested_deeper_than(data, MAX_JSON_DEPTH):
            raise ParseError(f"the JSON is nested deeper than {MAX_JSON_DEPTH} levels")
        return data


class StrictMultiPartParser(parsers.MultiPartParser):
    """Multipart, refusing a body whose parts carry no field: a part without its
    Content-Disposition header is skipped by Django's parser, which would turn a broken upload
    into an empty (successful) update instead of a 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        length = int((request.META.get("CONTENT_LENGTH") if request is not None else None) or 0)
        parsed = super().parse(stream, media_type, parser_context)
        if not parsed.data and not parsed.files and length > _empty_multipart_size(media_type):
            raise ParseError(
                "The multipart body has parts but no named fields; give every part a "
                '"Content-Disposition: form-data; name=..." header, or send JSON.'
            )
        return parsed


def _empty_multipart_size(media_type: str | None) -> int:
    """The size of the largest body that holds no part at all: the closing boundary and a line end."""
    boundary = ""
    for piece in (media_type or "").split(";"):
        name, _, value = piece.strip().partition("=")
        if name.lower() == "boundary":
            boundary = value.strip('"')
    return len(f"--{boundary}--\r\n") + 2
