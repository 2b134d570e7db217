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
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
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


def _module_save(form: VerifiedImageForm, *, course: Course | None, actor) -> Module:
    """Creates (in `course`) or updates the form's module through the services, from the module
    page and from the course page's inline alike. Returns the saved Module."""
    image = form.image_change()
    if not form.instance._state.adding:
        return services.module_update(
            module=form.instance, updated_by=actor, changes=form.changes(services.MODULE_EDITABLE), image=image
        )
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
        widgets = {"description": forms.Textarea(attrs={"rows": 2, "cols": 40})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ordering"].required = False
        self.fields["ordering"].help_text = "Empty appends."
        if self.instance._state.adding:
            self.fields["status"].choices = LIVE_STATUS_CHOICES


class ModuleInline(admin.TabularInline):
    model = Module
    form = ModuleInlineForm
    fields = ("ordering", "title", "description", "status", "image", "image_preview", "lesson_count")
    readonly_fields = ("image_preview", "lesson_count")
    extra = 1
    can_delete = False
    show_change_link = True
    ordering = ("ordering", "created_at")

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


@admin.register(Course)
class CourseAdmin(StatusActionsMixin, ImagePreviewMixin, admin.ModelAdmin):
    form = CourseAdminForm
    inlines = [ModuleInline]
    list_display = (
        "title", "thumbnail", "tenant", "status", "featured", "free", "module_count", "lesson_count",
        "category_count", "start_datetime", "end_datetime",
    )
    list_filter = ("status", ArchivedFilter, "featured", "free", "certificate_term", "categories", "tenant")
    filter_horizontal = ("categories",)
    list_select_related = ("tenant",)
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
        for module_form in formset.forms:
            if not module_form.has_changed():
                continue
            adding = module_form.instance._state.adding
            module = _module_save(module_form, course=course, actor=actor)
            if adding:
                formset.new_objects.append(module)
            else:
                formset.changed_objects.append((module, module_form.changed_data))

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
            self.fields["course"].queryset = Course.objects.exclude(status=ContentStatus.ARCHIVED)


class PlacementInlineForm(forms.ModelForm):
    class Meta:
        model = LessonPlacement
        fields = ("lesson", "ordering", "archived")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ordering"].required = False
        self.fields["ordering"].help_text = "Empty appends."

    def clean_lesson(self):
        lesson = self.cleaned_data["lesson"]
        if not self.instance._state.adding and lesson.pk != self.instance.lesson_id:
            raise forms.ValidationError("To place another lesson, add a new row and archive this one.")
        return lesson


class PlacementInline(admin.TabularInline):
    model = LessonPlacement
    form = PlacementInlineForm
    fk_name = "module"
    fields = ("lesson", "lesson_status", "ordering", "archived")
    readonly_fields = ("lesson_status",)
    extra = 1
    can_delete = False
    ordering = ("archived", "ordering", "created_at")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("lesson")

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
class ModuleAdmin(StatusActionsMixin, ImagePreviewMixin, admin.ModelAdmin):
    form = ModuleAdminForm
    inlines = [PlacementInline]
    list_display = ("title", "course", "ordering", "status", "lesson_count", "thumbnail")
    list_filter = ("status", ArchivedFilter, "course__tenant")
    list_select_related = ("course",)
    search_fields = ("title", "course__title")
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


class LessonAdminForm(VerifiedImageForm):
    media_format = forms.CharField(label="Format", max_length=50, required=False, help_text="e.g. video, pdf, quiz")
    media_sub_format = forms.CharField(label="Sub-format", max_length=100, required=False, help_text="e.g. video.youtube.url")
    media_source = forms.CharField(label="Source", max_length=2000, required=False, validators=[validate_content_link])
    media_url = forms.CharField(
        label="URL", max_length=2000, required=False, help_text="Empty: the source.", validators=[validate_content_link]
    )
    media_params = forms.JSONField(label="Params", required=False, initial=dict)

    MEDIA_FIELDS = {
        "media_format": "format",
        "media_sub_format": "sub_format",
        "media_source": "source",
        "media_url": "url",
        "media_params": "params",
    }

    class Meta:
        model = Lesson
        fields = ("tenant", "image", *sorted(services.LESSON_EDITABLE), "categories")

    def clean(self):
        return _clean_categories(self, super().clean())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        media = self.instance.media if self.instance.media_id else None
        if media is not None:
            for form_name, media_name in self.MEDIA_FIELDS.items():
                self.initial[form_name] = getattr(media, media_name)
        if self.instance._state.adding:
            self.fields["status"].choices = LIVE_STATUS_CHOICES

    def _post_clean(self):
        super()._post_clean()
        if self.errors:
            return
        # The same rules the services enforce, reported on the form instead of failing the save.
        try:
            services.lesson_check_rules(
                lesson=self.instance, check_eligibility="eligibility_criteria" in self.changed_data
            )
        except ApiError as error:
            self.add_error(None, error.errmsg)

    def media_content(self) -> dict | None:
        """The media fields that changed, as the services' `media_content`; None when none did."""
        changed = [name for name in self.MEDIA_FIELDS if name in self.changed_data]
        if not changed:
            return None
        content = {self.MEDIA_FIELDS[name]: self.cleaned_data[name] for name in changed}
        if "params" in content and content["params"] is None:
            content["params"] = {}
        return content


class LessonPlacementsInline(admin.TabularInline):
    """Where the lesson is placed; placements are edited on the module page."""

    model = LessonPlacement
    fk_name = "lesson"
    fields = ("course", "module", "ordering", "archived")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "Placements (edit them on the module page)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("course", "module")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Lesson)
class LessonAdmin(StatusActionsMixin, ImagePreviewMixin, admin.ModelAdmin):
    form = LessonAdminForm
    inlines = [LessonPlacementsInline]
    list_display = ("title", "format", "status", "in_lib", "placement_count", "media_summary", "tenant", "created_at")
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
            {"fields": ("no_of_attempts", "attempts_grade", "consider_marks", "total_marks", "passing_marks", "resume", "eligibility_criteria")},
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

    @admin.display(description="Placements", ordering="live_placements")
    def placement_count(self, obj):
        return obj.live_placements

    @admin.display(description="Media")
    def media_summary(self, obj):
        return str(obj.media) if obj.media_id else "—"

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
class MediaAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
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
class CategoryAdmin(admin.ModelAdmin):
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
