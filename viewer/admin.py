"""Programs are managed here; program enrolment goes through the same service as the API."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse

from lms.admin_people import LearnerColumnsMixin
from lms.admin_tenancy import TenantScopedAdminMixin, TenantScopedMixin
from lms.api.errors import ApiError
from lms.api.identity import staff_user_uuid
from viewer import services
from viewer.models import OutboxEvent, Program, ProgramCourse, SummaryDeletion


class ProgramCourseFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        tenant_id = self.instance.tenant_id
        for form in self.forms:
            course = form.cleaned_data.get("course") if hasattr(form, "cleaned_data") else None
            if course is not None and not form.cleaned_data.get("DELETE") and course.tenant_id != tenant_id:
                raise ValidationError(f"“{course}” belongs to another tenant; a program holds its own tenant's courses.")


class ProgramCourseInline(TenantScopedMixin, admin.TabularInline):
    model = ProgramCourse
    tenant_path = "program__tenant"
    formset = ProgramCourseFormSet
    fields = ("ordering", "course")
    raw_id_fields = ("course",)
    extra = 1


class ProgramEnrolForm(forms.Form):
    user_id = forms.UUIDField(label="User id", help_text="The learner's UUID (the token's `sub`).")


@admin.register(Program)
class ProgramAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "identifier", "tenant", "created_at")
    list_filter = ("tenant",)
    search_fields = ("name", "identifier")
    inlines = [ProgramCourseInline]
    actions = ["enrol_user"]

    @admin.action(description="Enrol a user in the selected programs")
    def enrol_user(self, request, queryset):
        form = ProgramEnrolForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            user_id = form.cleaned_data["user_id"]
            for program in queryset:
                try:
                    enrolment = services.program_enrol(
                        tenant_id=program.tenant_id, program=program, user_id=user_id,
                        enrolled_by=staff_user_uuid(request.user.pk), by_staff=True,
                    )
                except ApiError as error:
                    self.message_user(request, f"{program}: {error.errmsg}", messages.ERROR)
                    continue
                self.message_user(
                    request,
                    f"{program}: {len(enrolment.created)} enrolment(s) created, "
                    f"{len(enrolment.enrolments) - len(enrolment.created)} already existed.",
                    messages.SUCCESS,
                )
            return None
        return TemplateResponse(
            request,
            "admin/viewer/program/enrol_user.html",
            {
                **self.admin_site.each_context(request),
                "title": "Enrol a user in programs",
                "opts": self.model._meta,
                "programs": queryset,
                "form": form,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )


@admin.register(OutboxEvent)
class OutboxEventAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    """Read-only: events are written by services and consumed by `run_enrolment_updater`."""

    list_display = ("kind", "status", "attempts", "tenant", "created_at", "processed_at")
    list_filter = ("status", "kind")
    readonly_fields = ("tenant", "kind", "payload", "status", "attempts", "last_error", "created_at", "processed_at")
    actions = ["requeue"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Requeue the selected failed events")
    def requeue(self, request, queryset):
        count = services.outbox_events_requeue(event_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} failed event(s) requeued.", messages.SUCCESS)


@admin.register(SummaryDeletion)
class SummaryDeletionAdmin(TenantScopedAdminMixin, LearnerColumnsMixin, admin.ModelAdmin):
    """Deleting a row here restores the summary; consumption was never deleted."""

    list_display = ("learner", "collection_id", "batch_id", "tenant", "deleted_by", "deleted_at")
    search_fields = ("user_id", "collection_id")
    readonly_fields = ("learner", "user_id", "tenant", "collection_id", "batch_id", "deleted_by", "deleted_at")

    def has_add_permission(self, request):
        return False
