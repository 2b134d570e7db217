"""Reads on platform-level records (the learner directory)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.db.models import Q

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
