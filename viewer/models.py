import uuid

from django.db import models


class Program(models.Model):
    """A program: an ordered list of courses enrolled together with `batchId = program id`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey("lms.Tenant", on_delete=models.PROTECT, related_name="+")
    identifier = models.CharField(max_length=255)
    name = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "identifier"], name="program_unique_identifier")]

    def __str__(self) -> str:
        return self.name


class ProgramCourse(models.Model):
    """One child course of a program, in order."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="children")
    course = models.ForeignKey("courses.Course", on_delete=models.PROTECT, related_name="+")
    ordering = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["ordering", "id"]
        constraints = [models.UniqueConstraint(fields=["program", "course"], name="program_course_unique")]

    def __str__(self) -> str:
        return f"{self.ordering}. {self.course_id}"


class OutboxEvent(models.Model):
    """The program-enrolment job's queue: rows written in the program enrolment's transaction and
    consumed by the `viewer.program_enrolment_run` task (or `manage.py run_enrolment_updater`),
    which claim pending rows with SKIP LOCKED. Events for other systems are `lms.events`' outbox.
    """

    class Kind(models.TextChoices):
        PROGRAM_ENROLMENT = "program_enrolment", "Program enrolment"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey("lms.Tenant", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=50, choices=Kind.choices)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["status", "created_at"], name="outbox_pending")]

    def __str__(self) -> str:
        return f"{self.kind} {self.id} ({self.status})"


class SummaryDeletion(models.Model):
    """A deleted enrolment summary: hidden from summary reads; consumption rows stay."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user_id = models.UUIDField()
    tenant = models.ForeignKey("lms.Tenant", on_delete=models.PROTECT, related_name="+")
    collection_id = models.UUIDField()
    batch_id = models.UUIDField()
    deleted_by = models.UUIDField()
    deleted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user_id", "tenant", "collection_id", "batch_id"], name="summary_deletion_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} · {self.collection_id} ({self.batch_id})"
