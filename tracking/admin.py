"""Read-only admin screens for progress: tracks, attempts, certificates and the override audit.

Progress changes only through the services (the API and `recount_tracking`), so counters cannot
drift; the admin shows them, filters them and finds a learner by name, email or user id.
"""

from django.contrib import admin

from lms.admin import ReadOnlyAdminMixin
from lms.admin_people import LearnerColumnsMixin
from tracking.models import CourseTrack, CourseTrackOverride, IssuedCertificate, LessonAttempt


class ReadOnlyAdmin(LearnerColumnsMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_per_page = 50
    show_full_result_count = False  # a COUNT(*) over a large table on every page is not worth it
    readonly_fields = ("learner",)


@admin.register(CourseTrack)
class CourseTrackAdmin(ReadOnlyAdmin):
    list_display = ("learner", "course", "batch_id", "status", "completed_lessons", "no_of_lessons", "timestart",
                    "timeend", "cert_gen_date")
    list_filter = ("status", "course", "tenant")
    list_select_related = ("course",)
    search_fields = ("user_id",)
    date_hierarchy = "timestart"


@admin.register(LessonAttempt)
class LessonAttemptAdmin(ReadOnlyAdmin):
    list_display = ("learner", "lesson", "course", "attempt", "status", "score", "time_spent", "timestart", "timeend")
    list_filter = ("status", "course", "tenant")
    list_select_related = ("lesson", "course")
    search_fields = ("user_id",)
    date_hierarchy = "timestart"


@admin.register(IssuedCertificate)
class IssuedCertificateAdmin(ReadOnlyAdmin):
    list_display = ("name", "learner", "course", "issued_at", "token")
    list_filter = ("course", "tenant")
    list_select_related = ("course",)
    search_fields = ("user_id", "token")
    date_hierarchy = "issued_at"


@admin.register(CourseTrackOverride)
class CourseTrackOverrideAdmin(ReadOnlyAdmin):
    list_display = ("track", "learner", "changed_by", "changed_at", "old_values", "new_values")
    learner_user_field = "track__user_id"
    list_filter = ("track__status", "track__course", "tenant")
    list_select_related = ("track",)
    search_fields = ("track__user_id", "changed_by")
    date_hierarchy = "changed_at"
