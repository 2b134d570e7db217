"""Shapes of the insight endpoints (DECISIONS §10), for validation and the OpenAPI schema. The
selectors build the answers (`tracking.insight`, `as_result`); these document the same shape (a
test keeps them equal)."""

from __future__ import annotations

from rest_framework import serializers

from lms.api.fields import TextField
from tracking.models import CourseTrackStatus


class ReportQuerySerializer(serializers.Serializer):
    format = serializers.ChoiceField(
        choices=["json", "csv"], required=False, default="json",
        help_text="`csv` streams one row per learner: userId, name, email, status, progress, completedLessons, "
        "noOfLessons, lastAccessedOn, certificateIssuedOn.",
    )


class ReportStatusCountsSerializer(serializers.Serializer):
    not_started = serializers.IntegerField()
    in_progress = serializers.IntegerField()
    completed = serializers.IntegerField()


class ReportLessonSerializer(serializers.Serializer):
    lessonId = serializers.UUIDField()
    title = TextField()
    moduleId = serializers.UUIDField()
    completed = serializers.IntegerField(help_text="Learners who completed the lesson in the course context.")
    started = serializers.IntegerField(help_text="Learners who started it, completed or not.")
    averageBestScore = serializers.FloatField(
        allow_null=True, help_text="The average of each learner's best score; null unless the lesson has considerMarks."
    )


class ReportWeekSerializer(serializers.Serializer):
    weekStart = serializers.DateField(help_text="The week's Monday (UTC).")
    enrolled = serializers.IntegerField()
    completed = serializers.IntegerField()


class CourseReportSerializer(serializers.Serializer):
    courseId = serializers.UUIDField()
    enrolled = serializers.IntegerField(help_text="Enrollments in the course's own batch.")
    active = serializers.IntegerField(help_text="Of those, the active ones (approved, not deactivated).")
    byStatus = ReportStatusCountsSerializer()
    completionRate = serializers.FloatField(help_text="Completed enrollments per hundred enrolled (0–100).")
    certificatesIssued = serializers.IntegerField()
    lessons = ReportLessonSerializer(many=True, help_text="In course order.")
    weekly = ReportWeekSerializer(many=True, help_text="The last 12 weeks, oldest first.")


class ExplainQuerySerializer(serializers.Serializer):
    course_id = serializers.UUIDField()
    user_id = serializers.UUIDField(required=False, help_text="Staff may name anyone in the tenant; default: the caller.")


class ExplainMissingLessonSerializer(serializers.Serializer):
    lessonId = serializers.UUIDField()
    title = TextField()
    moduleId = serializers.UUIDField()
    state = serializers.ChoiceField(choices=["not_started", "in_progress", "not_passed"])


class ExplainNextLessonSerializer(serializers.Serializer):
    lessonId = serializers.UUIDField()
    title = TextField()
    moduleId = serializers.UUIDField()
    blockedBy = serializers.ListField(
        child=serializers.UUIDField(),
        help_text="Prerequisites not yet completed: empty unless every missing lesson waits for one.",
    )


class ExplainCertificateSerializer(serializers.Serializer):
    term = serializers.ChoiceField(choices=["NA", "COMPLETE_ALL", "PASS_ALL"])
    issued = serializers.BooleanField()
    eligible = serializers.BooleanField(help_text="The course's certificate rule is met now.")
    reasons = serializers.ListField(child=TextField(), help_text="Each unmet condition, in a sentence.")


class ExplainSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=CourseTrackStatus.choices)
    completedLessons = serializers.IntegerField()
    noOfLessons = serializers.IntegerField()
    missing = ExplainMissingLessonSerializer(many=True, help_text="In course order.")
    nextLesson = ExplainNextLessonSerializer(allow_null=True)
    certificate = ExplainCertificateSerializer()


class VerifyQuerySerializer(serializers.Serializer):
    format = serializers.ChoiceField(
        choices=["json", "pdf"], required=False, default="json", help_text="`pdf`: a printable certificate."
    )


class VerifiedCertificateSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    certificateId = serializers.UUIDField()
    name = TextField()
    courseId = serializers.UUIDField()
    courseTitle = TextField()
    learnerName = TextField(allow_null=True)
    issuedOn = serializers.DateTimeField()
    tenant = TextField(help_text="The issuing tenant's name.")
