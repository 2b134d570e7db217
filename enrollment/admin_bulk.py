"""Enrolling a class in the admin: paste or upload user ids or directory emails, see what will
happen line by line, confirm. The confirmation goes through `enrollments_bulk_create` (tracks,
counters and events as the API makes them), in one transaction per run."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from courses.models import ContentStatus, Course
from enrollment import selectors, services
from lms.admin_tenancy import scope_to_tenants
from lms.admin_uploads import uploaded_text
from lms.api.identity import staff_user_uuid

UPLOAD_MAX_BYTES = 1_000_000
OUTCOME_LABELS = {
    selectors.BULK_NEW: "Will be enrolled",
    selectors.BULK_EXISTING: "Already enrolled",
    selectors.BULK_DUPLICATE: "Repeated",
    selectors.BULK_UNKNOWN: "Unknown email",
    selectors.BULK_INVALID: "Invalid",
}
RESULT_LABELS = {**OUTCOME_LABELS, selectors.BULK_NEW: "Enrolled"}


def courses_for_staff(request):
    """The courses a staff user may enrol into: not archived, in their tenants."""
    courses = Course.objects.exclude(status=ContentStatus.ARCHIVED).select_related("tenant").order_by("title")
    return scope_to_tenants(courses, request, "tenant")


class CourseChoiceForm(forms.Form):
    course = forms.ModelChoiceField(queryset=Course.objects.none(), label="Course", empty_label="Choose a course")

    def __init__(self, *args, request, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["course"].queryset = courses_for_staff(request)


class BulkEnrolForm(forms.Form):
    entries = forms.CharField(
        required=False,
        label="Learners",
        widget=forms.Textarea(attrs={"rows": 10, "cols": 60, "placeholder": "3fa85f64-5717-4562-b3fc-2c963f66afa6\nalice@example.org"}),
        help_text="One learner per line: their user id, or their email as the learner directory knows it. "
        "Commas, semicolons and spaces separate entries too.",
    )
    upload = forms.FileField(
        required=False,
        label="Or upload a file",
        help_text="A .csv or .txt file (UTF-8), read like the box above; a learner directory export "
        "(user_id,name,email) works as it is.",
    )
    batch_id = forms.UUIDField(
        required=False, label="Batch", help_text="Leave empty to enrol in the course's own batch."
    )

    def clean(self):
        cleaned = super().clean()
        text = cleaned.get("entries") or ""
        upload = cleaned.get("upload")
        if upload is not None:
            text += "\n" + uploaded_text(
                upload, max_bytes=UPLOAD_MAX_BYTES, too_large="The file is larger than 1 MB; split it into several runs."
            )
        entries = selectors.bulk_entries(text)
        if not entries:
            raise forms.ValidationError("Enter at least one user id or email, or upload a file that holds some.")
        if len(entries) > services.BULK_ENROLLMENT_MAX:
            raise forms.ValidationError(
                f"{len(entries)} entries: at most {services.BULK_ENROLLMENT_MAX} per run; split the list."
            )
        cleaned["text"] = text.strip()
        cleaned["parsed"] = entries
        return cleaned


def _course_or_404(request, course_id) -> Course:
    course = courses_for_staff(request).filter(pk=course_id).first()
    if course is None:
        raise Http404("No course with that id that you may enrol into.")
    return course


def choose_course_view(model_admin, request):
    if not model_admin.has_add_permission(request):
        raise PermissionDenied
    form = CourseChoiceForm(request.GET or None, request=request)
    if request.GET and form.is_valid():
        return redirect(reverse("admin:enrollment_enrollment_enrol_class", args=[form.cleaned_data["course"].pk]))
    return TemplateResponse(request, "admin/enrollment/enrollment/enrol_class_choose.html", {
        **model_admin.admin_site.each_context(request),
        "title": "Enrol a class",
        "opts": model_admin.model._meta,
        "form": form,
    })


def enrol_class_view(model_admin, request, course_id):
    if not model_admin.has_add_permission(request):
        raise PermissionDenied
    course = _course_or_404(request, course_id)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"Enrol a class in “{course.title}”",
        "opts": model_admin.model._meta,
        "course": course,
        "enrollments_url": reverse("admin:enrollment_enrollment_changelist") + f"?course__id__exact={course.pk}",
    }
    if request.method != "POST":
        context["form"] = BulkEnrolForm()
        return TemplateResponse(request, "admin/enrollment/enrollment/enrol_class.html", context)
    form = BulkEnrolForm(request.POST, request.FILES)
    context["form"] = form
    if not form.is_valid():
        return TemplateResponse(request, "admin/enrollment/enrollment/enrol_class.html", context)
    batch_id = form.cleaned_data.get("batch_id")
    if "_confirm" not in request.POST:
        lines = selectors.enrollment_bulk_preview(course=course, batch_id=batch_id, entries=form.cleaned_data["parsed"])
        context.update(
            step="preview",
            lines=[(line, OUTCOME_LABELS[line.outcome]) for line in lines],
            counts=_counts(lines),
            confirm_form=BulkEnrolForm(initial={"entries": form.cleaned_data["text"], "batch_id": batch_id}),
            to_enrol=sum(line.outcome == selectors.BULK_NEW for line in lines),
        )
        return TemplateResponse(request, "admin/enrollment/enrollment/enrol_class.html", context)
    with transaction.atomic():
        lines = selectors.enrollment_bulk_preview(course=course, batch_id=batch_id, entries=form.cleaned_data["parsed"])
        wanted = [line.user_id for line in lines if line.outcome == selectors.BULK_NEW]
        result = services.enrollments_bulk_create(
            tenant_id=course.tenant_id, course=course, user_ids=wanted,
            enrolled_by=staff_user_uuid(request.user.pk), batch_id=batch_id,
        )
    created = {enrollment.user_id: enrollment.pk for enrollment in result.created}
    for line in lines:
        if line.outcome != selectors.BULK_NEW:
            continue
        if line.user_id in created:
            line.enrollment_id = created[line.user_id]
        else:  # enrolled by someone else between the preview and this run
            line.outcome, line.reason = selectors.BULK_EXISTING, "Already enrolled in this course and batch."
            line.enrollment_id = result.existing.get(line.user_id)
    model_admin.message_user(
        request, f"Enrolled {len(created)} learner(s) in “{course.title}”; the table says what happened to each line.",
        messages.SUCCESS,
    )
    context.update(step="result", lines=[(line, RESULT_LABELS[line.outcome]) for line in lines], counts=_counts(lines))
    return TemplateResponse(request, "admin/enrollment/enrollment/enrol_class.html", context)


def _counts(lines) -> dict[str, int]:
    counts = dict.fromkeys(OUTCOME_LABELS, 0)
    for line in lines:
        counts[line.outcome] += 1
    return counts
