"""Malformed bodies are 400 envelopes, never a 500 (DECISIONS §8)."""

from __future__ import annotations

import json

import pytest
from django.conf import settings

from lms.api.parsers import MAX_JSON_DEPTH, JSONObjectParser
from tests.lms.conftest import assert_lms_envelope, assert_viewer_envelope

# One JSON endpoint of each envelope family, and a write of each kind.
ENDPOINTS = [
    ("POST", "/courses"),
    ("POST", "/enrollments"),
    ("POST", "/lessons/tracking"),
    ("POST", "/v1/view/start"),
    ("POST", "/v1/viewer/summary/read"),
]


def _nested(depth: int) -> bytes:
    """{"request": [[...]]} with `depth` levels of nesting in all (the outer object is level 1)."""
    return b'{"request": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


def _send(client, method, path, raw: bytes):
    return client.generic(method, path, raw, content_type="application/json")


def _check(response, path, **kwargs) -> dict:
    check = assert_viewer_envelope if path.startswith("/v1/") else assert_lms_envelope
    return check(response, **kwargs)


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_json_nested_1100_deep_is_a_400_not_a_500(admin_client, method, path):
    response = _send(admin_client, method, path, _nested(1100))

    body = _check(response, path, http_status=400, err="ERR_BAD_REQUEST")
    assert f"nested deeper than {MAX_JSON_DEPTH} levels" in body["params"]["errmsg"]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_json_nested_33_deep_is_a_400(admin_client, method, path):
    response = _send(admin_client, method, path, _nested(MAX_JSON_DEPTH + 1))

    _check(response, path, http_status=400, err="ERR_BAD_REQUEST")


def test_json_nested_32_deep_parses():
    parsed = JSONObjectParser().parse(_Stream(_nested(MAX_JSON_DEPTH)))

    assert isinstance(parsed["request"], list)


def test_deep_objects_count_as_much_as_deep_arrays():
    deep = b'{"a": ' * MAX_JSON_DEPTH + b"1" + b"}" * MAX_JSON_DEPTH
    assert JSONObjectParser().parse(_Stream(deep))

    too_deep = b'{"a": ' * (MAX_JSON_DEPTH + 1) + b"1" + b"}" * (MAX_JSON_DEPTH + 1)
    with pytest.raises(Exception, match="nested deeper"):
        JSONObjectParser().parse(_Stream(too_deep))


def test_many_brackets_side_by_side_are_not_depth():
    wide = json.dumps({"items": [[1], [2]] * 500}).encode()

    assert len(JSONObjectParser().parse(_Stream(wide))["items"]) == 1000


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize(
    ("raw", "named"),
    [(b"[]", "an array"), (b'[{"title": "x"}]', "an array"), (b'"text"', "a string"), (b"42", "a number"),
     (b"null", "null"), (b"true", "a boolean")],
)
def test_a_body_that_is_not_an_object_is_a_400(admin_client, method, path, raw, named):
    response = _send(admin_client, method, path, raw)

    body = _check(response, path, http_status=400, err="ERR_BAD_REQUEST")
    assert f"must be a JSON object, not {named}" in body["params"]["errmsg"]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize("raw", [b"{not json", b'{"a": NaN}', b'{"a": 1}}', b"\xff\xfe{}"])
def test_invalid_json_is_a_400(admin_client, method, path, raw):
    response = _send(admin_client, method, path, raw)

    body = _check(response, path, http_status=400, err="ERR_BAD_REQUEST")
    assert body["params"]["errmsg"].startswith("The request body could not be parsed: invalid JSON")


def test_one_parser_class_reads_json():
    assert settings.REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"][0] == "lms.api.parsers.JSONObjectParser"
    assert "rest_framework.parsers.JSONParser" not in settings.REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]


class _Stream:
    def __init__(self, raw: bytes):
        self.raw = raw

    def read(self) -> bytes:
        return self.raw
