"""Query filters of the catalogue lists (django-filter). Bad values answer 400, never silently nothing."""

from __future__ import annotations

import django_filters
from django import forms

from courses import selectors
from courses.models import LIVE_STATUS_CHOICES, Course, Lesson


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


class CourseFilter(django_filters.FilterSet):
    status = _status_filter()
    featured = StrictBooleanFilter()
    free = StrictBooleanFilter()
    q = django_filters.CharFilter(field_name="title", lookup_expr="icontains", help_text="Text search in the title.")
    title = django_filters.CharFilter(field_name="title", lookup_expr="icontains")

    class Meta:
        model = Course
        fields: list[str] = []


class LessonFilter(django_filters.FilterSet):
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
