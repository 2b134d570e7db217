"""Enrollments in the admin: every change goes through the same services as the API."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.urls import path

# admin_courses: the course list's enrollment count; admin_bulk: the class enrolment page.
from enrollment import admin_bulk, admin_courses, selectors, services  # noqa: F401
from enrollment.models import Enrollment
from lms.admin_people import LearnerColumnsMixin
from lms.admin_tenancy import TenantScopedAdminMixin
from lms.api.errors import ConflictError
from lms.api.identity import staff_user_uuid
from lms.selectors import learner_directory_by_email

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

    # Adding goes through `enrollment_create` (the course track with it), as POST /enrollments does.
    add_fields = ("course", "learner", "batch")

    def get_fields(self, request, obj=None):
        return self.add_fields if obj is None else super().get_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else super().get_readonly_fields(request, obj)

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = EnrollmentAddForm
        return super().get_form(request, obj, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "course":
            kwargs["queryset"] = admin_bulk.courses_for_staff(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_urls(self):
        enrol_class = [
            path("enrol-class/", self.admin_site.admin_view(lambda request: admin_bulk.choose_course_view(self, request)),
                 name="enrollment_enrollment_enrol_class_choose"),
            path("enrol-class/<uuid:course_id>/",
                 self.admin_site.admin_view(lambda request, course_id: admin_bulk.enrol_class_view(self, request, course_id)),
                 name="enrollment_enrollment_enrol_class"),
        ]
        return enrol_class + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        # Filtered to one course, "Enrol a class" goes straight to that course's page.
        course_id = request.GET.get("course__id__exact")
        if course_id and selectors.as_uuid(course_id) is not None:
            extra_context = {**(extra_context or {}), "enrol_class_course_id": course_id}
        return super().changelist_view(request, extra_context)

    def has_delete_permission(self, request, obj=None):
        # Deleting would erase tracking history; deactivate instead (or DELETE ?hard=true via the API).
        return False

    def save_model(self, request, obj, form, change):
        if not change:
            course = form.cleaned_data["course"]
            try:
                saved = services.enrollment_create(
                    tenant_id=course.tenant_id, course=course, user_id=form.cleaned_data["user_id"],
                    enrolled_by=staff_user_uuid(request.user.pk), batch_id=form.cleaned_data.get("batch"),
                )
            except ConflictError as conflict:  # enrolled concurrently since the form was checked
                saved = Enrollment.objects.get(pk=conflict.result["id"])
                self.message_user(request, "The learner was already enrolled; this is that enrollment.", messages.WARNING)
            for field in Enrollment._meta.concrete_fields:
                setattr(obj, field.attname, getattr(saved, field.attname))
            obj._state.adding = False
            return
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


class EnrollmentAddForm(forms.ModelForm):
    """Enrol one learner: the course (of the staff user's tenants), the learner by user id or by the
    email the learner directory knows, and optionally a batch."""

    learner = forms.CharField(
        label="Learner", max_length=254, widget=forms.TextInput(attrs={"size": 40}),
        help_text="Their user id (a UUID), or their email address as the learner directory knows it.",
    )
    batch = forms.UUIDField(required=False, label="Batch", help_text="Leave empty for the course's own batch.")

    class Meta:
        model = Enrollment
        fields = ("course",)

    def clean(self):
        cleaned = super().clean()
        course, text = cleaned.get("course"), (cleaned.get("learner") or "").strip()
        if course is None or not text:
            return cleaned
        user_id = selectors.as_uuid(text)
        if user_id is None:
            matches = learner_directory_by_email(tenant_id=course.tenant_id, emails=[text]).get(text.lower(), [])
            if len(matches) != 1:
                self.add_error("learner", (
                    f"{len(matches)} learners of this course's tenant share this email; enter their user id."
                    if matches else
                    "No learner with this email in the course's tenant; enter their user id, or import them into "
                    "the learner directory first."
                ))
                return cleaned
            user_id = matches[0].user_id
        cleaned["user_id"] = user_id
        batch_id = cleaned.get("batch") or course.id
        existing = Enrollment.objects.filter(
            user_id=user_id, tenant_id=course.tenant_id, course=course, batch_id=batch_id
        ).values_list("pk", flat=True).first()
        if existing is not None:
            self.add_error("learner", "This learner is already enrolled in this course and batch.")
        return cleaned
