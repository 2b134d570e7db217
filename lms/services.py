"""Writes on platform-level records (tenants)."""

from __future__ import annotations

import uuid

from django.db import IntegrityError, transaction

from lms.api.errors import ConflictError
from lms.models import Tenant
from lms.signals import tenant_carry_forward_changed

CREATED = "created"
UPDATED = "updated"
UNCHANGED = "unchanged"


@transaction.atomic
def tenant_ensure(*, name: str, tenant_id: uuid.UUID | None = None, carry_forward: str | None = None) -> tuple[Tenant, str]:
    """The tenant named `name` (or with id `tenant_id`), created or brought up to date.

    Idempotent: a second call with the same arguments changes nothing. With an id, the
    stored name and (when given) carry-forward policy are set to the arguments; without
    one, the tenant is found by its name. A changed policy queues the recount of the tenant's course
    tracks on a worker once this transaction commits (it decides which completions count). Returns (tenant, CREATED | UPDATED | UNCHANGED).
    Raises ConflictError when several tenants share `name` and no id says which one.
    """
    wanted = {"name": name}
    if carry_forward is not None:
        wanted["carry_forward"] = carry_forward
    if tenant_id is None:
        matches = list(Tenant.objects.select_for_update().filter(name=name)[:2])
        if len(matches) > 1:
            raise ConflictError(f"Several tenants are named {name!r}; pass the id of the one you mean.")
        tenant = matches[0] if matches else None
    else:
        tenant = Tenant.objects.select_for_update().filter(pk=tenant_id).first()
    if tenant is None:
        try:
            with transaction.atomic():
                tenant = Tenant.objects.create(**({"id": tenant_id} if tenant_id else {}), **wanted)
        except IntegrityError:
            if tenant_id is None:
                raise
            # Provisioned by a request at the same moment; bring that row up to date instead.
            tenant = Tenant.objects.select_for_update().get(pk=tenant_id)
        else:
            return tenant, CREATED
    changed = [field for field, value in wanted.items() if getattr(tenant, field) != value]
    if not changed:
        return tenant, UNCHANGED
    for field in changed:
        setattr(tenant, field, wanted[field])
    tenant.save(update_fields=changed)
    if "carry_forward" in changed:
        tenant_carry_forward_changed.send(sender=Tenant, tenant_id=tenant.pk)
    return tenant, UPDATED
