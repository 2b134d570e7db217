"""`page`/`limit` pagination (DECISIONS §1): page from 1, limit default 20, max 100."""

from __future__ import annotations

from dataclasses import dataclass

from rest_framework import serializers

from lms.api.query import validated_query

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# Far beyond any real page, and keeps OFFSET inside a bigint.
MAX_PAGE = 1_000_000


class PageQuerySerializer(serializers.Serializer):
    page = serializers.IntegerField(min_value=1, max_value=MAX_PAGE, default=1, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT, required=False)


@dataclass(frozen=True)
class Page:
    page: int
    limit: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit

    def slice(self, queryset):
        return queryset[self.offset : self.offset + self.limit]


def page_from_request(request) -> Page:
    """Validated page parameters; bad values raise a 400 with field errors."""
    query = validated_query(PageQuerySerializer, request.query_params)  # remembered per distinct query
    return Page(page=query["page"], limit=query["limit"])


def paginate(queryset, request) -> tuple[int, list]:
    """(total count across pages, this page's rows): two queries whatever the data size."""
    page = page_from_request(request)
    total = queryset.count()
    return total, list(page.slice(queryset))
