"""Writes on platform-level records (tenants, the learner directory)."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from lms.api.errors import ConflictError
from lms.lru import WeightedLRU
from lms.models import LearnerDirectoryEntry, Tenant
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


# The (tenant, user, name, email) combinations this process has stored. The key holds the
# values, so an entry is an immutable fact ("this was written") and needs no invalidation:
# a changed claim is a new key, hence one write. A warm process adds no query to a request.
_directory_seen: WeightedLRU[bool] = WeightedLRU(max_weight=50_000, weigh=lambda _: 1)

_DIRECTORY_NAME_MAX = LearnerDirectoryEntry._meta.get_field("name").max_length
_DIRECTORY_EMAIL_MAX = LearnerDirectoryEntry._meta.get_field("email").max_length


def directory_name_claim(value) -> str | None:
    """A token's `name` claim as stored, or None when absent or unusable (never a reason to refuse
    the token: identity providers differ, and the name is for display only)."""
    if not isinstance(value, str):
        return None
    value = " ".join(value.split())
    return value[:_DIRECTORY_NAME_MAX] or None


def directory_email_claim(value) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value or len(value) > _DIRECTORY_EMAIL_MAX:
        return None
    try:
        validate_email(value)
    except ValidationError:
        return None
    return value


def forget_directory_seen() -> None:
    """For tests that start from an empty database."""
    _directory_seen.clear()


def learner_directory_record(
    *, tenant_id: uuid.UUID, user_id: uuid.UUID, name: str | None, email: str | None
) -> bool:
    """Keep the latest `name`/`email` of a user in a tenant; a claim that is None keeps the stored one.

    One statement, and only when this process has not already stored these values: an upsert
    whose update applies only when a value differs, so an unchanged row is never rewritten.
    Returns whether a statement was sent.

    No `transaction.atomic()` around it: a single statement is its own transaction, and an atomic
    block would add a BEGIN and a COMMIT round trip to the first request of every user in every
    process (measured: 2.6 ms instead of under 1 ms at scale L). Inside a caller's transaction the
    statement joins it, and the values are remembered only once that transaction commits.
    """
    if name is None and email is None:
        return False
    key = (tenant_id, user_id, name, email)
    if _directory_seen.get(key):
        return False
    table = connection.ops.quote_name(LearnerDirectoryEntry._meta.db_table)
    uuid_field = LearnerDirectoryEntry._meta.get_field("user_id")
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (tenant_id, user_id, name, email, updated_at)
            VALUES (%s, %s, %s, %s, %s)
            ON CONFLICT (user_id, tenant_id) DO UPDATE SET
                name = COALESCE(excluded.name, {table}.name),
                email = COALESCE(excluded.email, {table}.email),
                updated_at = excluded.updated_at
            WHERE COALESCE(excluded.name, {table}.name, '') <> COALESCE({table}.name, '')
               OR COALESCE(excluded.email, {table}.email, '') <> COALESCE({table}.email, '')
            """,
            [
                uuid_field.get_db_prep_value(tenant_id, connection),
                uuid_field.get_db_prep_value(user_id, connection),
                name,
                email,
                timezone.now(),
            ],
        )
    # Remember the values only once they are committed (at once in autocommit): a rolled-back
    # write is retried.
    transaction.on_commit(lambda: _directory_seen.put(key, True))
    return True


@transaction.atomic
def learner_directory_import(*, tenant_id: uuid.UUID, rows: list[tuple[uuid.UUID, str | None, str | None]]) -> int:
    """Store (user_id, name, email) rows for a tenant in one statement per 500 rows (the admin's CSV
    import). Unlike a token, an import sets what it is given: an empty name or email clears it."""
    now = timezone.now()
    entries = [
        LearnerDirectoryEntry(tenant_id=tenant_id, user_id=user_id, name=name or None, email=email or None, updated_at=now)
        for user_id, name, email in rows
    ]
    LearnerDirectoryEntry.objects.bulk_create(
        entries,
        batch_size=500,
        update_conflicts=True,
        unique_fields=["user_id", "tenant"],
        update_fields=["name", "email", "updated_at"],
    )
    return len(entries)
