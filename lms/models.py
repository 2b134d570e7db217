import uuid

from django.conf import settings
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


class TenantMembership(models.Model):
    """A Django staff account's place in one tenant (DECISIONS §8).

    Staff sessions act in the API only where they are members, with the membership's role;
    superusers need none. API callers with tokens are not members: the token is their role.
    """

    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        INSTRUCTOR = "instructor", "Instructor"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tenant_memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.INSTRUCTOR)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tenant__name", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="lms_membership_unique_tenant_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.tenant.name} ({self.role})"


class LearnerDirectoryEntry(models.Model):
    """The latest `name` and `email` claims seen for a user in a tenant (DECISIONS §10).

    Written from verified tokens only when a claim changes (`lms.services.learner_directory_record`),
    and by operators importing a CSV in the admin. The learning tables keep only user ids; this is
    where the admin, the reports and reminder mails find a person's name and address.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    user_id = models.UUIDField()
    name = models.CharField(max_length=200, blank=True, null=True)
    email = models.EmailField(max_length=254, blank=True, null=True)
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = "learner"
        verbose_name_plural = "learner directory"
        ordering = ["name", "email"]
        constraints = [
            # user_id leads, as on every per-user table, so that it can be distributed by user.
            models.UniqueConstraint(fields=["user_id", "tenant"], name="lms_directory_unique_user_tenant"),
        ]
        indexes = [models.Index(fields=["tenant", "email"], name="lms_directory_tenant_email")]

    def __str__(self) -> str:
        return learner_label(user_id=self.user_id, name=self.name, email=self.email)


def learner_label(*, user_id, name: str | None, email: str | None) -> str:
    """How a person is shown wherever a user id would be: name and email when known, else the id."""
    if name and email:
        return f"{name} <{email}>"
    return name or email or str(user_id)
