"""Query filters of the catalogue lists (django-filter). Bad values answer 400, never silently nothing."""

from __future__ import annotations

import uuid

import django_filters
from django import forms
from rest_framework import serializers

from courses import selectors, services
from courses.models import LIVE_STATUS_CHOICES, Course, Lesson

CATEGORY_PARAMETERS = ("categoryId", "categoryIds")


def category_ids_from_query(query_params, *, tenant_id: uuid.UUID) -> list[uuid.UUID] | None:
    """The categories a list is narrowed to (DECISIONS §11): `categoryId` and `categoryIds`, each
    repeated or comma-separated; None when neither is given. Raises a 400 for a value that is not
    a UUID, and ERR_UNKNOWN_CATEGORY for an id that is not one of this tenant's categories."""
    raw = [
        part.strip()
        for name in CATEGORY_PARAMETERS
        for value in query_params.getlist(name)
        for part in value.split(",")
        if part.strip()
    ]
    if not raw:
        return None
    try:
        ids = [uuid.UUID(part) for part in raw]
    except ValueError:
        raise serializers.ValidationError(
            {"categoryIds": ["Send category ids (UUIDs), repeated or comma-separated."]}
        ) from None
    return services.categories_resolve(tenant_id=tenant_id, category_ids=ids)


class CategoryFilterMixin(django_filters.FilterSet):
    """`categoryId` / `categoryIds`: rows sharing at least one of the categories. Both names are
    read together in `filter_queryset`, so that naming both is one union, not an intersection."""

    categoryId = django_filters.UUIDFilter(method="_documented_only", help_text="Rows in this category.")
    categoryIds = django_filters.CharFilter(
        method="_documented_only", help_text="Rows in any of these categories: repeated or comma-separated ids."
    )

    def _documented_only(self, queryset, name, value):
        return queryset

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        category_ids = category_ids_from_query(self.request.query_params, tenant_id=self.request.tenant_id)
        if category_ids is None:
            return queryset
        return queryset.filter(selectors.in_any_category(model=queryset.model, category_ids=category_ids))


class StrictBooleanField(forms.Field):
    TRUE = {"true", "1", "yes"}
    FALSE = {"false", "0", "no"}

    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise forms.ValidationError("Use true or false.")


class StrictBooleanFilter(django_filters.Filter):
    field_class = StrictBooleanField


def _status_filter() -> django_filters.ChoiceFilter:
    return django_filters.ChoiceFilter(
        choices=LIVE_STATUS_CHOICES,
        error_messages={"invalid_choice": "Use unpublished or published; archived content is not listed."},
    )


class CourseFilter(CategoryFilterMixin):
    status = _status_filter()
    featured = StrictBooleanFilter()
    free = StrictBooleanFilter()
    q = django_filters.CharFilter(field_name="title", lookup_expr="icontains", help_text="Text search in the title.")
    title = django_filters.CharFilter(field_name="title", lookup_expr="icontains")

    class Meta:
        model = Course
        fields: list[str] = []


class LessonFilter(CategoryFilterMixin):
    status = _status_filter()
    format = django_filters.CharFilter(field_name="format")
    inLib = StrictBooleanFilter(field_name="in_lib")
    courseId = django_filters.UUIDFilter(method="filter_placed", help_text="Lessons placed in this course.")
    moduleId = django_filters.UUIDFilter(method="filter_placed", help_text="Lessons placed in this module.")

    class Meta:
        model = Lesson
        fields: list[str] = []

    def filter_placed(self, queryset, name, value):
        learner = not self.request.user.is_staff_role
        where = {"course_id": value} if name == "courseId" else {"module_id": value}
        return queryset.filter(
            selectors.lessons_placed_filter(tenant_id=self.request.tenant_id, learner=learner, **where)
        )
