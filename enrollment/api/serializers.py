"""Input and output shapes of the enrollment endpoints (snake_case, as the spec names them)."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from enrollment.services import BULK_ENROLLMENT_MAX
from lms.api.fields import (
    AwareDateTimeField,
    JSONObjectField,
    TextField,
    UUIDStringField,
    absolute_url,
    json_kind_phrase,
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


class EnrollmentBulkInputSerializer(serializers.Serializer):
    course_id = UUIDStringField()
    batch_id = UUIDStringField(
        required=False, help_text="The batch (consumption context); the course id when left out."
    )
    user_ids = serializers.ListField(
        child=serializers.JSONField(allow_null=True),
        allow_empty=False,
        help_text=(
            "The users to enroll, as UUID strings; at most 1,000 entries. An entry that is not a UUID string "
            "is reported in `invalid` and the others are enrolled; a user named twice counts once."
        ),
        error_messages={
            "empty": "Send at least one user id in user_ids.",
            "not_a_list": "Send user_ids as a JSON array of UUID strings; got {input_type}.",
        },
    )

    def validate_user_ids(self, value: list) -> list:
        if len(value) > BULK_ENROLLMENT_MAX:
            raise serializers.ValidationError(
                f"At most {BULK_ENROLLMENT_MAX} user ids per call (got {len(value)}); split the list into several calls."
            )
        return value


class EnrollmentBulkCreatedSerializer(serializers.Serializer):
    user_id = serializers.UUIDField()
    id = serializers.UUIDField(help_text="The enrollment's id.")


class EnrollmentBulkInvalidSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="The entry's position in user_ids, from 0.")
    value = serializers.JSONField(help_text="The entry as sent.")
    reason = serializers.CharField(help_text="Why it was not enrolled, as a sentence.")


class EnrollmentBulkOutputSerializer(serializers.Serializer):
    created = EnrollmentBulkCreatedSerializer(many=True, help_text="Enrolled now (a course track each), in list order.")
    existing = EnrollmentBulkCreatedSerializer(
        many=True, help_text="Already enrolled in this course and batch; `id` is that enrollment. Unchanged."
    )
    invalid = EnrollmentBulkInvalidSerializer(many=True, help_text="Entries that name no user; nothing was done for them.")


def bulk_user_ids(entries: list) -> tuple[list[uuid.UUID], list[dict]]:
    """The entries of a bulk call's `user_ids` that are user ids, and the others as `invalid` items."""
    user_ids, invalid = [], []
    for index, entry in enumerate(entries):
        if not isinstance(entry, str):
            invalid.append({"index": index, "value": entry, "reason": f"A user id is a UUID string; got {json_kind_phrase(entry)}."})
            continue
        try:
            user_ids.append(uuid.UUID(entry))
        except ValueError:
            invalid.append({"index": index, "value": entry, "reason": "Not a UUID; a user id looks like 3fa85f64-5717-4562-b3fc-2c963f66afa6."})
    return user_ids, invalid
