"""The course list counts enrollments too.

`courses` may not import `enrollment` (apps depend downward), so this app extends the course
admin it builds on: the same page, with one more annotated column (no query per row).
"""

from __future__ import annotations

from django.contrib import admin

from courses.admin import CourseAdmin, _count_of
from courses.models import Course
from enrollment.models import Enrollment


class CourseWithEnrollmentsAdmin(CourseAdmin):
    list_display = (*CourseAdmin.list_display[:-1], "enrollment_count", CourseAdmin.list_display[-1])

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(active_enrollments=_count_of(Enrollment, "course", active=True))

    @admin.display(description="Enrolled", ordering="active_enrollments")
    def enrollment_count(self, obj):
        return obj.active_enrollments


admin.site.unregister(Course)
admin.site.register(Course, CourseWithEnrollmentsAdmin)
