"""Statements that a table distributed by `user_id` routes to one shard (docs/scaling.md).

A per-user table (consumption, attempts, course tracks, assessments, certificates) can be spread
over PostgreSQL nodes by `user_id` (Citus); a statement then goes to one node only when its filter
fixes `user_id` by equality. Django's `save(update_fields=...)` filters by primary key alone, so
the hot paths save per-user rows through this one UPDATE instead, which costs the same single
statement.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import DatabaseError, models


def save_pinned_to_user(instance: models.Model, *, update_fields: Iterable[str]) -> None:
    """Saves `update_fields` of `instance` in one UPDATE filtered by its primary key and its
    `user_id`. Like `save(update_fields=...)`, it sends no signal for an unchanged `auto_now`
    field (the callers set `updated_at` themselves) and raises DatabaseError when no row matched."""
    model = type(instance)
    values = {name: getattr(instance, name) for name in dict.fromkeys(update_fields)}
    if not values:
        return
    if not model._base_manager.filter(pk=instance.pk, user_id=instance.user_id).update(**values):
        raise DatabaseError(f"Save of {model.__name__} {instance.pk} with update_fields did not affect any rows.")
