"""Input validation and documented output shapes of the catalogue API.

Input serializers validate and rename (camelCase on the wire, model names inside); they hold
no business rules, which live in `courses.services`. Output is built by `courses.api.rendering`
from `.values()` rows; the output serializers here describe that shape to the OpenAPI schema,
and a test keeps the two in step.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from courses.api.fields import (
    CatalogueInputSerializer,
    CategoryIdListField,
    ImageUploadField,
    LessonIdListField,
    choice_field,
    stored_integer_field,
)
from courses.models import LIVE_STATUS_CHOICES, AttemptsGrade, CertificateTerm
from courses.services import MAX_PREREQUISITES
from lms.api.fields import AwareDateTimeField, JSONObjectField, TextField, UUIDStringField
from lms.validators import validate_content_link

# --- input ------------------------------------------------------------------------------------


class CourseInputSerializer(CatalogueInputSerializer):
    title = TextField(max_length=255)
    shortDescription = TextField(source="short_description", max_length=500)
    description = TextField()
    image = ImageUploadField(help_text="JPEG, PNG, WebP or GIF, at most 5 MB. Empty removes the image.")
    featured = serializers.BooleanField(required=False)
    free = serializers.BooleanField(required=False)
    paid = serializers.BooleanField(required=False, help_text="The opposite of `free`; either may be sent.")
    certificate_term = choice_field(CertificateTerm.choices, required=False)
    certificate_id = TextField(max_length=255, required=False, allow_blank=True)
    startDatetime = AwareDateTimeField(source="start_datetime")
    endDatetime = AwareDateTimeField(source="end_datetime")
    adminApproval = serializers.BooleanField(source="admin_approval", required=False)
    autoEnroll = serializers.BooleanField(source="auto_enroll", required=False)
    status = choice_field(LIVE_STATUS_CHOICES, required=False, help_text="DELETE archives.")
    params = JSONObjectField(required=False)
    categoryIds = CategoryIdListField(source="category_ids", required=False)

    def validate(self, attrs):
        paid = attrs.pop("paid", None)
        if paid is not None:
            if "free" in attrs and attrs["free"] == paid:
                raise serializers.ValidationError({"paid": ["Contradicts `free`; send one of the two."]})
            attrs["free"] = not paid
        start, end = attrs.get("start_datetime"), attrs.get("end_datetime")
        if start is not None and end is not None and start >= end:
            raise serializers.ValidationError({"endDatetime": ["Must be later than startDatetime."]})
        return attrs


class ModuleInputSerializer(CatalogueInputSerializer):
    title = TextField(max_length=255)
    description = TextField()
    image = ImageUploadField()
    status = choice_field(LIVE_STATUS_CHOICES, required=False, help_text="DELETE archives.")
    courseId = UUIDStringField(source="course_id")
    ordering = stored_integer_field(
        min_value=1, required=False, allow_null=True, help_text="Position in the course; omitted appends."
    )


class MediaContentSerializer(serializers.Serializer):
    format = TextField(max_length=50, required=False, allow_blank=True)
    sub_format = TextField(max_length=100, required=False, allow_blank=True)
    source = TextField(
        max_length=2000, required=False, allow_blank=True, validators=[validate_content_link],
        help_text="Where the media comes from, e.g. a video link; the url when url is empty.",
    )
    url = TextField(
        max_length=2000, required=False, allow_blank=True, validators=[validate_content_link],
        help_text="An http or https link, or a relative path; other schemes (javascript:, data:) are refused.",
    )
    params = JSONObjectField(required=False)


@extend_schema_field(MediaContentSerializer)
class MediaContentField(serializers.Field):
    """`mediaContent` as an object, a JSON string, or bracketed multipart fields."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        data = JSONObjectField().run_validation(data)
        content = MediaContentSerializer(data=data)
        if not content.is_valid():
            raise serializers.ValidationError(content.errors)
        return dict(content.validated_data)


class LessonInputSerializer(CatalogueInputSerializer):
    title = TextField(max_length=255)
    description = TextField()
    content = TextField(required=False, allow_blank=True)
    alias = TextField(max_length=255, required=False, allow_blank=True)
    shortDesc = TextField(source="short_desc", max_length=500, required=False, allow_blank=True)
    image = ImageUploadField()
    status = choice_field(LIVE_STATUS_CHOICES, required=False, help_text="DELETE archives.")
    format = TextField(max_length=50, required=False, allow_blank=True)
    duration = stored_integer_field(required=False, allow_null=True)
    startDate = AwareDateTimeField(source="start_date", required=False, allow_null=True)
    endDate = AwareDateTimeField(source="end_date", required=False, allow_null=True)
    storage = TextField(max_length=50, required=False, allow_blank=True)
    freeLesson = serializers.BooleanField(source="free_lesson", required=False)
    noOfAttempts = stored_integer_field(source="no_of_attempts", required=False, help_text="0 = unlimited.")
    attemptsGrade = choice_field(AttemptsGrade.choices, source="attempts_grade", required=False)
    considerMarks = serializers.BooleanField(source="consider_marks", required=False)
    mediaId = UUIDStringField(source="media_id", required=False, allow_null=True)
    mediaContent = MediaContentField(source="media_content")
    eligibilityCriteria = LessonIdListField(
        source="eligibility_criteria",
        required=False,
        max_length=MAX_PREREQUISITES,
        error_messages={"max_length": f"Send at most {MAX_PREREQUISITES} lesson ids."},
    )
    idealTime = stored_integer_field(source="ideal_time", required=False, allow_null=True)
    resume = serializers.BooleanField(required=False)
    totalMarks = stored_integer_field(source="total_marks", required=False, allow_null=True)
    passingMarks = stored_integer_field(source="passing_marks", required=False, allow_null=True)
    inLib = serializers.BooleanField(source="in_lib", required=False)
    params = JSONObjectField(required=False)
    courseId = UUIDStringField(source="course_id", required=False, allow_null=True)
    moduleId = UUIDStringField(source="module_id", required=False, allow_null=True)
    ordering = stored_integer_field(
        min_value=1, required=False, allow_null=True, help_text="Position within the module named by moduleId."
    )
    categoryIds = CategoryIdListField(source="category_ids", required=False)

    def validate(self, attrs):
        start, end = attrs.get("start_date"), attrs.get("end_date")
        if start is not None and end is not None and start >= end:
            raise serializers.ValidationError({"endDate": ["Must be later than startDate."]})
        return attrs


