"""The content catalogue: courses → modules → lesson placements → lessons (with media)."""

import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from lms.validators import validate_content_link


class ContentStatus(models.TextChoices):
    UNPUBLISHED = "unpublished", "Unpublished"
    PUBLISHED = "published", "Published"
    ARCHIVED = "archived", "Archived"


# The statuses content is written with and shown to authors: archiving is its own action.
LIVE_STATUSES = (ContentStatus.UNPUBLISHED, ContentStatus.PUBLISHED)
LIVE_STATUS_CHOICES = [(status.value, status.label) for status in LIVE_STATUSES]


class CertificateTerm(models.TextChoices):
    NA = "NA", "No certificate"
    COMPLETE_ALL = "COMPLETE_ALL", "Complete all lessons"
    PASS_ALL = "PASS_ALL", "Pass all marked lessons"


class AttemptsGrade(models.TextChoices):
    HIGHEST = "highest", "Highest attempt"
    AVERAGE = "average", "Average of attempts"
    FIRST_ATTEMPT = "first_attempt", "First attempt"
    LAST_ATTEMPT = "last_attempt", "Last attempt"


class AuthoredModel(models.Model):
    """Who and when, always set by the server from the caller's token."""

    created_by = models.UUIDField(null=True, blank=True)
    updated_by = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


def course_image_path(instance, filename):
    # The client's filename never reaches storage; the extension is set from the verified format.
    return f"courses/{instance.tenant_id}/{uuid.uuid4().hex}{_ext(filename)}"


def module_image_path(instance, filename):
    return f"modules/{instance.tenant_id}/{uuid.uuid4().hex}{_ext(filename)}"


def lesson_image_path(instance, filename):
    return f"lessons/{instance.tenant_id}/{uuid.uuid4().hex}{_ext(filename)}"


def _ext(filename: str) -> str:
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return f".{suffix}" if suffix in {"jpg", "jpeg", "png", "webp", "gif"} else ""


class Category(AuthoredModel):
    """A tenant's catalogue category (DECISIONS §11): courses and lessons carry any number of them."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey("lms.Tenant", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=255)
    slug = models.SlugField(max_length=255)
    # PROTECT: a category with children cannot vanish from under them.
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    ordering = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["ordering", "name"]
        verbose_name_plural = "categories"
        constraints = [models.UniqueConstraint(fields=["tenant", "slug"], name="category_unique_tenant_slug")]

    def __str__(self) -> str:
        return self.name


class Course(AuthoredModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey("lms.Tenant", on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=255)
    short_description = models.CharField(max_length=500)
    description = models.TextField()
    image = models.ImageField(upload_to=course_image_path, blank=True, max_length=255)
    featured = models.BooleanField(default=False)
    free = models.BooleanField(default=True)
    certificate_term = models.CharField(max_length=20, choices=CertificateTerm.choices, default=CertificateTerm.NA)
    certificate_id = models.CharField(max_length=255, blank=True, default="")
    start_datetime = models.DateTimeField()
    end_datetime = models.DateTimeField()
    admin_approval = models.BooleanField(default=False)
    auto_enroll = models.BooleanField(default=False)
    status = models.CharField(max_length=20, choices=ContentStatus.choices, default=ContentStatus.UNPUBLISHED)
    params = models.JSONField(default=dict, blank=True)
    # Bumped by every content write through the services; keys caches of rendered course trees.
    content_version = models.PositiveIntegerField(default=1)
    # The status the course had when it was archived, so that restoring it is an exact undo.
    status_before_archive = models.CharField(max_length=20, choices=ContentStatus.choices, blank=True, default="")
    # The category links are the truth (filters and the in-use check read them); `category_ids` is
    # their copy in the row, written with them in the same transaction by the one service
    # (courses.services.categories_assign), so every read of the row shows them at no extra query.
    categories = models.ManyToManyField(Category, blank=True, related_name="courses")
    category_ids = models.JSONField(default=list, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "status", "-created_at"], name="course_tenant_status")]
        constraints = [
            models.CheckConstraint(condition=Q(start_datetime__lt=F("end_datetime")), name="course_start_before_end"),
        ]

    def __str__(self) -> str:
        return self.title


class Module(AuthoredModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey("lms.Tenant", on_delete=models.PROTECT, related_name="+")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="modules")
    title = models.CharField(max_length=255)
    description = models.TextField()
    image = models.ImageField(upload_to=module_image_path, blank=True, max_length=255)
    status = models.CharField(max_length=20, choices=ContentStatus.choices, default=ContentStatus.UNPUBLISHED)
    ordering = models.PositiveIntegerField(default=0)
    status_before_archive = models.CharField(max_length=20, choices=ContentStatus.choices, blank=True, default="")
    # Set when the module was archived together with its course, so restoring the course brings
    # back exactly these modules and not the ones archived on their own before.
    archived_with_course = models.BooleanField(default=False)

    class Meta:
        ordering = ["ordering", "created_at"]
        indexes = [models.Index(fields=["course", "ordering"], name="module_course_ordering")]

    def __str__(self) -> str:
        return self.title


class Media(models.Model):
    """A lesson's media content (`mediaContent`), addressed by `mediaId`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey("lms.Tenant", on_delete=models.PROTECT, related_name="+")
    format = models.CharField(max_length=50, blank=True, default="")
    sub_format = models.CharField(max_length=100, blank=True, default="")
    source = models.CharField(max_length=2000, blank=True, default="")
    url = models.CharField(max_length=2000, blank=True, default="")
    params = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "media"

    def __str__(self) -> str:
        return f"{self.format}: {self.source or self.url}"

    def clean(self):
        # Players open `url`, and `source` when `url` is empty: both must be links a browser
        # cannot run. Checked here rather than as field validators so no migration repeats it.
        errors = {}
        for name in ("url", "source"):
            try:
                validate_content_link(getattr(self, name))
            except ValidationError as error:
                errors[name] = error.messages
        if errors:
            raise ValidationError(errors)


