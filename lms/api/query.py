"""Query-string parameters validated by a serializer, remembered per distinct query.

A DRF serializer deep-copies its declared fields on every construction (re-running each field's
`__init__`), which made parsing `?hasEnroll=true&limit=20&userId=…` with two small serializers
cost more than rendering a 20-course home page (issue 17). The validated values of a query are a
pure function of the values of the serializer's own fields, so the successful ones are remembered:
a repeated query costs one tuple and a dict lookup. A refused query is never remembered (an
exception leaves `lru_cache` empty), so its 400 is built by the serializer every time, as before.

Only for flat serializers of query parameters: each field reads its own name from the query and
nothing else (no nested serializers, no list fields reading `name[0]`-style keys, no context).
"""

from __future__ import annotations

import functools

from django.http import QueryDict
from rest_framework import serializers


def validated_query(serializer_class: type[serializers.Serializer], query_params) -> dict:
    """`serializer_class(data=query_params)`'s validated data (a fresh dict), or its ValidationError."""
    key = tuple((name, tuple(query_params.getlist(name))) for name in serializer_class._declared_fields)
    return dict(_validated(serializer_class, key))


@functools.lru_cache(maxsize=4096)
def _validated(serializer_class, key: tuple) -> tuple:
    # The query rebuilt from the key: the fields see the same lists (and the same last value) under
    # their names as in the request's own QueryDict, and nothing else, which they never read.
    data = QueryDict(mutable=True)
    for name, values in key:
        if values:
            data.setlist(name, list(values))
    query = serializer_class(data=data)
    query.is_valid(raise_exception=True)
    return tuple(query.validated_data.items())