class PlacementInputSerializer(CatalogueInputSerializer):
    courseId = UUIDStringField(source="course_id")
    moduleId = UUIDStringField(source="module_id")
    lessonId = UUIDStringField(source="lesson_id")
    ordering = stored_integer_field(min_value=1, required=False, allow_null=True)


# --- output (documentation of courses.api.rendering) ------------------------------------------


class AuthoredOutput(serializers.Serializer):
    createdBy = serializers.UUIDField(allow_null=True)
    createdAt = serializers.DateTimeField()
    updatedBy = serializers.UUIDField(allow_null=True)
    updatedAt = serializers.DateTimeField(allow_null=True)


class CourseOutputSerializer(AuthoredOutput):
    courseId = serializers.UUIDField()
    tenantId = serializers.UUIDField()
    title = TextField()
    shortDescription = TextField()
    description = TextField()
    image = serializers.URLField(allow_null=True, help_text="Absolute URL of the stored image.")
    featured = serializers.BooleanField()
    free = serializers.BooleanField()
    paid = serializers.BooleanField(help_text="Always the opposite of `free`.")
    certificate_term = serializers.ChoiceField(choices=CertificateTerm.choices)
    certificate_id = TextField()
    startDatetime = serializers.DateTimeField()
    endDatetime = serializers.DateTimeField()
    adminApproval = serializers.BooleanField()
    autoEnroll = serializers.BooleanField()
    status = serializers.ChoiceField(choices=LIVE_STATUS_CHOICES)
    params = JSONObjectField()
    categoryIds = serializers.ListField(child=serializers.UUIDField(), help_text="The categories, in the order set.")


@extend_schema_serializer(many=False)  # the list action answers one {count, courses} object
class CourseListOutputSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Total across all pages.")
    courses = CourseOutputSerializer(many=True)


class ModuleOutputSerializer(AuthoredOutput):
    moduleId = serializers.UUIDField()
    tenantId = serializers.UUIDField()
    courseId = serializers.UUIDField()
    title = TextField()
    description = TextField()
    ordering = serializers.IntegerField()
    image = serializers.URLField(allow_null=True)
    status = serializers.ChoiceField(choices=LIVE_STATUS_CHOICES)


class MediaContentOutputSerializer(serializers.Serializer):
    url = TextField()
    format = TextField()
    sub_format = TextField()
    source = TextField()
    params = JSONObjectField()


class LessonOutputSerializer(AuthoredOutput):
    lessonId = serializers.UUIDField()
    tenantId = serializers.UUIDField()
    title = TextField()
    alias = TextField()
    description = TextField()
    content = TextField()
    shortDesc = TextField()
    image = serializers.URLField(allow_null=True)
    status = serializers.ChoiceField(choices=LIVE_STATUS_CHOICES)
    format = TextField()
    duration = serializers.IntegerField(allow_null=True)
    startDate = serializers.DateTimeField(allow_null=True)
    endDate = serializers.DateTimeField(allow_null=True)
    storage = TextField()
    freeLesson = serializers.BooleanField()
    noOfAttempts = serializers.IntegerField(help_text="0 means unlimited.")
    attemptsGrade = serializers.ChoiceField(choices=AttemptsGrade.choices)
    considerMarks = serializers.BooleanField()
    mediaId = serializers.UUIDField(allow_null=True)
    mediaContent = MediaContentOutputSerializer(allow_null=True)
    eligibilityCriteria = serializers.ListField(child=serializers.UUIDField())
    idealTime = serializers.IntegerField(allow_null=True, help_text="Minutes.")
    resume = serializers.BooleanField()
    totalMarks = serializers.IntegerField(allow_null=True)
    passingMarks = serializers.IntegerField(allow_null=True)
    inLib = serializers.BooleanField()
    params = JSONObjectField()
    ordering = serializers.IntegerField(allow_null=True, help_text="Of the placement described.")
    courseId = serializers.UUIDField(allow_null=True, help_text="Of the placement described (first one on GET by id).")
    moduleId = serializers.UUIDField(allow_null=True)
    categoryIds = serializers.ListField(child=serializers.UUIDField(), help_text="The categories, in the order set.")


class PlacementOutputSerializer(serializers.Serializer):
    placementId = serializers.UUIDField()
    courseId = serializers.UUIDField()
    moduleId = serializers.UUIDField()
    ordering = serializers.IntegerField()


class LessonDetailOutputSerializer(LessonOutputSerializer):
    placements = PlacementOutputSerializer(many=True)


class ModuleWithLessonsOutputSerializer(ModuleOutputSerializer):
    lessons = LessonOutputSerializer(many=True)


class CourseDetailsOutputSerializer(CourseOutputSerializer):
    modules = ModuleWithLessonsOutputSerializer(many=True)


class PlacementCreatedOutputSerializer(serializers.Serializer):
    lessonId = serializers.UUIDField()
    courseId = serializers.UUIDField()
    moduleId = serializers.UUIDField()
    placementId = serializers.UUIDField()
    ordering = serializers.IntegerField()
    message = TextField()
