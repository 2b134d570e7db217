"""Enrollments in the admin: every change goes through the same services as the API."""

from __future__ import annotations

from django.contrib import admin, messages

from enrollment import admin_courses, services  # noqa: F401  (admin_courses: the course list's enrollment count)
from enrollment.models import Enrollment
from lms.admin_people import LearnerColumnsMixin
from lms.admin_tenancy import TenantScopedAdminMixin
from lms.api.identity import staff_user_uuid

# What staff may change here; identity and progress are read-only (state follows the course track).
EDITABLE_FIELDS = ("active", "end_time", "unlimited_plan", "before_expiry_mail", "after_expiry_mail", "params")
IDENTITY_FIELDS = (
    "id", "tenant", "learner", "user_id", "course", "batch_id", "state", "enrolled_by", "enrolled_on_time", "enrolled_at",
    "updated_by", "updated_at",
)  # fmt: skip


@admin.register(Enrollment)
class EnrollmentAdmin(TenantScopedAdminMixin, LearnerColumnsMixin, admin.ModelAdmin):
    list_display = ("learner", "course", "tenant", "state", "active", "unlimited_plan", "end_time", "enrolled_at")
    list_filter = (("course", admin.RelatedOnlyFieldListFilter), "state", "active", "unlimited_plan", "tenant")
    list_select_related = ("course", "tenant")
    # Exact match: user ids are UUIDs, and a prefix search could not use the index.
    search_fields = ("=user_id",)
    search_help_text = "Search by the learner's name or email (from the learner directory), or their full user id."
    date_hierarchy = "enrolled_at"
    fields = IDENTITY_FIELDS + EDITABLE_FIELDS
    readonly_fields = IDENTITY_FIELDS
    actions = ("approve", "deactivate")

    def has_add_permission(self, request):
        # Enrolling creates the course track too; that is the API's job (POST /enrollments).
        return False

    def has_delete_permission(self, request, obj=None):
        # Deleting would erase tracking history; deactivate instead (or DELETE ?hard=true via the API).
        return False

    def save_model(self, request, obj, form, change):
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name in EDITABLE_FIELDS}
        if changes:
            services.enrollment_update(enrollment=obj, updated_by=staff_user_uuid(request.user.pk), **changes)

    @admin.action(description="Approve (activate) selected enrollments", permissions=["change"])
    def approve(self, request, queryset):
        count = services.enrollment_approve(
            enrollment_ids=queryset.values_list("pk", flat=True), approved_by=staff_user_uuid(request.user.pk)
        )
        self.message_user(request, f"Activated {count} enrollment(s); any others were already active.", messages.SUCCESS)

    @admin.action(description="Deactivate selected enrollments (keeps progress)", permissions=["change"])
    def deactivate(self, request, queryset):
        count = services.enrollment_deactivate(
            enrollment_ids=queryset.values_list("pk", flat=True), deactivated_by=staff_user_uuid(request.user.pk)
        )
        self.message_user(
            request, f"Deactivated {count} enrollment(s); any others were already inactive.", messages.SUCCESS
        )
