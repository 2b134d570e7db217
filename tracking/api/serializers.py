"""Input and output shapes of lesson and course tracking (snake_case, nested lessons camelCase)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from courses.api.serializers import LessonOutputSerializer
from lms.api.fields import AwareDateTimeField, TextField, UUIDStringField, absolute_url
from tracking.models import AttemptStatus, CourseTrackStatus

# The columns are 32-bit integers on every database: larger values are bad input, not a 500.
MAX_INT = 2**31 - 1


def _count_field(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=0, max_value=MAX_INT, **kwargs)


# --- lesson tracking ---------------------------------------------------------------------------


class LessonTrackingStartInputSerializer(serializers.Serializer):
    """Attempt number, status, scores, times and updatedBy are the server's to set; sent values are ignored."""

    lesson_id = UUIDStringField()
    course_id = UUIDStringField(
        required=False, allow_null=True,
        help_text="Required when the lesson is placed in several courses; else its one course.",
    )
    user_id = UUIDStringField(
        required=False, allow_null=True, help_text="Staff may start for another user; defaults to the caller."
    )
    action = serializers.ChoiceField(
        choices=[("start", "start"), ("resume", "resume")], required=False, allow_null=True,
        error_messages={"invalid_choice": '"{input}" is not an action; use start or resume, or leave it out.'},
        help_text=(
            "Left out: resume an unfinished attempt when the lesson has `resume`, else start one. `start`: open a new "
            "attempt even when one could be resumed (prerequisites and the limit still apply). `resume`: only "
            "resume (409 ERR_NOTHING_TO_RESUME when there is nothing to)."
        ),
    )


class LessonTrackingUpdateInputSerializer(serializers.Serializer):
    """Any subset; timeend, attempt and updatedBy are server-set and ignored."""

    status = serializers.ChoiceField(choices=AttemptStatus.choices, required=False)
    score = serializers.FloatField(min_value=0, max_value=1e9, required=False)
    total_content = _count_field(required=False)
    current_position = _count_field(required=False)
    time_spent = _count_field(required=False, help_text="Seconds: the client's running total, never lower.")


class LessonTrackingQuerySerializer(serializers.Serializer):
    lesson_id = serializers.UUIDField(required=False)
    user_id = serializers.UUIDField(required=False)
    course_id = serializers.UUIDField(required=False)
    status = serializers.ChoiceField(choices=AttemptStatus.choices, required=False)


class LessonAttemptSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    lesson_id = serializers.UUIDField()
    course_id = serializers.UUIDField()
    batch_id = serializers.UUIDField()
    user_id = serializers.UUIDField()
    attempt = serializers.IntegerField()
    timestart = serializers.DateTimeField()
    timeend = serializers.DateTimeField(allow_null=True)
    score = serializers.FloatField()
    status = serializers.ChoiceField(choices=AttemptStatus.choices)
    total_content = serializers.IntegerField()
    current_position = serializers.IntegerField()
    time_spent = serializers.IntegerField()
    updatedBy = serializers.UUIDField(source="updated_by", allow_null=True)  # noqa: N815
    updatedAt = serializers.DateTimeField(source="updated_at", allow_null=True)  # noqa: N815


class LessonAttemptListItemSerializer(LessonAttemptSerializer):
    # Documents the nested lesson: the catalogue's lesson shape, rendered by courses.api.rendering.
    lesson = LessonOutputSerializer()


# A `list` action is documented as an array unless told otherwise; the result is one object.
@extend_schema_serializer(many=False)
class LessonTrackingListSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Total across all pages.")
    tracking = LessonAttemptListItemSerializer(many=True)


# --- course tracking ---------------------------------------------------------------------------


class CourseTrackingUpdateInputSerializer(serializers.Serializer):
    """Staff override; course_id and user_id cannot be changed and are ignored."""

    status = serializers.ChoiceField(choices=CourseTrackStatus.choices, required=False)
    completed_lessons = _count_field(required=False)
    no_of_lessons = _count_field(required=False)
    timestart = AwareDateTimeField(required=False)
    timeend = AwareDateTimeField(required=False, allow_null=True)
    last_accessed_date = AwareDateTimeField(required=False, allow_null=True)
    cert_gen_date = AwareDateTimeField(required=False, allow_null=True)


class CourseTrackingQuerySerializer(serializers.Serializer):
    course_id = serializers.UUIDField(required=False)
    user_id = serializers.UUIDField(required=False)
    status = serializers.ChoiceField(choices=CourseTrackStatus.choices, required=False)


class CourseTrackSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    course_id = serializers.UUIDField()
    user_id = serializers.UUIDField()
    batch_id = serializers.UUIDField()
    timestart = serializers.DateTimeField()
    timeend = serializers.DateTimeField(allow_null=True)
    no_of_lessons = serializers.IntegerField()
    completed_lessons = serializers.IntegerField()
    status = serializers.ChoiceField(choices=CourseTrackStatus.choices)
    last_accessed_date = serializers.DateTimeField(allow_null=True)
    cert_gen_date = serializers.DateTimeField(allow_null=True)


class TrackedCourseSerializer(serializers.Serializer):
    """The course summary of a track; totals come from `context["totals"]` (one query per page), and
    the image URL is made absolute on `context["request"]`'s host."""

    courseId = serializers.UUIDField(source="course.id")  # noqa: N815
    title = TextField(source="course.title")
    shortDescription = TextField(source="course.short_description")  # noqa: N815
    description = TextField(source="course.description")
    image = serializers.SerializerMethodField()
    total_modules = serializers.SerializerMethodField()
    total_lessons = serializers.SerializerMethodField()
    total_duration = serializers.SerializerMethodField(help_text="Seconds.")
    certificate_eligible = serializers.SerializerMethodField(help_text="A certificate was issued (cert_gen_date set).")

    def _totals(self, track):
        return self.context["totals"].get(track.course_id)

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_image(self, track) -> str | None:
        image = track.course.image
        return absolute_url(self.context.get("request"), image.url if image else None)

    def get_total_modules(self, track) -> int:
        totals = self._totals(track)
        return totals.total_modules if totals else 0

    def get_total_lessons(self, track) -> int:
        totals = self._totals(track)
        return totals.total_lessons if totals else 0

    def get_total_duration(self, track) -> int:
        totals = self._totals(track)
        return totals.total_duration if totals else 0

    def get_certificate_eligible(self, track) -> bool:
        return track.cert_gen_date is not None


class CourseTrackListItemSerializer(CourseTrackSerializer):
    course = TrackedCourseSerializer(source="*")


# A `list` action is documented as an array unless told otherwise; the result is one object.
@extend_schema_serializer(many=False)
class CourseTrackingListSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Total across all pages.")
    tracking = CourseTrackListItemSerializer(many=True)
