"""The course authors' admin: courses with their modules inline, modules with their lesson
placements inline, lessons with their media.

Every save, inline row and action goes through `courses.services`, exactly as the API does, so
ordering, archiving, content versions and the tracking recount cannot drift between the two.
The forms only validate (including the same image checks as the API); they never save rows.
Deleting is archiving here too: the delete buttons are replaced by archive/restore actions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import model_ngettext
from django.contrib.admin.widgets import AutocompleteSelectMultiple
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import JsonResponse
from django.urls import path, reverse
from django.utils.html import format_html

from courses import services
from courses.images import ImageRejected, verify_image
from courses.models import (
    LIVE_STATUS_CHOICES,
    LIVE_STATUSES,
    Category,
    ContentStatus,
    Course,
    Lesson,
    LessonPlacement,
    Media,
    Module,
)
from lms.admin import ReadOnlyAdminMixin
from lms.admin_tenancy import TenantScopedAdminMixin, TenantScopedMixin, scope_to_tenants
from lms.api.errors import ApiError
from lms.api.identity import staff_user_uuid
from lms.validators import validate_content_link

AUDIT_FIELDS = ("created_by", "created_at", "updated_by", "updated_at")


def _actor(request):
    return staff_user_uuid(request.user.pk)


def _thumbnail(field_file, size: int = 80) -> str:
    if not field_file:
        return "—"
    return format_html(
        '<img src="{}" alt="" style="max-height:{}px;max-width:{}px;border-radius:4px">',
        field_file.url,
        size,
        size * 2,
    )


def _adopt(target, saved) -> None:
    """Makes the admin's in-memory object the row the service saved (the service chose the id)."""
    target.pk = saved.pk
    target._state.adding = False
    target._state.db = saved._state.db
    target.refresh_from_db()


