"""Reads on platform-level records (the learner directory)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.db.models import Q
from django.db.models.functions import Lower

from lms.models import LearnerDirectoryEntry


def learner_directory(*, tenant_id: uuid.UUID, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, LearnerDirectoryEntry]:
    """The directory entries of `user_ids` in a tenant, by user id, in one query (users the
    directory does not know are absent)."""
    user_ids = list(set(user_ids))
    if not user_ids:
        return {}
    entries = LearnerDirectoryEntry.objects.filter(user_id__in=user_ids, tenant_id=tenant_id)
    return {entry.user_id: entry for entry in entries}


def learner_directory_user_ids_matching(*, tenant_id: uuid.UUID | None, text: str) -> list[uuid.UUID]:
    """User ids whose directory name or email contains `text` (the admin's search), at most 500."""
    entries = LearnerDirectoryEntry.objects.filter(Q(name__icontains=text) | Q(email__icontains=text))
    if tenant_id is not None:
        entries = entries.filter(tenant_id=tenant_id)
    return list(entries.values_list("user_id", flat=True).distinct()[:500])


def learner_directory_of_pairs(
    pairs: Iterable[tuple[uuid.UUID, uuid.UUID]],
) -> dict[tuple[uuid.UUID, uuid.UUID], LearnerDirectoryEntry]:
    """The directory entries of (tenant id, user id) pairs, in one query: for a page of rows that
    may span tenants (a superuser's admin list). Pairs the directory does not know are absent."""
    pairs = {(tenant_id, user_id) for tenant_id, user_id in pairs if tenant_id is not None and user_id is not None}
    if not pairs:
        return {}
    entries = LearnerDirectoryEntry.objects.filter(
        user_id__in={user_id for _, user_id in pairs}, tenant_id__in={tenant_id for tenant_id, _ in pairs}
    )
    return {
        (entry.tenant_id, entry.user_id): entry for entry in entries if (entry.tenant_id, entry.user_id) in pairs
    }


def learner_directory_matching(*, text: str):
    """The directory entries whose name or email contains `text`, as a queryset to correlate with
    a row's tenant and user (`Exists(... .filter(tenant_id=OuterRef(...), user_id=OuterRef(...)))`)."""
    return LearnerDirectoryEntry.objects.filter(Q(name__icontains=text) | Q(email__icontains=text))


def learner_directory_by_email(*, tenant_id: uuid.UUID, emails: Iterable[str]) -> dict[str, list[LearnerDirectoryEntry]]:
    """The tenant's directory entries for each of `emails` (compared case-insensitively, keyed by the
    lower-cased address), in one query. An address shared by several users lists them all."""
    wanted = {email.strip().lower() for email in emails if email and email.strip()}
    if not wanted:
        return {}
    found: dict[str, list[LearnerDirectoryEntry]] = {}
    entries = (
        LearnerDirectoryEntry.objects.filter(tenant_id=tenant_id)
        .annotate(email_lower=Lower("email"))
        .filter(email_lower__in=wanted)
        .order_by("user_id")
    )
    for entry in entries:
        found.setdefault(entry.email_lower, []).append(entry)
    return found
