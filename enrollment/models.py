import uuid

from django.db import models


class EnrollmentState(models.IntegerChoices):
    NOT_STARTED = 0, "Not started"
    IN_PROGRESS = 1, "In progress"
    COMPLETED = 2, "Completed"


class Enrollment(models.Model):
    """A user's enrolment in a course for one batch (the consumption context).

    `batch_id` is the course id for direct enrolments and the program id for program
    enrolments (DECISIONS §4, §6).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # user_id leads the hot indexes so the table can later be distributed by user.
    user_id = models.UUIDField()
    tenant = models.ForeignKey("lms.Tenant", on_delete=models.PROTECT, related_name="+")
    course = models.ForeignKey("courses.Course", on_delete=models.PROTECT, related_name="enrollments")
    batch_id = models.UUIDField()
    enrolled_on_time = models.DateTimeField()
    end_time = models.DateTimeField(null=True, blank=True)
    state = models.PositiveSmallIntegerField(choices=EnrollmentState.choices, default=EnrollmentState.NOT_STARTED)
    active = models.BooleanField(default=True)
    unlimited_plan = models.BooleanField(default=False)
    before_expiry_mail = models.BooleanField(default=False)
    after_expiry_mail = models.BooleanField(default=False)
    params = models.JSONField(default=dict, blank=True)
    enrolled_by = models.UUIDField(null=True, blank=True)
    enrolled_at = models.DateTimeField(auto_now_add=True)
    updated_by = models.UUIDField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-enrolled_at"]
        constraints = [
            models.UniqueConstraint(fields=["user_id", "tenant", "course", "batch_id"], name="enrollment_unique_context"),
            # The expiry reminders act on end_time: an unlimited plan must never have one, a limited plan always.
            models.CheckConstraint(
                condition=models.Q(unlimited_plan=True, end_time__isnull=True)
                | models.Q(unlimited_plan=False, end_time__isnull=False),
                name="enrollment_end_time_iff_limited",
                violation_error_message=(
                    "End time is empty exactly when the plan is unlimited: set an end time for a limited plan, "
                    "clear it for an unlimited one."
                ),
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "course", "-enrolled_at"], name="enrollment_course"),
            models.Index(fields=["end_time"], name="enrollment_end_time", condition=models.Q(end_time__isnull=False)),
            # The course report's learners (a course's own batch): an index-only read of the
            # course's range, where `enrollment_course` visits a heap page per enrollment.
            models.Index(fields=["tenant", "course", "batch_id", "user_id"], include=["active", "enrolled_on_time"],
                         name="enrollment_course_batch_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.course_id} ({self.batch_id})"
