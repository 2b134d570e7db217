"""Shapes of the webhook subscription API (DECISIONS §9). The secret appears only where it is created."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from lms.api.fields import RefuseUnknownFields, TextField
from lms.events import catalogue

_EVENTS_HELP = f"Event types to receive: [\"*\"] for all, or any of {', '.join(catalogue.EVENT_TYPES)}."


@extend_schema_serializer(examples=[OpenApiExample(
    "Course completions and certificates",
    value={"url": "https://hr.example.com/lms-hook", "events": ["course.completed", "certificate.issued"],
           "description": "HR records"},
    request_only=True,
)])
class WebhookCreateInputSerializer(RefuseUnknownFields):
    url = TextField(max_length=2000, help_text="http or https URL that receives the POSTs.")
    events = serializers.ListField(child=TextField(max_length=50), allow_empty=False, max_length=20,
                                   help_text=_EVENTS_HELP)
    description = TextField(max_length=500, required=False, allow_blank=True, default="")


class WebhookUpdateInputSerializer(RefuseUnknownFields):
    url = TextField(max_length=2000, required=False)
    events = serializers.ListField(child=TextField(max_length=50), allow_empty=False, max_length=20,
                                   required=False, help_text=_EVENTS_HELP)
    active = serializers.BooleanField(required=False)
    description = TextField(max_length=500, required=False, allow_blank=True)


class WebhookOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
    active = serializers.BooleanField()
    description = serializers.CharField()
    disabledReason = serializers.CharField(source="disabled_reason", help_text="Why it was turned off (410 Gone).")
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")


@extend_schema_serializer(examples=[OpenApiExample(
    "Created",
    value={"id": "3f0e7c2a-5d71-4c1e-9a52-1f0d3b7c9e11", "url": "https://hr.example.com/lms-hook",
           "events": ["course.completed", "certificate.issued"], "active": True, "description": "HR records",
           "disabledReason": "", "createdAt": "2026-12-03T09:00:00Z", "updatedAt": "2026-12-03T09:00:00Z",
           "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
    response_only=True,
)])
class WebhookWithSecretOutputSerializer(WebhookOutputSerializer):
    secret = serializers.CharField(help_text="whsec_…: shown only on creation and rotation; store it now.")


class WebhookDeliveryOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    eventId = serializers.UUIDField(source="event_id")
    eventType = serializers.CharField(source="event.type")
    status = serializers.ChoiceField(choices=["pending", "succeeded", "failed"])
    attempts = serializers.IntegerField()
    lastStatusCode = serializers.IntegerField(source="last_status_code", allow_null=True)
    lastError = serializers.CharField(source="last_error")
    lastAttemptAt = serializers.DateTimeField(source="last_attempt_at", allow_null=True)
    nextAttemptAt = serializers.DateTimeField(source="next_attempt_at", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")


class WebhookDeliveryListOutputSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Deliveries of this subscription across all pages.")
    deliveries = WebhookDeliveryOutputSerializer(many=True)
