"""The learner directory in the admin, with "Import learners from CSV": upload or paste
`user_id,name,email`, see what will change (new, changed, unchanged, invalid lines and why),
confirm; the import is one transaction in one tenant (DECISIONS §10)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from lms import directory_import
from lms.admin_tenancy import TenantScopedAdminMixin, scope_to_tenants
from lms.admin_uploads import uploaded_text
from lms.models import LearnerDirectoryEntry, Tenant
from lms.services import learner_directory_import

UPLOAD_MAX_BYTES = 2_000_000
OUTCOME_LABELS = {
    directory_import.NEW: "New",
    directory_import.CHANGED: "Changed",
    directory_import.UNCHANGED: "Unchanged",
    directory_import.INVALID: "Invalid",
}


def _tenants_of(request):
    return scope_to_tenants(Tenant.objects.order_by("name"), request, "pk")


class DirectoryImportForm(forms.Form):
    tenant = forms.ModelChoiceField(queryset=Tenant.objects.none(), label="Tenant", empty_label="Choose a tenant")
    text = forms.CharField(
        required=False, label="CSV",
        widget=forms.Textarea(attrs={"rows": 10, "cols": 80, "placeholder": "user_id,name,email\n"
                                     "3fa85f64-5717-4562-b3fc-2c963f66afa6,Alice Martin,alice@example.org"}),
        help_text="Paste rows of user_id,name,email (a header row is optional). An empty name or email clears it.",
    )
    upload = forms.FileField(required=False, label="Or upload a CSV file", help_text="UTF-8, the same columns.")

    def __init__(self, *args, request, **kwargs):
        super().__init__(*args, **kwargs)
        tenants = _tenants_of(request)
        self.fields["tenant"].queryset = tenants
        if len(tenants) == 1:
            # One tenant: nothing to choose.
            self.fields["tenant"].initial = tenants[0].pk
            self.fields["tenant"].widget = forms.HiddenInput()

    def clean(self):
        cleaned = super().clean()
        text = cleaned.get("text") or ""
        upload = cleaned.get("upload")
        if upload is not None:
            content = uploaded_text(
                upload, max_bytes=UPLOAD_MAX_BYTES, too_large="The file is larger than 2 MB; split it into several imports."
            )
            text = f"{text.rstrip()}\n{content}" if text.strip() else content
        lines = directory_import.directory_csv_lines(text)
        if not lines:
            raise forms.ValidationError("Paste at least one row of user_id,name,email, or upload a CSV file.")
        if len(lines) > directory_import.IMPORT_MAX_LINES:
            raise forms.ValidationError(
                f"{len(lines)} rows: at most {directory_import.IMPORT_MAX_LINES} per import; split the file."
            )
        cleaned["csv_text"], cleaned["lines"] = text, lines
        return cleaned


@admin.register(LearnerDirectoryEntry)
class LearnerDirectoryAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "email", "user_id", "tenant", "updated_at")
    list_filter = ("tenant",)
    list_select_related = ("tenant",)
    search_fields = ("name", "email", "=user_id")
    search_help_text = "Search by name, email or the full user id."
    fields = ("tenant", "user_id", "name", "email", "updated_at")
    readonly_fields = ("updated_at",)
    change_list_template = "admin/lms/learnerdirectoryentry/change_list.html"

    def get_readonly_fields(self, request, obj=None):
        # A row is a user in a tenant: edit the name and email, never whose they are.
        return ("tenant", "user_id", "updated_at") if obj is not None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        # The import's write path, so a hand edit and a CSV row are stored alike.
        learner_directory_import(tenant_id=obj.tenant_id, rows=[(obj.user_id, obj.name, obj.email)])
        saved = LearnerDirectoryEntry.objects.get(tenant_id=obj.tenant_id, user_id=obj.user_id)
        obj.pk, obj.updated_at = saved.pk, saved.updated_at

    def get_urls(self):
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name="lms_learnerdirectoryentry_import"),
            *super().get_urls(),
        ]

    def import_view(self, request):
        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied
        if not _tenants_of(request).exists():
            raise PermissionDenied("You are a member of no tenant.")
        context = {
            **self.admin_site.each_context(request),
            "title": "Import learners from CSV",
            "opts": self.model._meta,
        }
        template = "admin/lms/learnerdirectoryentry/import.html"
        if request.method != "POST":
            context["form"] = DirectoryImportForm(request=request)
            return TemplateResponse(request, template, context)
        form = DirectoryImportForm(request.POST, request.FILES, request=request)
        context["form"] = form
        if not form.is_valid():
            return TemplateResponse(request, template, context)
        tenant = form.cleaned_data["tenant"]
        with transaction.atomic():
            lines = directory_import.directory_import_preview(tenant_id=tenant.pk, lines=form.cleaned_data["lines"])
            if "_confirm" in request.POST:
                rows = [(line.user_id, line.name, line.email) for line in lines
                        if line.outcome in (directory_import.NEW, directory_import.CHANGED)]
                learner_directory_import(tenant_id=tenant.pk, rows=rows)
        counts = {outcome: sum(line.outcome == outcome for line in lines) for outcome in OUTCOME_LABELS}
        if "_confirm" in request.POST:
            self.message_user(
                request,
                f"Imported into {tenant.name}: {counts['new']} new, {counts['changed']} changed, "
                f"{counts['unchanged']} unchanged; {counts['invalid']} invalid line(s) skipped.",
                messages.SUCCESS,
            )
            return redirect(reverse("admin:lms_learnerdirectoryentry_changelist") + f"?tenant__id__exact={tenant.pk}")
        context.update(
            step="preview", tenant=tenant, counts=counts,
            lines=[(line, OUTCOME_LABELS[line.outcome]) for line in lines],
            to_import=counts["new"] + counts["changed"],
            confirm_form=DirectoryImportForm(initial={"tenant": tenant.pk, "text": form.cleaned_data["csv_text"]},
                                             request=request),
        )
        return TemplateResponse(request, template, context)
