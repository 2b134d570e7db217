"""The envelope renderer writes with orjson (issue 15) and must write DRF's bytes."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
import zoneinfo
from collections import OrderedDict

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.exceptions import ErrorDetail
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from lms.api.envelope import EnvelopeJSONRenderer

PAYLOADS = {
    "utc-datetime": dt.datetime(2026, 12, 3, 11, 58, 13, 834582, tzinfo=dt.UTC),
    "utc-datetime-whole-second": dt.datetime(2026, 12, 3, 11, 58, 13, tzinfo=dt.UTC),
    "offset-datetime": dt.datetime(2026, 12, 3, 11, 58, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
    "zoneinfo-utc-offset": dt.datetime(2026, 12, 3, 11, 58, tzinfo=zoneinfo.ZoneInfo("Europe/London")),
    "naive-datetime": dt.datetime(2026, 12, 3, 11, 58, 13, 5),
    "date": dt.date(2026, 12, 3),
    "time": dt.time(11, 58, 13, 250),
    "timedelta": dt.timedelta(minutes=3, microseconds=5),
    "uuid": uuid.UUID("0b6c2a4e-5f0a-4c55-9a43-1f6f4f2d7c11"),
    "decimal": decimal.Decimal("12.50"),
    "non-ascii": "Ünïcødé — 学习 🎓",
    "js-separators": "a\u2028b\u2029c",
    "escapes": 'quote " backslash \\ newline \n tab \t nul \x00',
    "floats": [0.0, -0.0, 0.1, 1.5, 99.99, 100.0, 1e15, 123456.789],
    "ints": [0, -1, 2**63 - 1, -(2**63)],
    "bools-and-null": [True, False, None],
    "nested": {"a": [1, {"b": (2, 3)}], "c": OrderedDict([("z", 1), ("y", 2)])},
    "serializer-containers": ReturnDict({"x": ReturnList([1, 2], serializer=None)}, serializer=None),
    "error-detail": {"title": [ErrorDetail("This field is required.", code="required")]},
    "lazy-string": gettext_lazy("Not found."),
    "generator-like": frozenset({"only"}),
    "empty": {},
}


def _drf(data) -> bytes:
    return JSONRenderer().render(data)


def _ours(data) -> bytes:
    return EnvelopeJSONRenderer().encode(data, "application/json", {})


@pytest.mark.parametrize("data", list(PAYLOADS.values()), ids=list(PAYLOADS))
def test_the_bytes_are_drfs(data):
    assert _ours(data) == _drf(data)


def test_a_whole_envelope_is_byte_for_byte_drfs():
    assert _ours(PAYLOADS) == _drf(PAYLOADS)


def test_the_javascript_line_separators_are_escaped():
    assert _ours("a\u2028b\u2029c") == b'"a\\u2028b\\u2029c"'


@pytest.mark.parametrize("text", [
    "— “quoted” …", "one\u2029 — alone", "— \u2028 only", "\u2028", "\u2029—", "€\u2028€\u2029€",
])
def test_the_separators_are_escaped_among_characters_of_the_same_lead_byte(text):
    # The encoder looks for their lead byte (E2) before the separators themselves: other
    # characters that start with it (dashes, quotes, the euro sign) must neither hide nor fake one.
    assert _ours(text) == _drf(text)
    assert _ours({"t": [text] * 3}) == _drf({"t": [text] * 3})


@pytest.mark.parametrize(
    "data",
    [2**64, -(2**64) - 1, {1: "a", None: "b", 2.5: "c", False: "d"}],
    ids=["big-int", "big-negative-int", "non-string-keys"],
)
def test_what_orjson_refuses_is_written_by_drf(data):
    assert _ours(data) == _drf(data)


@pytest.mark.parametrize(
    "data",
    [object(), dt.time(1, 2, tzinfo=dt.UTC), "lone \ud800 surrogate"],
    ids=["unknown-type", "aware-time", "lone-surrogate"],
)
def test_what_drf_cannot_write_still_fails(data):
    with pytest.raises((TypeError, ValueError)) as drf_error:
        _drf(data)

    with pytest.raises(drf_error.type):
        _ours(data)


def test_none_renders_no_body():
    assert _ours(None) == b"" == _drf(None)


def test_an_indent_request_is_left_to_drf():
    data = {"a": [1, 2]}

    assert _ours_indented(data) == JSONRenderer().render(data, "application/json; indent=2") == b'{\n  "a": [\n    1,\n    2\n  ]\n}'


def _ours_indented(data) -> bytes:
    return EnvelopeJSONRenderer().encode(data, "application/json; indent=2", {})


def test_floats_differ_only_in_the_notation_of_tiny_numbers():
    # Documented difference: the same number, orjson's shortest form.
    assert _ours([1e-05, 1e16]) == b"[0.00001,1e+16]"
    assert _drf([1e-05, 1e16]) == b"[1e-05,1e+16]"


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")], ids=["nan", "inf", "-inf"])
def test_a_non_finite_float_is_written_as_null_where_drf_refused_it(value):
    # Documented difference: the parsers refuse these on input, so only a bug could produce one,
    # and a null there is a smaller failure than the 500 the standard library's refusal was.
    with pytest.raises(ValueError):
        _drf({"score": value})

    assert _ours({"score": value}) == b'{"score":null}'


@pytest.mark.parametrize("data", list(PAYLOADS.values()), ids=list(PAYLOADS))
def test_orjsons_own_datetimes_write_the_same_bytes(data):
    # `native_datetimes` (the learner home): orjson writes datetimes in C, with DRF's text.
    from lms.api.envelope import encode_json

    assert encode_json(data, native_datetimes=True) == _drf(data)


def test_orjsons_own_datetimes_match_drf_and_iso_utc_across_the_calendar():
    import random

    from lms.api.envelope import encode_json
    from lms.api.fields import iso_utc

    rng = random.Random(17)
    values = [
        dt.datetime(
            rng.randint(1, 9999), rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59),
            rng.randint(0, 59), rng.choice([0, 1, 10, 999_999, rng.randint(0, 999_999)]), tzinfo=dt.UTC,
        )
        for _ in range(2_000)
    ]
    assert encode_json(values, native_datetimes=True) == _drf(values)
    assert encode_json(values, native_datetimes=True) == _drf([iso_utc(value) for value in values])
