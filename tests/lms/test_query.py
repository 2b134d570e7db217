"""lms.api.query.validated_query: a serializer's validated query, remembered per distinct query."""

from __future__ import annotations

import uuid

import pytest
from django.http import QueryDict
from rest_framework import serializers

from lms.api import query as query_module
from lms.api.fields import UUIDStringField
from lms.api.query import validated_query


class _Counted(serializers.Serializer):
    userId = UUIDStringField(required=False)  # noqa: N815
    limit = serializers.IntegerField(min_value=1, default=20, required=False)
    runs = 0

    def validate(self, attrs):
        type(self).runs += 1
        return attrs


@pytest.fixture(autouse=True)
def _fresh():
    query_module._validated.cache_clear()
    _Counted.runs = 0


def test_a_repeated_query_is_validated_once_and_each_caller_gets_its_own_dict():
    user_id = uuid.uuid4()
    first = validated_query(_Counted, QueryDict(f"userId={user_id}&limit=5&other=x"))
    first["limit"] = 99
    # Parameters the serializer does not declare are no part of the key.
    second = validated_query(_Counted, QueryDict(f"limit=5&userId={user_id}&other=y"))

    assert second == {"userId": user_id, "limit": 5}
    assert _Counted.runs == 1


def test_defaults_and_repeated_parameters_are_what_the_serializer_gives():
    for query in ("", "limit=3&limit=7", "userId="):
        expected = _Counted(data=QueryDict(query))
        if expected.is_valid():
            assert validated_query(_Counted, QueryDict(query)) == dict(expected.validated_data)
        else:
            with pytest.raises(serializers.ValidationError) as refused:
                validated_query(_Counted, QueryDict(query))
            assert refused.value.detail == expected.errors


def test_a_refused_query_is_refused_every_time_and_never_remembered():
    for _ in range(2):
        with pytest.raises(serializers.ValidationError) as refused:
            validated_query(_Counted, QueryDict("limit=0"))
        assert "limit" in refused.value.detail
    assert query_module._validated.cache_info().currsize == 0
