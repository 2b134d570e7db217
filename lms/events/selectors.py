"""Reads of the events app."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from lms.events.models import WebhookDelivery, WebhookSubscription


def webhook_subscriptions(*, tenant_id: uuid.UUID) -> QuerySet[WebhookSubscription]:
    return WebhookSubscription.objects.filter(tenant_id=tenant_id).order_by("created_at", "id")


def webhook_deliveries(*, subscription: WebhookSubscription) -> QuerySet[WebhookDelivery]:
    """Newest first, each with its event's type (one query per page)."""
    return (
        WebhookDelivery.objects.filter(subscription=subscription)
        .select_related("event")
        .only("id", "event_id", "event__type", "status", "attempts", "last_status_code", "last_error",
              "last_attempt_at", "next_attempt_at", "created_at")
        .order_by("-created_at", "-id")
    )