class Lesson(AuthoredModel):
    """Reusable content: stands alone in the library and/or is placed in course modules."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey("lms.Tenant", on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=255)
    alias = models.CharField(max_length=255, blank=True, default="")
    description = models.TextField()
    content = models.TextField(blank=True, default="")
    short_desc = models.CharField(max_length=500, blank=True, default="")
    image = models.ImageField(upload_to=lesson_image_path, blank=True, max_length=255)
    status = models.CharField(max_length=20, choices=ContentStatus.choices, default=ContentStatus.UNPUBLISHED)
    format = models.CharField(max_length=50, blank=True, default="")
    duration = models.PositiveIntegerField(null=True, blank=True, help_text="Seconds.")
    start_date = models.DateTimeField(null=True, blank=True)
    end_date = models.DateTimeField(null=True, blank=True)
    storage = models.CharField(max_length=50, blank=True, default="")
    free_lesson = models.BooleanField(default=False)
    no_of_attempts = models.PositiveIntegerField(default=0, help_text="0 means unlimited.")
    attempts_grade = models.CharField(max_length=20, choices=AttemptsGrade.choices, default=AttemptsGrade.HIGHEST)
    consider_marks = models.BooleanField(default=False)
    media = models.ForeignKey(Media, null=True, blank=True, on_delete=models.SET_NULL, related_name="lessons")
    eligibility_criteria = models.JSONField(default=list, blank=True, help_text="Lesson ids to complete first.")
    ideal_time = models.PositiveIntegerField(null=True, blank=True, help_text="Minutes.")
    resume = models.BooleanField(default=False)
    total_marks = models.PositiveIntegerField(null=True, blank=True)
    passing_marks = models.PositiveIntegerField(null=True, blank=True)
    in_lib = models.BooleanField(default=False)
    params = models.JSONField(default=dict, blank=True)
    status_before_archive = models.CharField(max_length=20, choices=ContentStatus.choices, blank=True, default="")
    categories = models.ManyToManyField(Category, blank=True, related_name="lessons")
    category_ids = models.JSONField(default=list, blank=True, editable=False)  # as on Course

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "status", "-created_at"], name="lesson_tenant_status")]
        constraints = [
            models.CheckConstraint(
                condition=Q(start_date__isnull=True) | Q(end_date__isnull=True) | Q(start_date__lt=F("end_date")),
                name="lesson_start_before_end",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class LessonPlacement(models.Model):
    """A lesson placed in a course's module; progress is always tracked per course."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey("lms.Tenant", on_delete=models.PROTECT, related_name="+")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="placements")
    module = models.ForeignKey(Module, on_delete=models.PROTECT, related_name="placements")
    lesson = models.ForeignKey(Lesson, on_delete=models.PROTECT, related_name="placements")
    ordering = models.PositiveIntegerField(default=0)
    archived = models.BooleanField(default=False)
    archived_with_course = models.BooleanField(default=False)
    created_by = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["ordering", "created_at"]
        constraints = [models.UniqueConstraint(fields=["module", "lesson"], name="placement_unique_module_lesson")]
        indexes = [
            models.Index(fields=["module", "ordering"], name="placement_module_ordering"),
            models.Index(fields=["course", "archived"], name="placement_course_archived"),
        ]

    def __str__(self) -> str:
        return f"{self.lesson} in {self.module}"
