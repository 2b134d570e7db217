import uuid

from django.db import models


class Event(models.Model):
    """One fact for the outside world, written in the transaction of the change it describes.

    `dedupe_key` names a fact that may happen only once (the first completion of a lesson in a
    context, of a course track, a certificate): a second insert with the same key does nothing
    (`INSERT … ON CONFLICT DO NOTHING`), however many requests race. `relayed_at` is set once the
    relay has created the event's deliveries.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey("lms.Tenant", on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=50)
    data = models.JSONField(default=dict)
    dedupe_key = models.CharField(max_length=255, null=True, blank=True, unique=True)
    created_at = models.DateTimeField()
    relayed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # The relay reads only unrelayed rows, oldest first.
            models.Index(fields=["created_at"], condition=models.Q(relayed_at__isnull=True), name="event_unrelayed"),
            models.Index(fields=["relayed_at"], name="event_relayed_at"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"

    def envelope(self) -> dict:
        """The JSON a receiver gets (DECISIONS §9)."""
        return {
            "id": str(self.id),
            "type": self.type,
            "createdAt": self.created_at.isoformat().replace("+00:00", "Z"),
            "tenantId": str(self.tenant_id),
            "data": self.data,
        }


class WebhookSubscription(models.Model):
    """A tenant's endpoint and the event types it receives (`["*"]`: all of them)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey("lms.Tenant", on_delete=models.CASCADE, related_name="+")
    # Checked by lms.events.urlrules (http/https, public addresses), not by URLField's own rules.
    url = models.CharField(max_length=2000)
    events = models.JSONField(default=list)
    description = models.CharField(max_length=500, blank=True, default="")
    # `whsec_` + base64 of random bytes; shown to the client only on creation and on rotation.
    secret = models.CharField(max_length=100)
    active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=200, blank=True, default="")
    created_by = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["tenant", "active"], name="webhook_tenant_active")]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return "*" in self.events or event_type in self.events


class WebhookDelivery(models.Model):
    """One event to one subscription: sent until a 2xx answer, or until the retries run out."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey("lms.Tenant", on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    # When a worker may (next) send it. A worker that takes it moves this past the send's
    # timeout first (a lease), so a worker that dies mid-send leaves it to the sweep.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # The retry schedule starts here; a redelivery on request starts it again.
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "subscription"], name="webhook_delivery_once_per_subscription")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=models.Q(status="pending"), name="webhook_delivery_due"
            ),
            models.Index(fields=["subscription", "-created_at"], name="webhook_delivery_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.subscription_id} ({self.status})"


class WebhookDeliveryAttempt(models.Model):
    """One POST of a delivery and its answer, for operators reading why a delivery failed."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True, default="")
    duration_ms = models.PositiveIntegerField(default=0)
    attempted_at = models.DateTimeField()

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return f"#{self.number}: {self.status_code or self.error}"
