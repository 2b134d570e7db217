import uuid

from django.db import models


class Tenant(models.Model):
    """An organisation. Every row of every app belongs to exactly one tenant."""

    class CarryForward(models.TextChoices):
        STRICT = "strict", "Strict: each context counts only its own consumption"
        CARRY = "carry", "Carry: content completed in any context counts everywhere"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=True)
    name = models.CharField(max_length=200)
    carry_forward = models.CharField(
        max_length=10, choices=CarryForward.choices, default=CarryForward.STRICT
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"
