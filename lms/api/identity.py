"""Who is calling: the principal derived from a verified token or a staff session."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

ROLE_ADMIN = "admin"
ROLE_INSTRUCTOR = "instructor"
ROLE_LEARNER = "learner"
KNOWN_ROLES = frozenset({ROLE_ADMIN, ROLE_INSTRUCTOR, ROLE_LEARNER})
STAFF_ROLES = frozenset({ROLE_ADMIN, ROLE_INSTRUCTOR})

# Django staff accounts get a stable UUID so that createdBy/updatedBy stay UUIDs.
_STAFF_NAMESPACE = uuid.UUID("6f1b3c2e-8a53-4c39-9d55-0c1e6b0f4a77")


def staff_user_uuid(django_user_pk) -> uuid.UUID:
    return uuid.uuid5(_STAFF_NAMESPACE, f"django-user:{django_user_pk}")


@dataclass(frozen=True)
class Principal:
    """The authenticated caller. `request.user` is always one of these in API views."""

    user_id: uuid.UUID
    roles: frozenset[str] = field(default_factory=lambda: frozenset({ROLE_LEARNER}))
    tenant_claim: uuid.UUID | None = None
    # The token's `name` and `email` claims, when usable, for the learner directory (DECISIONS §10).
    name: str | None = None
    email: str | None = None
    # Set for a Django staff session: its roles are not in a token but in the tenant's
    # memberships, so they are known only once the tenant is (lms.api.tenancy).
    staff_user_pk: int | None = None
    is_superuser: bool = False
    is_authenticated: bool = True
    is_anonymous: bool = False

    @property
    def from_session(self) -> bool:
        return self.staff_user_pk is not None

    @property
    def pk(self) -> uuid.UUID:
        return self.user_id

    @property
    def is_staff_role(self) -> bool:
        """Admin or instructor: may author content and act for other users in the tenant."""
        return bool(self.roles & STAFF_ROLES)

    @property
    def is_admin(self) -> bool:
        return ROLE_ADMIN in self.roles
