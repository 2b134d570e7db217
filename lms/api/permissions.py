"""Reusable permission classes and the self-or-staff rule for learner data."""

from __future__ import annotations

import uuid

from rest_framework import permissions

from lms.api.errors import ForbiddenError
from lms.api.identity import Principal


class IsAuthenticatedPrincipal(permissions.BasePermission):
    message = "Authenticate with `Authorization: Bearer <token>`."

    def has_permission(self, request, view):
        return isinstance(request.user, Principal)


class IsAuthor(IsAuthenticatedPrincipal):
    """Admins and instructors only."""

    message = "Only admins and instructors may do this."

    def has_permission(self, request, view):
        return super().has_permission(request, view) and request.user.is_staff_role


class AuthorWritesAuthenticatedReads(IsAuthenticatedPrincipal):
    """Anyone authenticated reads; only admins and instructors write."""

    message = "Only admins and instructors may change content."

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        return request.method in permissions.SAFE_METHODS or request.user.is_staff_role


def ensure_self_or_staff(principal: Principal, user_id: uuid.UUID | str | None) -> None:
    """A learner may only name themselves; staff may name anyone in their tenant."""
    if principal.is_staff_role or user_id is None:
        return
    if str(user_id) != str(principal.user_id):
        raise ForbiddenError("Learners may only act on and read their own user id.")


def acting_user_id(principal: Principal, user_id: uuid.UUID | None) -> uuid.UUID:
    """The user a write acts for: the one named, else the caller. Raises ForbiddenError (403) for a
    learner naming someone else."""
    ensure_self_or_staff(principal, user_id)
    return user_id or principal.user_id


def listed_user_id(principal: Principal, user_id: uuid.UUID | None) -> uuid.UUID | None:
    """The user a list of learner data is narrowed to: the one staff name (None: everyone in the
    tenant), always the caller for a learner. Raises ForbiddenError (403) for a learner naming
    someone else."""
    ensure_self_or_staff(principal, user_id)
    return user_id if principal.is_staff_role else principal.user_id
