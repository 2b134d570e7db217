"""Input and output shapes of the enrollment endpoints (snake_case, as the spec names them)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from lms.api.fields import (
    AwareDateTimeField,
    JSONObjectField,
    TextField,
    UUIDStringField,
    absolute_url,
)


class EnrollmentCreateInputSerializer(serializers.Serializer):
    course_id = UUIDStringField()
    user_id = UUIDStringField(
        required=False,
        help_text="The user to enroll. A learner may leave it out to enroll themselves; admins and instructors must send it.",
    )
    unlimited_plan = serializers.BooleanField(default=False, help_text="Staff only: no end_time, never expires.")
    before_expiry_mail = serializers.BooleanField(
        default=False, help_text="Staff only: record that the reminder before expiry was already sent."
    )
    after_expiry_mail = serializers.BooleanField(
        default=False, help_text="Staff only: record that the notice after expiry was already sent."
    )
    params = JSONObjectField(default=dict)


class EnrollmentUpdateInputSerializer(serializers.Serializer):
    """Every field is optional; only the fields sent change (staff only)."""

    end_time = AwareDateTimeField(required=False, allow_null=True)
    unlimited_plan = serializers.BooleanField(required=False)
    before_expiry_mail = serializers.BooleanField(required=False)
    after_expiry_mail = serializers.BooleanField(required=False)
    params = JSONObjectField(required=False)
    active = serializers.BooleanField(required=False, help_text="true approves (activates), false deactivates.")
    course_id = UUIDStringField(required=False, help_text="Immutable: accepted only when unchanged.")
    user_id = UUIDStringField(required=False, help_text="Immutable: accepted only when unchanged.")
    state = serializers.IntegerField(
        required=False, help_text="Follows course progress: accepted only when unchanged."
    )
    enrolled_by = UUIDStringField(
        required=False, help_text="Ignored: the enrolling user never changes (identity comes from the token)."
    )


class EnrollmentListQuerySerializer(serializers.Serializer):
    user_id = serializers.UUIDField(required=False)
    course_id = serializers.UUIDField(required=False)


class EnrollmentDeleteQuerySerializer(serializers.Serializer):
    hard = serializers.BooleanField(
        default=False, help_text="Staff only: erase an enrollment that never started instead of deactivating it."
    )


class EnrollmentOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    course_id = serializers.UUIDField()
    user_id = serializers.UUIDField()
    tenantId = serializers.UUIDField(source="tenant_id")  # noqa: N815 (the documented wire name)
    batch_id = serializers.UUIDField()
    enrolled_on_time = serializers.DateTimeField()
    end_time = serializers.DateTimeField(allow_null=True)
    state = serializers.IntegerField(help_text="0 not started, 1 in progress, 2 completed; follows course progress.")
    active = serializers.BooleanField(help_text="false while waiting for approval or after deactivation.")
    unlimited_plan = serializers.BooleanField()
    before_expiry_mail = serializers.BooleanField()
    after_expiry_mail = serializers.BooleanField()
    params = JSONObjectField()
    enrolled_by = serializers.UUIDField(allow_null=True)
    enrolled_at = serializers.DateTimeField()
    updated_by = serializers.UUIDField(allow_null=True)
    updated_at = serializers.DateTimeField(allow_null=True)


class EnrollmentWithCourseOutputSerializer(EnrollmentOutputSerializer):
    title = TextField(source="course.title")
    shortDescription = TextField(source="course.short_description")  # noqa: N815
    description = TextField(source="course.description")
    image = serializers.SerializerMethodField()

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_image(self, enrollment) -> str | None:
        image = enrollment.course.image
        return absolute_url(self.context.get("request"), image.url if image else None)


class EnrollmentListOutputSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Total across all pages.")
    enrollments = EnrollmentWithCourseOutputSerializer(many=True)


class EnrollmentConflictSerializer(serializers.Serializer):
    """`result` of a 409: the enrollment the request collided with."""

    id = serializers.UUIDField(help_text="The existing enrollment's id.")


class EnrollmentHasProgressSerializer(EnrollmentConflictSerializer):
    state = serializers.IntegerField(help_text="The enrollment's progress state (1 or 2).")
