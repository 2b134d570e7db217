"""Resolving the `tenantid` header to a tenant on every API request (DECISIONS §2)."""

from __future__ import annotations

import dataclasses
import uuid

from django.conf import settings
from django.db import IntegrityError, transaction

from lms.api.errors import ApiError, ForbiddenError
from lms.models import Tenant, TenantMembership
from lms.services import learner_directory_record

# Tenant ids known to exist, so that a warm process resolves a tenant without a query.
# Tenants are never deleted through the API; a deletion in the admin is forgotten here by
# `lms.receivers` (in this process; other workers learn it when they restart).
_known_tenant_ids: set[uuid.UUID] = set()


def forget_known_tenants() -> None:
    """For tests that delete tenants between cases."""
    _known_tenant_ids.clear()


def forget_tenant(tenant_id: uuid.UUID) -> None:
    _known_tenant_ids.discard(tenant_id)


def _header_tenant_id(request) -> uuid.UUID:
    raw = request.META.get("HTTP_TENANTID", "").strip() or settings.LMS_DEFAULT_TENANT
    if not raw:
        raise ApiError(
            "Send the tenant's UUID in the `tenantid` header.", code="ERR_TENANT_REQUIRED", http_status=400
        )
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise ApiError(
            f"The `tenantid` header must be a UUID, got {raw[:60]!r}.", code="ERR_TENANT_INVALID", http_status=400
        ) from None


def ensure_tenant(tenant_id: uuid.UUID) -> uuid.UUID:
    """`tenant_id`, once it names a stored tenant: no query when known, else one (plus a create).

    Raises ForbiddenError (403 ERR_UNKNOWN_TENANT) for an unknown tenant when
    LMS_AUTO_PROVISION_TENANTS is off.
    """
    if tenant_id in _known_tenant_ids:
        return tenant_id
    if Tenant.objects.filter(pk=tenant_id).exists():
        _known_tenant_ids.add(tenant_id)
        return tenant_id
    if not settings.LMS_AUTO_PROVISION_TENANTS:
        raise ForbiddenError(
            "This tenant is not provisioned here; ask an operator to create it.", code="ERR_UNKNOWN_TENANT"
        )
    try:
        with transaction.atomic():
            Tenant.objects.get_or_create(pk=tenant_id, defaults={"name": f"Tenant {tenant_id}"})
    except IntegrityError:
        pass  # provisioned concurrently by another request
    _known_tenant_ids.add(tenant_id)
    return tenant_id


def _membership_role(*, tenant_id: uuid.UUID, django_user_pk) -> str | None:
    return (
        TenantMembership.objects.filter(tenant_id=tenant_id, user_id=django_user_pk)
        .values_list("role", flat=True)
        .first()
    )


def _resolve_staff_session(request, tenant_id: uuid.UUID) -> uuid.UUID:
    """A staff session's tenant; replaces `request.user` with the principal holding its role there.

    A superuser is admin everywhere (and provisions as a token would). Any other staff user
    needs a membership of this tenant: without one the answer is the same 403 whether or not
    the tenant exists, so a session cannot probe for tenants, and it never provisions one.
    """
    principal = request.user
    if principal.is_superuser:
        return ensure_tenant(tenant_id)
    role = _membership_role(tenant_id=tenant_id, django_user_pk=principal.staff_user_pk)
    if role is None:
        raise ForbiddenError(
            "Your staff account is not a member of this tenant; ask a superuser to add you to it in the admin.",
            code="ERR_NOT_A_MEMBER",
        )
    _known_tenant_ids.add(tenant_id)
    request.user = dataclasses.replace(principal, roles=frozenset({role}))
    return tenant_id


def resolve_request_tenant(request) -> uuid.UUID:
    """The caller's tenant id; checks the token's `tenant_id` claim against the header.

    Raises ApiError 400 (header missing or not a UUID), ForbiddenError 403 (a token without
    `tenant_id` where LMS_REQUIRE_TENANT_CLAIM is on, the header naming another tenant than the
    token, a staff session that is not a member of the tenant, or an unknown tenant without
    auto-provisioning).
    """
    principal = request.user
    if getattr(principal, "from_session", False):
        return _resolve_staff_session(request, _header_tenant_id(request))
    claim = getattr(principal, "tenant_claim", None)
    if claim is None and settings.LMS_REQUIRE_TENANT_CLAIM:
        raise ForbiddenError(
            "This service accepts only tokens that name their tenant; ask your identity provider for a token "
            "with a `tenant_id` claim.",
            code="ERR_TENANT_CLAIM_REQUIRED",
        )
    tenant_id = _header_tenant_id(request)
    if claim is not None and claim != tenant_id:
        raise ForbiddenError("The `tenantid` header does not match the token's tenant.", code="ERR_TENANT_MISMATCH")
    ensure_tenant(tenant_id)
    # No query once this process has stored these claims; one upsert when they are new or changed.
    learner_directory_record(tenant_id=tenant_id, user_id=principal.user_id, name=principal.name, email=principal.email)
    return tenant_id