def _count_of(model, fk: str, **conditions) -> Coalesce:
    counted = (
        model.objects.filter(**{fk: OuterRef("pk")}, **conditions)
        .order_by()
        .values(fk)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


class ArchivedFilter(admin.SimpleListFilter):
    title = "archived"
    parameter_name = "archived"

    def lookups(self, request, model_admin):
        return [("yes", "Archived"), ("no", "Not archived")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(status=ContentStatus.ARCHIVED)
        if self.value() == "no":
            return queryset.exclude(status=ContentStatus.ARCHIVED)
        return queryset


class VerifiedImageForm(forms.ModelForm):
    """Runs the API's image checks (format whitelist, size and pixel caps) on admin uploads."""

    image_fields: tuple[str, ...] = ("image",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.verified_images: dict = {}

    def clean(self):
        cleaned = super().clean()
        for name in self.image_fields:
            value = cleaned.get(name)
            if isinstance(value, UploadedFile):
                try:
                    self.verified_images[name] = verify_image(value)
                except ImageRejected as rejected:
                    self.add_error(name, str(rejected))
        return cleaned

    def image_change(self, name: str = "image"):
        """UNCHANGED, None (cleared) or the VerifiedImage to store."""
        if name not in self.changed_data:
            return services.UNCHANGED
        return self.verified_images.get(name)

    def changes(self, editable: frozenset) -> dict:
        return {name: self.cleaned_data[name] for name in self.changed_data if name in editable}


def _run_action(modeladmin, request, queryset, verb: str, write) -> None:
    done = 0
    for obj in queryset:
        try:
            write(obj)
            done += 1
        except ApiError as error:
            modeladmin.message_user(request, f"{obj}: {error.errmsg}", messages.ERROR)
    if done:
        modeladmin.message_user(request, f"{verb} {done} {model_ngettext(queryset, done)}.", messages.SUCCESS)


@dataclass(frozen=True)
class StatusServices:
    """The services behind a content admin's status actions. Each is called with the object under
    the keyword `content` names (course=, module=, lesson=) and `updated_by=`; `set_status` also
    with `status=`."""

    content: str
    set_status: Callable
    archive: Callable
    restore: Callable


class ImagePreviewMixin:
    """The content's image as a thumbnail in the list and as a preview on its page."""

    @admin.display(description="Image")
    def thumbnail(self, obj):
        return _thumbnail(obj.image, 32)

    @admin.display(description="Preview")
    def image_preview(self, obj):
        return _thumbnail(obj.image, 160) if obj else "—"


class StatusActionsMixin:
    """publish / unpublish / archive / restore, each through the content's own service (`status_services`)."""

    actions = ["publish", "unpublish", "archive", "restore"]
    status_services: StatusServices

    def _run_service(self, request, queryset, verb: str, service: Callable, **arguments) -> None:
        actor, content = _actor(request), self.status_services.content
        _run_action(
            self, request, queryset, verb, lambda obj: service(**{content: obj}, updated_by=actor, **arguments)
        )

    @admin.action(description="Publish selected")
    def publish(self, request, queryset):
        self._run_service(
            request, queryset, "Published", self.status_services.set_status, status=ContentStatus.PUBLISHED
        )

    @admin.action(description="Unpublish selected")
    def unpublish(self, request, queryset):
        self._run_service(
            request, queryset, "Unpublished", self.status_services.set_status, status=ContentStatus.UNPUBLISHED
        )

    @admin.action(description="Archive selected")
    def archive(self, request, queryset):
        self._run_service(request, queryset, "Archived", self.status_services.archive)

    # Django fills in the model's plural name when it lists the actions.
    @admin.action(description="Restore selected archived %(verbose_name_plural)s")
    def restore(self, request, queryset):
        self._run_service(
            request, queryset.filter(status=ContentStatus.ARCHIVED), "Restored", self.status_services.restore
        )

    def has_delete_permission(self, request, obj=None):
        # Content is archived, never deleted (DECISIONS §3); use the archive action.
        return False


def _module_save(form: VerifiedImageForm, *, course: Course | None, actor, move: bool = True) -> Module:
    """Creates (in `course`) or updates the form's module through the services, from the module
    page and from the course page's inline alike; with `move` false an update leaves the position
    to `_modules_reorder`. Returns the saved Module."""
    image = form.image_change()
    if not form.instance._state.adding:
        changes = form.changes(services.MODULE_EDITABLE)
        if not move:
            changes.pop("ordering", None)
        return services.module_update(module=form.instance, updated_by=actor, changes=changes, image=image)
    data = form.cleaned_data
    return services.module_create(
        course=course,
        created_by=actor,
        title=data["title"],
        description=data["description"],
        status=data.get("status") or ContentStatus.UNPUBLISHED,
        ordering=data.get("ordering") or None,
        image=None if image is services.UNCHANGED else image,
    )


def _modules_reorder(forms_of_existing: list, *, actor) -> None:
    """Puts the course page's modules at the positions the author typed, whichever rows changed.

    Each move shifts its siblings, so moving only the renumbered rows, in any one order, can leave
    some where they were not typed. Moving every typed row in ascending target order, each only
    when it is not there yet, ends in the typed order: the rows already placed sit before the next
    target and no later move shifts them.
    """
    if not any("ordering" in form.changed_data for form in forms_of_existing):
        return
    typed = sorted(
        (form for form in forms_of_existing if form.cleaned_data.get("ordering")),
        key=lambda form: form.cleaned_data["ordering"],
    )
    for form in typed:
        current = Module.objects.filter(pk=form.instance.pk).values("ordering", "status").get()
        target = form.cleaned_data["ordering"]
        if current["status"] != ContentStatus.ARCHIVED and current["ordering"] != target:
            services.module_update(module=form.instance, updated_by=actor, changes={"ordering": target})


# --- courses ----------------------------------------------------------------------------------


class CourseAdminForm(VerifiedImageForm):
    class Meta:
        model = Course
        fields = (
            "tenant", "title", "short_description", "description", "image", "featured", "free", "certificate_term",
            "certificate_id", "start_datetime", "end_datetime", "admin_approval", "auto_enroll", "status", "params",
            "categories",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding:
            return
        self.fields["status"].choices = LIVE_STATUS_CHOICES

    def clean(self):
        return _clean_categories(self, super().clean())


class ModuleInlineForm(VerifiedImageForm):
    class Meta:
        model = Module
        fields = ("ordering", "title", "description", "status", "image")
        # Narrow inputs, so that the row fits a 1366 px screen beside the admin's navigation.
        widgets = {
            "ordering": forms.NumberInput(attrs={"class": "vSmallField", "min": 1}),
            "title": forms.TextInput(attrs={"size": 28}),
            "description": forms.Textarea(attrs={"rows": 2, "cols": 28}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ordering"].required = False
        self.fields["ordering"].label = "Position"
        self.fields["ordering"].help_text = "1 is first; empty appends."
        if self.instance._state.adding:
            self.fields["status"].choices = LIVE_STATUS_CHOICES


class ModuleInlineFormSet(forms.BaseInlineFormSet):
    """Offers the next free position in the course's first new row, rather than the model's 0;
    rows added in the browser stay empty and are appended in their order."""

    def get_form_kwargs(self, index):
        kwargs = super().get_form_kwargs(index)
        if index is not None and index >= self.initial_form_count():
            kwargs["initial"] = {"ordering": self.next_ordering + index - self.initial_form_count()}
        elif index is None:
            # The template of rows added in the browser ("Add another Module"): empty, not the model's 0.
            kwargs["initial"] = {"ordering": None}
        return kwargs

    @property
    def next_ordering(self) -> int:
        if self.instance.pk is None:
            return 1
        # The formset's own rows (fetched once for its forms): no query of its own.
        live = [module.ordering for module in self.get_queryset() if module.status != ContentStatus.ARCHIVED]
        return max(live, default=0) + 1


class ModuleInline(TenantScopedMixin, admin.TabularInline):
    model = Module
    form = ModuleInlineForm
    formset = ModuleInlineFormSet
    fields = ("ordering", "title", "description", "status", "image", "image_preview", "lesson_count")
    readonly_fields = ("image_preview", "lesson_count")
    extra = 1
    can_delete = False
    show_change_link = True
    ordering = ("ordering", "created_at")
    classes = ("lms-module-inline",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            live_lessons=_count_of(LessonPlacement, "module", archived=False)
        )

    @admin.display(description="Preview")
    def image_preview(self, obj):
        return _thumbnail(obj.image, 40) if obj and obj.pk else "—"

    @admin.display(description="Lessons")
    def lesson_count(self, obj):
        return getattr(obj, "live_lessons", 0) if obj and obj.pk else 0

    def has_add_permission(self, request, obj=None):
        return obj is None or obj.status != ContentStatus.ARCHIVED


class AdminStyles:
    """The few rules that make the authoring pages fit a 1366 px screen (static/lms/admin.css)."""

    css = {"all": ("lms/admin.css",)}


class CoursePageAssets(AdminStyles):
    """Plus dragging the module rows to reorder them (static/lms/module_order.js)."""

    js = ("lms/module_order.js",)


@admin.register(Course)
class CourseAdmin(TenantScopedAdminMixin, StatusActionsMixin, ImagePreviewMixin, admin.ModelAdmin):
    form = CourseAdminForm
    inlines = [ModuleInline]
    # The tenant column shows only to users of several tenants (TenantScopedAdminMixin); the
    # enrollment app adds its count (enrollment/admin_courses.py), since courses may not import it.
    # Featured and free are filters rather than columns, and the run dates share one narrow
    # column: at 1366 px the table then fits beside the navigation and the filters.
    list_display = ("title", "thumbnail", "tenant", "status", "module_count", "lesson_count", "category_count", "schedule")
    list_filter = ("status", ArchivedFilter, "featured", "free", "certificate_term", "categories", "tenant")
    filter_horizontal = ("categories",)
    list_select_related = ("tenant",)
    Media = CoursePageAssets
    search_fields = ("title", "short_description")
    date_hierarchy = "start_datetime"
    actions = [*StatusActionsMixin.actions, "duplicate"]
    status_services = StatusServices(
        content="course",
        set_status=services.course_set_status,
        archive=services.course_archive,
        restore=services.course_restore,
    )
    readonly_fields = ("image_preview", "content_version", "status_before_archive", *AUDIT_FIELDS)
    fieldsets = (
        ("Content", {"fields": ("tenant", "title", "short_description", "description", "image", "image_preview", "params",
                                "categories")}),
        ("Schedule", {"fields": ("start_datetime", "end_datetime")}),
        ("Enrollment rules", {"fields": ("free", "admin_approval", "auto_enroll", "featured")}),
        ("Certificate", {"fields": ("certificate_term", "certificate_id")}),
        ("Status", {"fields": ("status", "status_before_archive", "content_version", *AUDIT_FIELDS)}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            live_modules=_count_of(Module, "course", status__in=LIVE_STATUSES),
            live_lessons=_count_of(LessonPlacement, "course", archived=False),
            category_links=_count_of(Course.categories.through, "course"),
        )

    def get_readonly_fields(self, request, obj=None):
        # A course never changes tenant; its rows below would be left behind.
        return (*self.readonly_fields, "tenant") if obj is not None else self.readonly_fields

    @admin.display(description="Modules", ordering="live_modules")
    def module_count(self, obj):
        return obj.live_modules

    @admin.display(description="Lessons", ordering="live_lessons")
    def lesson_count(self, obj):
        return obj.live_lessons

    @admin.display(description="Categories", ordering="category_links")
    def category_count(self, obj):
        return obj.category_links

    @admin.display(description="Runs", ordering="start_datetime")
    def schedule(self, obj):
        # Dates only, one above the other: the full datetimes took two wide columns.
        return format_html("{}<br>{}", f"{obj.start_datetime:%Y-%m-%d}", f"{obj.end_datetime:%Y-%m-%d}")

    def save_model(self, request, obj, form, change):
        image = form.image_change()
        if change:
            saved = services.course_update(
                course=obj, updated_by=_actor(request), changes=form.changes(services.COURSE_EDITABLE), image=image,
                category_ids=_changed_category_ids(form),
            )
        else:
            fields = {name: form.cleaned_data[name] for name in services.COURSE_EDITABLE if name in form.cleaned_data}
            saved = services.course_create(
                tenant_id=form.cleaned_data["tenant"].pk,
                created_by=_actor(request),
                image=None if image is services.UNCHANGED else image,
                category_ids=_changed_category_ids(form),
                **fields,
            )
        _adopt(obj, saved)

    def save_formset(self, request, form, formset, change):
        if formset.model is not Module:
            return super().save_formset(request, form, formset, change)
        course, actor = formset.instance, _actor(request)
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        existing = [module_form for module_form in formset.forms if not module_form.instance._state.adding]
        for module_form in existing:
            if module_form.has_changed():
                module = _module_save(module_form, course=course, actor=actor, move=False)
                formset.changed_objects.append((module, module_form.changed_data))
        _modules_reorder(existing, actor=actor)
        # New rows last, so that a typed position counts in the order just set.
        for module_form in formset.forms:
            if module_form.instance._state.adding and module_form.has_changed():
                formset.new_objects.append(_module_save(module_form, course=course, actor=actor))

    @admin.action(description="Archive selected (with their modules and placements)")
    def archive(self, request, queryset):
        super().archive(request, queryset)

    @admin.action(description="Duplicate selected (modules and placements copied, unpublished)")
    def duplicate(self, request, queryset):
        _run_action(
            self, request, queryset, "Duplicated",
            lambda course: services.course_duplicate(course=course, created_by=_actor(request)),
        )


# --- modules ----------------------------------------------------------------------------------


class ModuleAdminForm(VerifiedImageForm):
    class Meta:
        model = Module
        fields = ("course", "title", "description", "image", "status", "ordering")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "ordering" in self.fields:
            self.fields["ordering"].required = False
            self.fields["ordering"].help_text = "Position in the course; empty appends."
        if self.instance._state.adding:
            self.fields["status"].choices = LIVE_STATUS_CHOICES
            # Narrows the admin's choices (already the user's tenants' courses), never widens them.
            self.fields["course"].queryset = self.fields["course"].queryset.exclude(status=ContentStatus.ARCHIVED)


class PlacementInlineForm(forms.ModelForm):
    class Meta:
        model = LessonPlacement
        fields = ("lesson", "ordering", "archived")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ordering"].required = False
        self.fields["ordering"].help_text = "Empty appends."
        if self.instance._state.adding:
            # A new row shows empty, as the help says, not the model's 0 (seen in the browser suite).
            self.initial["ordering"] = None

    def clean_lesson(self):
        lesson = self.cleaned_data["lesson"]
        if not self.instance._state.adding and lesson.pk != self.instance.lesson_id:
            raise forms.ValidationError("To place another lesson, add a new row and archive this one.")
        return lesson


class PlacementInlineFormSet(forms.BaseInlineFormSet):
    """Reads the lessons offered once for all rows; Django would read them again for every row."""

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        field = form.fields["lesson"]
        if not hasattr(self, "_lesson_choices"):
            self._lesson_choices = list(field.choices)
        field.choices = self._lesson_choices
        return form


class PlacementInline(TenantScopedMixin, admin.TabularInline):
    model = LessonPlacement
    form = PlacementInlineForm
    formset = PlacementInlineFormSet
    fk_name = "module"
    fields = ("lesson", "lesson_status", "ordering", "archived")
    readonly_fields = ("lesson_status",)
    extra = 1
    can_delete = False
    ordering = ("archived", "ordering", "created_at")

    def get_queryset(self, request):
        # Module too: each row's title ("lesson in module") names both.
        return super().get_queryset(request).select_related("lesson", "module")

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        lessons = Lesson.objects.exclude(status=ContentStatus.ARCHIVED)
        if obj is not None:
            # Only the module's tenant's lessons may be placed in it.
            lessons = lessons.filter(tenant_id=obj.tenant_id)
        formset.form.base_fields["lesson"].queryset = lessons.order_by("title")
        return formset

    @admin.display(description="Lesson status")
    def lesson_status(self, obj):
        return obj.lesson.get_status_display() if obj and obj.pk else "—"

    def has_add_permission(self, request, obj=None):
        # Placements are added once the module exists (its tenant limits the lessons offered).
        return obj is not None and obj.status != ContentStatus.ARCHIVED


@admin.register(Module)
class ModuleAdmin(TenantScopedAdminMixin, StatusActionsMixin, ImagePreviewMixin, admin.ModelAdmin):
    form = ModuleAdminForm
    Media = AdminStyles
    inlines = [PlacementInline]
    # No thumbnail column (module images are rare; the page previews it): the list fits 1366 px.
    list_display = ("title", "course", "position", "status", "lesson_count")
    list_filter = ("course", "status", ArchivedFilter, "course__tenant")
    list_select_related = ("course",)
    search_fields = ("title", "course__title")
    ordering = ("course__title", "ordering", "created_at")
    actions = [*StatusActionsMixin.actions, "move_up", "move_down"]
    status_services = StatusServices(
        content="module",
        set_status=services.module_set_status,
        archive=services.module_archive,
        restore=services.module_restore,
    )
    readonly_fields = ("image_preview", "status_before_archive", "archived_with_course", *AUDIT_FIELDS)
    fieldsets = (
        (None, {"fields": ("course", "title", "description", "image", "image_preview")}),
        ("Position and status", {"fields": ("ordering", "status", "status_before_archive", "archived_with_course")}),
        ("Audit", {"fields": AUDIT_FIELDS, "classes": ("collapse",)}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            live_lessons=_count_of(LessonPlacement, "module", archived=False)
        )

    def get_readonly_fields(self, request, obj=None):
        # A module never moves to another course (its placements and the tracks depend on it).
        return (*self.readonly_fields, "course", "tenant") if obj is not None else (*self.readonly_fields, "tenant")

    @admin.display(description="Lessons", ordering="live_lessons")
    def lesson_count(self, obj):
        return obj.live_lessons

    @admin.display(description="Position", ordering="ordering")
    def position(self, obj):
        return obj.ordering

    def _move(self, request, queryset, step: int, verb: str) -> None:
        # Top first when moving up and bottom first when moving down, so that adjacent selected
        # modules move together instead of swapping with each other.
        live = queryset.exclude(status=ContentStatus.ARCHIVED).order_by(
            "course_id", "ordering" if step < 0 else "-ordering"
        )
        actor = _actor(request)
        _run_action(
            self, request, live, verb,
            lambda module: services.module_update(
                module=module, updated_by=actor, changes={"ordering": max(module.ordering + step, 1)}
            ),
        )

    @admin.action(description="Move selected up one place in their course", permissions=["change"])
    def move_up(self, request, queryset):
        self._move(request, queryset, -1, "Moved up")

    @admin.action(description="Move selected down one place in their course", permissions=["change"])
    def move_down(self, request, queryset):
        self._move(request, queryset, +1, "Moved down")

    def save_model(self, request, obj, form, change):
        # The course is read-only once the module exists; it is in the form only when adding.
        _adopt(obj, _module_save(form, course=form.cleaned_data.get("course"), actor=_actor(request)))

    def save_formset(self, request, form, formset, change):
        if formset.model is not LessonPlacement:
            return super().save_formset(request, form, formset, change)
        module, actor = formset.instance, _actor(request)
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for placement_form in formset.forms:
            if not placement_form.has_changed():
                continue
            data = placement_form.cleaned_data
            if placement_form.instance._state.adding:
                placement = services.placement_create(
                    course=module.course,
                    module=module,
                    lesson=data["lesson"],
                    created_by=actor,
                    ordering=data.get("ordering") or None,
                )
                if data.get("archived"):
                    placement = services.placement_archive(placement=placement)
                formset.new_objects.append(placement)
            else:
                changed = placement_form.changed_data
                placement = services.placement_update(
                    placement=placement_form.instance,
                    ordering=data.get("ordering") if "ordering" in changed else None,
                    archived=data.get("archived") if "archived" in changed else None,
                )
                formset.changed_objects.append((placement, changed))



# --- lessons ----------------------------------------------------------------------------------


# The lesson and its media both have a `format` and `params`; the page showed each label twice.
# The media fields say "media"/"player", and every field says what to enter.
LESSON_LABELS = {
    "format": "Lesson format",
    "params": "Lesson params",
}
LESSON_HELP = {
    "title": "What learners see in the course outline.",
    "alias": "Optional short name used by client apps (e.g. a slug); learners do not see it.",
    "short_desc": "One line for lists and search results.",
    "description": "What the lesson covers; shown on the lesson page.",
    "content": "Optional text or HTML shown with the media (e.g. a transcript or instructions).",
    "format": "The kind of lesson, for lists and filters: video, document, quiz, … (often the media's format).",
    "duration": "Length of the media in seconds (e.g. 600 for ten minutes); empty if unknown.",
    "ideal_time": "Minutes a learner should plan for the lesson.",
    "start_date": "Optional: the lesson opens at this time.",
    "end_date": "Optional: the lesson closes at this time (after the start).",
    "no_of_attempts": "How many attempts a learner has; 0 means unlimited.",
    "attempts_grade": "Which attempt's score counts when there are several.",
    "consider_marks": "Tick when the lesson is passed by score (then set total and passing marks).",
    "total_marks": "The highest possible score.",
    "passing_marks": "The score needed to pass; at most the total marks.",
    "resume": "Tick to let learners continue an unfinished attempt instead of starting a new one.",
    "free_lesson": "Tick to let anyone open it without enrolling.",
    "in_lib": "Tick to list the lesson in the library, outside any course.",
    "storage": "Optional storage hint for client apps (e.g. s3); leave empty normally.",
    "params": "Extra settings for client apps, as a JSON object; {} when there are none.",
}


class PrerequisiteWidget(AutocompleteSelectMultiple):
    """Django's lesson autocomplete, asking the lesson admin's prerequisite search (lessons of the
    same courses, by title) rather than the generic one."""

    def __init__(self, *args, url: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.url = url

    def get_url(self):
        return self.url


class LessonAdminForm(VerifiedImageForm):
    media_format = forms.CharField(
        label="Media format", max_length=50, required=False, help_text="How the player opens it: video, document, quiz, …"
    )
    media_sub_format = forms.CharField(
        label="Media sub-format", max_length=100, required=False,
        help_text="The player's variant, e.g. video.youtube.url, video.mp4, document.pdf.",
    )
    media_source = forms.CharField(
        label="Media source", max_length=2000, required=False, validators=[validate_content_link],
        widget=forms.TextInput(attrs={"size": 60}),
        help_text="Where the media lives: an https:// link or a path on this site.",
    )
    media_url = forms.CharField(
        label="Media URL", max_length=2000, required=False, validators=[validate_content_link],
        widget=forms.TextInput(attrs={"size": 60}),
        help_text="The address the player opens, when it differs from the source; leave empty to open the source.",
    )
    media_params = forms.JSONField(
        label="Player params", required=False, initial=dict,
        help_text='Settings passed to the player, as a JSON object, e.g. {"autoplay": true}; {} when there are none.',
    )
    # Stored as `eligibility_criteria`, a list of lesson ids, exactly as the API stores it.
    prerequisites = forms.ModelMultipleChoiceField(
        queryset=Lesson.objects.none(), required=False,
        help_text="Lessons a learner must complete first. Type part of a title to find them.",
    )

    MEDIA_FIELDS = {
        "media_format": "format",
        "media_sub_format": "sub_format",
        "media_source": "source",
        "media_url": "url",
        "media_params": "params",
    }

    class Meta:
        model = Lesson
        fields = ("tenant", "image", *sorted(services.LESSON_EDITABLE - {"eligibility_criteria"}), "categories")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        media = self.instance.media if self.instance.media_id else None
        if media is not None:
            for form_name, media_name in self.MEDIA_FIELDS.items():
                self.initial[form_name] = getattr(media, media_name)
        self.initial.setdefault("prerequisites", list(self.instance.eligibility_criteria or []))
        for name, label in LESSON_LABELS.items():
            if name in self.fields:
                self.fields[name].label = label
        for name, help_text in LESSON_HELP.items():
            if name in self.fields:
                self.fields[name].help_text = help_text
        if self.instance._state.adding:
            self.fields["status"].choices = LIVE_STATUS_CHOICES

    def clean(self):
        cleaned = _clean_categories(self, super().clean())
        chosen = cleaned.get("prerequisites")
        if chosen is not None:
            # Kept ids stay in their stored order; new ones follow in title order.
            stored = [str(lesson_id) for lesson_id in self.instance.eligibility_criteria or []]
            chosen_ids = [str(lesson.pk) for lesson in chosen]
            ordered = [lesson_id for lesson_id in stored if lesson_id in chosen_ids]
            ordered += [lesson_id for lesson_id in chosen_ids if lesson_id not in ordered]
            cleaned["eligibility_criteria"] = ordered
            self.instance.eligibility_criteria = ordered
        return cleaned

    def _post_clean(self):
        super()._post_clean()
        if self.errors:
            return
        # The same rules the services enforce, reported on the form instead of failing the save.
        try:
            services.lesson_check_rules(lesson=self.instance, check_eligibility="prerequisites" in self.changed_data)
        except ApiError as error:
            self.add_error(None, error.errmsg)

    def changes(self, editable: frozenset) -> dict:
        changes = super().changes(editable)
        if "prerequisites" in self.changed_data:
            changes["eligibility_criteria"] = self.cleaned_data["eligibility_criteria"]
        return changes

    def media_content(self) -> dict | None:
        """The media fields that changed, as the services' `media_content`; None when none did."""
        changed = [name for name in self.MEDIA_FIELDS if name in self.changed_data]
        if not changed:
            return None
        content = {self.MEDIA_FIELDS[name]: self.cleaned_data[name] for name in changed}
        if "params" in content and content["params"] is None:
            content["params"] = {}
        return content


class LessonPlacementsInline(TenantScopedMixin, admin.TabularInline):
    """Where the lesson is placed; placements are edited on the module page."""

    model = LessonPlacement
    fk_name = "lesson"
    fields = ("course", "module", "ordering", "archived")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "Placements (edit them on the module page)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("course", "module", "lesson")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Lesson)
class LessonAdmin(TenantScopedAdminMixin, StatusActionsMixin, ImagePreviewMixin, admin.ModelAdmin):
    form = LessonAdminForm
    Media = AdminStyles
    inlines = [LessonPlacementsInline]
    # The media column names the player's kind only (its link is on the page), and no creation
    # time: the list fits 1366 px.
    list_display = ("title", "format", "status", "in_lib", "placement_count", "media_summary", "tenant")
    list_filter = ("status", ArchivedFilter, "format", "in_lib", "free_lesson", "categories", "tenant")
    filter_horizontal = ("categories",)
    list_select_related = ("tenant", "media")
    search_fields = ("title", "alias", "short_desc")
    status_services = StatusServices(
        content="lesson",
        set_status=services.lesson_set_status,
        archive=services.lesson_archive,
        restore=services.lesson_restore,
    )
    readonly_fields = ("image_preview", "media_id_display", "status_before_archive", *AUDIT_FIELDS)
    fieldsets = (
        ("Content", {"fields": ("tenant", "title", "alias", "short_desc", "description", "content", "image", "image_preview",
                                "categories")}),
        (
            "Media content",
            {"fields": ("format", "media_id_display", "media_format", "media_sub_format", "media_source", "media_url", "media_params")},
        ),
        ("Schedule", {"fields": ("start_date", "end_date", "duration", "ideal_time")}),
        (
            "Attempts and grading",
            {"fields": ("no_of_attempts", "attempts_grade", "consider_marks", "total_marks", "passing_marks", "resume", "prerequisites")},
        ),
        ("Availability", {"fields": ("status", "status_before_archive", "free_lesson", "in_lib", "storage", "params")}),
        ("Audit", {"fields": AUDIT_FIELDS, "classes": ("collapse",)}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            live_placements=_count_of(LessonPlacement, "lesson", archived=False)
        )

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "tenant") if obj is not None else self.readonly_fields

    PREREQUISITE_PAGE_SIZE = 20

    def get_urls(self):
        search = self.admin_site.admin_view(self.prerequisite_search)
        return [
            path("prerequisites/", search, name="courses_lesson_prerequisites"),
            path("<path:object_id>/prerequisites/", search, name="courses_lesson_prerequisites"),
            *super().get_urls(),
        ]

    def prerequisite_candidates(self, request, lesson: Lesson | None):
        """Lessons that may be required before `lesson`: those placed in the same courses (every
        lesson of the user's tenants while it is new or placed nowhere), never itself or archived."""
        candidates = scope_to_tenants(Lesson.objects.all(), request, "tenant").exclude(status=ContentStatus.ARCHIVED)
        if lesson is None:
            return candidates
        candidates = candidates.filter(tenant_id=lesson.tenant_id).exclude(pk=lesson.pk)
        courses = LessonPlacement.objects.filter(lesson_id=lesson.pk, archived=False).values("course_id")
        if LessonPlacement.objects.filter(lesson_id=lesson.pk, archived=False).exists():
            candidates = candidates.filter(
                pk__in=LessonPlacement.objects.filter(course_id__in=courses, archived=False).values("lesson_id")
            )
        return candidates

    def prerequisite_search(self, request, object_id=None):
        """The autocomplete's JSON (select2's format, like Django's own autocomplete view)."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        lesson = self.get_object(request, object_id) if object_id else None
        term = request.GET.get("term", "").strip()
        try:
            page = max(int(request.GET.get("page", "1")), 1)
        except ValueError:
            page = 1
        found = self.prerequisite_candidates(request, lesson)
        if term:
            found = found.filter(Q(title__icontains=term) | Q(alias__icontains=term))
        start = (page - 1) * self.PREREQUISITE_PAGE_SIZE
        rows = list(found.order_by("title", "pk").values_list("pk", "title")[start : start + self.PREREQUISITE_PAGE_SIZE + 1])
        return JsonResponse({
            "results": [{"id": str(pk), "text": title} for pk, title in rows[: self.PREREQUISITE_PAGE_SIZE]],
            "pagination": {"more": len(rows) > self.PREREQUISITE_PAGE_SIZE},
        })

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if "prerequisites" in form.base_fields:
            url_arguments = [str(obj.pk)] if obj is not None else []
            url = reverse(f"{self.admin_site.name}:courses_lesson_prerequisites", args=url_arguments)
            form.base_fields["prerequisites"] = forms.ModelMultipleChoiceField(
                # Choices are checked against the same rule as the search; stored ids that no
                # longer qualify stay selectable so that saving the page never drops them silently.
                queryset=self.prerequisite_candidates(request, obj)
                | scope_to_tenants(Lesson.objects.all(), request, "tenant").filter(
                    pk__in=list(obj.eligibility_criteria or []) if obj else []
                ),
                required=False,
                label="Prerequisites",
                help_text=LessonAdminForm.base_fields["prerequisites"].help_text,
                widget=PrerequisiteWidget(LessonPlacement._meta.get_field("lesson"), self.admin_site, url=url),
            )
        return form

    @admin.display(description="Placements", ordering="live_placements")
    def placement_count(self, obj):
        return obj.live_placements

    @admin.display(description="Media")
    def media_summary(self, obj):
        if not obj.media_id:
            return "—"
        return format_html('<span title="{}">{}</span>', obj.media.source or obj.media.url, obj.media.sub_format or obj.media.format or "—")

    @admin.display(description="Media id (mediaId)")
    def media_id_display(self, obj):
        return str(obj.media_id) if obj and obj.media_id else "—"

    def save_model(self, request, obj, form, change):
        image = form.image_change()
        if change:
            placed = services.lesson_update(
                lesson=obj,
                updated_by=_actor(request),
                changes=form.changes(services.LESSON_EDITABLE),
                image=image,
                media_content=form.media_content(),
                category_ids=_changed_category_ids(form),
            )
        else:
            attributes = {
                name: form.cleaned_data[name]
                for name in services.LESSON_EDITABLE - {"title", "description"}
                if name in form.cleaned_data
            }
            placed = services.lesson_create(
                tenant_id=form.cleaned_data["tenant"].pk,
                created_by=_actor(request),
                title=form.cleaned_data["title"],
                description=form.cleaned_data["description"],
                image=None if image is services.UNCHANGED else image,
                media_content=form.media_content(),
                category_ids=_changed_category_ids(form),
                **attributes,
            )
        _adopt(obj, placed.lesson)


@admin.register(Media)
class MediaAdmin(TenantScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only browser: media records are written with their lesson (Lesson page, or mediaContent)."""

    list_display = ("id", "format", "sub_format", "source", "tenant", "created_at")
    list_filter = ("format",)
    list_select_related = ("tenant",)
    search_fields = ("source", "url")


# --- categories (DECISIONS §11) ---------------------------------------------------------------


def _clean_categories(form, cleaned: dict) -> dict:
    """A course or lesson takes categories of its own tenant only, as the API insists."""
    tenant = cleaned.get("tenant") or getattr(form.instance, "tenant", None)
    categories = cleaned.get("categories")
    if tenant is not None and categories:
        foreign = [category.name for category in categories if category.tenant_id != tenant.pk]
        if foreign:
            form.add_error("categories", f"Not categories of {tenant}: {', '.join(foreign)}.")
    return cleaned


def _changed_category_ids(form) -> list | None:
    """The chosen categories for the service when the chooser changed (None leaves them alone).
    The service writes the links and the row's copy together; the form's own many-to-many save
    that follows then sets the same links again and changes nothing."""
    if "categories" not in form.changed_data:
        return None
    return [category.pk for category in form.cleaned_data.get("categories") or []]


@admin.register(Category)
class CategoryAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    # The tenant column and filter show only to users of several tenants (TenantScopedAdminMixin).
    list_display = ("name", "slug", "parent", "ordering", "course_count", "lesson_count", "tenant")
    list_filter = ("tenant",)
    list_select_related = ("tenant", "parent")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    fields = ("tenant", "name", "slug", "parent", "ordering")
    ordering = ("tenant", "ordering", "name")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            linked_courses=_count_of(Course.categories.through, "category"),
            linked_lessons=_count_of(Lesson.categories.through, "category"),
        )

    @admin.display(description="Courses", ordering="linked_courses")
    def course_count(self, obj):
        return obj.linked_courses

    @admin.display(description="Lessons", ordering="linked_lessons")
    def lesson_count(self, obj):
        return obj.linked_lessons

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            if change:
                changes = {
                    "parent_id" if name == "parent" else name: (data[name].pk if name == "parent" and data[name] else data[name])
                    for name in form.changed_data if name in ("name", "slug", "parent", "ordering")
                }
                saved = services.category_update(category=obj, updated_by=_actor(request), changes=changes)
            else:
                saved = services.category_create(
                    tenant_id=data["tenant"].pk, created_by=_actor(request), name=data["name"], slug=data["slug"],
                    parent_id=data["parent"].pk if data.get("parent") else None, ordering=data.get("ordering"),
                )
        except ApiError as error:
            self.message_user(request, error.errmsg, level=messages.ERROR)
            return
        _adopt(obj, saved)

    def delete_model(self, request, obj):
        try:
            services.category_delete(category=obj)
        except ApiError as error:
            self.message_user(request, error.errmsg, level=messages.ERROR)
