"""Read-only admin screens for progress: tracks, attempts, certificates and the override audit.

Progress changes only through the services (the API and `recount_tracking`), so counters cannot
drift; the admin shows them, filters them and finds a learner by name, email or user id.
"""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from lms.admin import ReadOnlyAdminMixin
from lms.admin_people import LearnerColumnsMixin
from lms.admin_tenancy import TenantScopedAdminMixin
from tracking.models import CourseTrack, CourseTrackOverride, IssuedCertificate, LessonAttempt


class ReadOnlyAdmin(TenantScopedAdminMixin, LearnerColumnsMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_per_page = 50
    show_full_result_count = False  # a COUNT(*) over a large table on every page is not worth it
    readonly_fields = ("learner",)


# Which of the learner's other progress pages each page links to, filtered to the same learner and
# course. Built from the row's own columns: no query per row.
RELATED_PAGES = {
    "track": ("Track", "tracking_coursetrack_changelist"),
    "attempts": ("Attempts", "tracking_lessonattempt_changelist"),
    "certificate": ("Certificate", "tracking_issuedcertificate_changelist"),
}


def related_links(*pages: str):
    @admin.display(description="See")
    def links(self, obj):
        query = f"?user_id={obj.user_id}&course__id__exact={obj.course_id}"
        return format_html_join(
            " · ", '<a href="{}{}">{}</a>',
            ((reverse(f"admin:{RELATED_PAGES[page][1]}"), query, RELATED_PAGES[page][0]) for page in pages),
        )

    return links


@admin.register(CourseTrack)
class CourseTrackAdmin(ReadOnlyAdmin):
    # No batch column: a batch id is a UUID (a column of its own at 1366 px), and it is the course's
    # own for direct enrolments; the track's page shows it.
    list_display = ("learner", "course", "status", "completed_lessons", "no_of_lessons", "timestart",
                    "timeend", "cert_gen_date", "see")
    list_filter = ("status", "course", "tenant")
    list_select_related = ("course",)
    search_fields = ("user_id",)
    date_hierarchy = "timestart"
    see = related_links("attempts", "certificate")


@admin.register(LessonAttempt)
class LessonAttemptAdmin(ReadOnlyAdmin):
    list_display = ("learner", "lesson", "course", "attempt", "status", "score", "time_spent", "timestart", "timeend",
                    "see")
    list_filter = ("status", "course", "tenant")
    list_select_related = ("lesson", "course")
    search_fields = ("user_id",)
    date_hierarchy = "timestart"
    see = related_links("track", "certificate")


@admin.register(IssuedCertificate)
class IssuedCertificateAdmin(ReadOnlyAdmin):
    # No token column: it is one long unbreakable word, and the verification links carry it.
    list_display = ("name", "learner", "course", "issued_at", "see", "verification")
    list_filter = ("course", "tenant")
    list_select_related = ("course",)
    search_fields = ("user_id", "token")
    date_hierarchy = "issued_at"
    see = related_links("track", "attempts")

    @admin.display(description="Verification")
    def verification(self, certificate):
        # The public page anyone holding the certificate can show (DECISIONS §10), and its PDF.
        url = reverse("certificate-verify", kwargs={"token": certificate.token})
        return format_html('<a href="{}">Verify</a> · <a href="{}?format=pdf">PDF</a>', url, url)


@admin.register(CourseTrackOverride)
class CourseTrackOverrideAdmin(ReadOnlyAdmin):
    list_display = ("track", "learner", "changed_by", "changed_at", "old_values", "new_values")
    learner_user_field = "track__user_id"
    list_filter = ("track__status", "track__course", "tenant")
    list_select_related = ("track",)
    search_fields = ("track__user_id", "changed_by")
    date_hierarchy = "changed_at"
