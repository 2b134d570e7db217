"""The plain validator of view/start, view/update and view/end bodies (viewer.api.content_bodies)
answers every body as the serializers that document them would: the same values when valid, and
the same error detail (paths, messages, codes, order) when not, hence the same envelope."""

from __future__ import annotations

import itertools
import uuid

import pytest
from rest_framework.exceptions import ValidationError

from viewer.api import serializers as s
from viewer.api.content_bodies import content_view_body

ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
# Every kind of JSON value, and the strings and numbers that sit on a rule's edge.
ODD_VALUES = [
    None, True, False, 0, -1, 1, 50, 100, 101, 100.0, 50.5, 1e20, float("inf"), 2**70, "", " ", "50", " 7 ",
    "50.0", "5e1", "abc", "x" * 1001, "1" * 1001, ID, ID.upper(), ID.replace("-", ""), "{" + ID + "}",
    "urn:uuid:" + ID, ID[:-1], [], [ID], {}, {"id": ID},
]


def _serializer_outcome(serializer_class, data):
    serializer = serializer_class(data=data)
    if serializer.is_valid():
        return "valid", dict(serializer.validated_data["request"])
    return "invalid", _with_codes(serializer.errors)


def _plain_outcome(data, *, with_progress):
    try:
        return "valid", content_view_body(data, with_progress=with_progress)
    except ValidationError as error:
        return "invalid", _with_codes(error.detail)


def _with_codes(detail):
    """The detail as plain data with each message's code, so the comparison sees the codes (which
    choose MANDATORY_PARAMETER_MISSING) and the order of the fields."""
    if isinstance(detail, dict):
        return [(key, _with_codes(value)) for key, value in detail.items()]
    if isinstance(detail, list):
        return [_with_codes(item) for item in detail]
    return (str(detail), detail.code)


def _bodies():
    yield None
    yield []
    yield "request"
    yield 7
    yield {}
    yield {"other": {}}
    for wrapper in (None, [], "x", 1, True, [{"contentId": ID}]):
        yield {"request": wrapper}
    yield {"request": {}}
    for name in ("userId", "collectionId", "batchId", "contentId", "progress"):
        for value in ODD_VALUES:
            yield {"request": {"contentId": ID, "progress": 10, name: value}}
            yield {"request": {name: value}}
    for content, progress in itertools.product(ODD_VALUES, ODD_VALUES):
        yield {"request": {"contentId": content, "progress": progress, "userId": progress}}
    yield {"request": {"userId": ID, "collectionId": ID, "batchId": ID, "contentId": ID, "progress": 100,
                       "extra": "ignored"}}


@pytest.mark.parametrize(
    ("serializer_class", "with_progress"),
    [(s.ViewStartInput, False), (s.ViewEndInput, False), (s.ViewUpdateInput, True)],
)
def test_the_plain_validator_answers_every_body_as_the_serializer(serializer_class, with_progress):
    compared = 0
    for body in _bodies():
        expected = _serializer_outcome(serializer_class, body)
        assert _plain_outcome(body, with_progress=with_progress) == expected, body
        compared += 1
    assert compared > 1000


def test_a_valid_body_gives_uuids_and_an_int_and_leaves_absent_fields_out():
    body = content_view_body({"request": {"contentId": ID, "userId": None, "progress": "40.0"}}, with_progress=True)
    assert body == {"contentId": uuid.UUID(ID), "userId": None, "progress": 40}
