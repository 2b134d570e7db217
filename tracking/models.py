"""Learner activity facts (attempts, consumption, assessments) and the course tracks derived from them.

Hot tables carry `tenant` and `user_id`, with `user_id` leading their indexes, so they can
later be distributed by user (Citus) or partitioned. Their `tenant` foreign key has no index of
its own: every read names the user (or the tenant with a course or lesson, which have their own
indexes), and an index nobody reads would cost every insert on the hottest write paths. Nor is
it a database constraint: checking it takes a share lock on the one tenant row for every insert
of every learner, which turns that row into a contention point (multixacts) at the start of
term. The tenant id always comes from the resolved tenant, and deleting a tenant is still
refused by Django (PROTECT) while rows name it.
"""

import uuid

from django.db import models
from django.db.models import F, Q

from enrollment.models import EnrollmentState
from lms.ids import time_ordered_uuid


class CourseTrackStatus(models.TextChoices):
    NOT_STARTED = "not_started", "Not started"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"


# The enrollment's `state` (and the viewer's summary status 0/1/2) for each track status.
ENROLLMENT_STATE_FOR_TRACK = {
    CourseTrackStatus.NOT_STARTED: EnrollmentState.NOT_STARTED,
    CourseTrackStatus.IN_PROGRESS: EnrollmentState.IN_PROGRESS,
    CourseTrackStatus.COMPLETED: EnrollmentState.COMPLETED,
}


class AttemptStatus(models.TextChoices):
    STARTED = "started", "Started"
    INCOMPLETE = "incomplete", "Incomplete"
    COMPLETED = "completed", "Completed"


class ConsumptionStatus(models.IntegerChoices):
    NOT_STARTED = 0, "Not started"
    IN_PROGRESS = 1, "In progress"
    COMPLETED = 2, "Completed"


class CourseTrack(models.Model):
    """Progress of one enrollment. `completed_lessons` is always a recount of the facts."""

    id = models.UUIDField(primary_key=True, default=time_ordered_uuid, editable=False)
    user_id = models.UUIDField()
    tenant = models.ForeignKey("lms.Tenant", on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False)
    course = models.ForeignKey("courses.Course", on_delete=models.PROTECT, related_name="tracks")
    # An enrollment may be hard-deleted only before any activity; its empty track goes with it.
    enrollment = models.OneToOneField("enrollment.Enrollment", on_delete=models.CASCADE, related_name="track")
    batch_id = models.UUIDField()
    timestart = models.DateTimeField()
    timeend = models.DateTimeField(null=True, blank=True)
    no_of_lessons = models.PositiveIntegerField(default=0)
    completed_lessons = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=20, choices=CourseTrackStatus.choices, default=CourseTrackStatus.NOT_STARTED)
    last_accessed_date = models.DateTimeField(null=True, blank=True)
    cert_gen_date = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-timestart"]
        indexes = [
            models.Index(fields=["user_id", "tenant", "course", "batch_id"], name="track_user_context"),
            models.Index(fields=["tenant", "course", "status"], name="track_course_status"),
            # The course report's counts by status and completion week, index-only. Status is
            # indexed already, so the columns it carries make no update lose HOT that had it.
            models.Index(fields=["tenant", "course", "batch_id"], include=["status", "timeend"],
                         name="track_course_batch"),
        ]
        constraints = [
            # A course never shows more than 100 %: recounts count only required lessons.
            models.CheckConstraint(
                condition=Q(completed_lessons__lte=F("no_of_lessons")), name="track_completed_within_lessons"
            ),
            models.CheckConstraint(
                condition=Q(status__in=CourseTrackStatus.values), name="track_status_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} · {self.course_id}: {self.completed_lessons}/{self.no_of_lessons}"


class CourseTrackOverride(models.Model):
    """Audit of a staff override of a course track (who, when, old and new values)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey("lms.Tenant", on_delete=models.PROTECT, related_name="+")
    track = models.ForeignKey(CourseTrack, on_delete=models.PROTECT, related_name="overrides")
    changed_by = models.UUIDField()
    changed_at = models.DateTimeField(auto_now_add=True)
    old_values = models.JSONField(default=dict)
    new_values = models.JSONField(default=dict)

    class Meta:
        ordering = ["-changed_at"]

    def __str__(self) -> str:
        return f"Override of {self.track_id} by {self.changed_by} at {self.changed_at:%Y-%m-%d %H:%M}"


class LessonAttempt(models.Model):
    id = models.UUIDField(primary_key=True, default=time_ordered_uuid, editable=False)
    user_id = models.UUIDField()
    tenant = models.ForeignKey("lms.Tenant", on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False)
    lesson = models.ForeignKey("courses.Lesson", on_delete=models.PROTECT, related_name="attempts")
    course = models.ForeignKey("courses.Course", on_delete=models.PROTECT, related_name="attempts")
    batch_id = models.UUIDField()
    attempt = models.PositiveIntegerField()
    timestart = models.DateTimeField()
    timeend = models.DateTimeField(null=True, blank=True)
    score = models.FloatField(default=0)
    status = models.CharField(max_length=20, choices=AttemptStatus.choices, default=AttemptStatus.STARTED)
    total_content = models.PositiveIntegerField(default=0)
    current_position = models.PositiveIntegerField(default=0)
    time_spent = models.PositiveIntegerField(default=0, help_text="Seconds, the client's running total.")
    updated_by = models.UUIDField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-timestart"]
        constraints = [
            models.UniqueConstraint(
                fields=["user_id", "tenant", "lesson", "course", "attempt"], name="attempt_unique_number"
            ),
            models.CheckConstraint(condition=Q(attempt__gte=1), name="attempt_number_from_1"),
            models.CheckConstraint(condition=Q(status__in=AttemptStatus.values), name="attempt_status_known"),
        ]
        indexes = [
            models.Index(fields=["user_id", "tenant", "course", "lesson"], name="attempt_user_lesson"),
            models.Index(fields=["tenant", "lesson", "-timestart"], name="attempt_lesson"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} · lesson {self.lesson_id} attempt {self.attempt} ({self.status})"


class LessonAttemptCounter(models.Model):
    """The numbering of one user's attempts at a lesson in a course (the key of
    `attempt_unique_number`): the last number handed out and how many attempts were started.

    A start claims its number by upserting and incrementing this row in the same statement that
    inserts the attempt, with the lesson's attempt limit in the increment's condition: the row lock
    serialises concurrent starts of the same attempt sequence and nothing else, and the number is
    known without a separate lock or count. The attempts stay the facts: a missing or lagging row
    (attempts written before this table, or by a bulk load) is healed from them by the same upsert.

    Plain ids rather than foreign keys, as on the other hot tables: the attempts it numbers carry
    the constraints, and checking them again on every start would only take more share locks.
    """

    id = models.BigAutoField(primary_key=True)
    user_id = models.UUIDField()
    tenant = models.ForeignKey("lms.Tenant", on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False)
    lesson_id = models.UUIDField()
    course_id = models.UUIDField()
    last_attempt = models.PositiveIntegerField(default=0)
    attempts_started = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user_id", "tenant", "lesson_id", "course_id"], name="attempt_counter_unique_sequence"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} · lesson {self.lesson_id} in {self.course_id}: attempt {self.last_attempt} last"


class ContentConsumption(models.Model):
    """One row per (user, collection, batch, content): the fact of viewing and completing content.

    Both APIs write here: a completed lesson attempt and a viewer `end` or assessment submit
    both set status 2, so the LMS and the viewer show one truth (DECISIONS §6).
    """

    id = models.UUIDField(primary_key=True, default=time_ordered_uuid, editable=False)
    user_id = models.UUIDField()
    tenant = models.ForeignKey("lms.Tenant", on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False)
    collection_id = models.UUIDField()
    batch_id = models.UUIDField()
    content_id = models.UUIDField()
    status = models.PositiveSmallIntegerField(choices=ConsumptionStatus.choices, default=ConsumptionStatus.NOT_STARTED)
    progress = models.PositiveSmallIntegerField(default=0)
    view_count = models.PositiveIntegerField(default=0)
    first_accessed_at = models.DateTimeField()
    last_accessed_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # On PostgreSQL its index also carries `status` (INCLUDE, migration 0011), so the course
            # report counts each learner's rows from the index alone; kept out of the model state
            # since SQLite has no covering indexes (Django would create no constraint there).
            models.UniqueConstraint(
                fields=["user_id", "tenant", "collection_id", "batch_id", "content_id"], name="consumption_unique_context"
            ),
            models.CheckConstraint(condition=Q(progress__lte=100), name="consumption_progress_max_100"),
        ]
        indexes = [
            models.Index(fields=["user_id", "tenant", "content_id"], name="consumption_user_content"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} · {self.content_id} in {self.collection_id}/{self.batch_id}: {self.status}"


class AssessmentAttempt(models.Model):
    """One assessment attempt's scores; the best per content is reported (DECISIONS §6)."""

    id = models.UUIDField(primary_key=True, default=time_ordered_uuid, editable=False)
    user_id = models.UUIDField()
    tenant = models.ForeignKey("lms.Tenant", on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False)
    collection_id = models.UUIDField()
    batch_id = models.UUIDField()
    content_id = models.UUIDField()
    attempt_id = models.CharField(max_length=255)
    assessment_ts = models.DateTimeField()
    score = models.FloatField(default=0)
    max_score = models.FloatField(default=0)
    question_scores = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user_id", "tenant", "collection_id", "batch_id", "content_id", "attempt_id"],
                name="assessment_unique_attempt",
            ),
        ]
        indexes = [
            models.Index(fields=["user_id", "tenant", "content_id"], name="assessment_user_content"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} · {self.content_id} attempt {self.attempt_id}: {self.score}/{self.max_score}"


class IssuedCertificate(models.Model):
    """Issued exactly once per course track (unique), even under concurrent completions."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user_id = models.UUIDField()
    tenant = models.ForeignKey("lms.Tenant", on_delete=models.PROTECT, related_name="+")
    course = models.ForeignKey("courses.Course", on_delete=models.PROTECT, related_name="certificates")
    track = models.OneToOneField(CourseTrack, on_delete=models.PROTECT, related_name="certificate")
    name = models.CharField(max_length=255)
    template_id = models.CharField(max_length=255, blank=True, default="")
    token = models.CharField(max_length=64, unique=True)
    issued_at = models.DateTimeField()

    class Meta:
        ordering = ["-issued_at"]
        indexes = [models.Index(fields=["user_id", "tenant"], name="certificate_user")]

    def __str__(self) -> str:
        return f"{self.name} for {self.user_id}"
