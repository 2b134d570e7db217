"""Single-statement upserts of consumption rows (the viewer's hot path).

`INSERT … ON CONFLICT DO UPDATE` merges monotonically in the database, so concurrent
start/update/end calls for one content never lose or lower progress, in one round trip.
PostgreSQL and SQLite share the syntax except for the two-argument max.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.db import connection

from tracking.models import ConsumptionStatus, ContentConsumption


def _greatest() -> str:
    return "GREATEST" if connection.vendor == "postgresql" else "MAX"


def _upsert(*, sql_update: str, user_id, tenant_id, collection_id, batch_id, content_id, status, progress,
            view_count, now, completed_at) -> None:
    table = ContentConsumption._meta.db_table
    sql = f"""
        INSERT INTO {table} (id, user_id, tenant_id, collection_id, batch_id, content_id, status, progress,
                             view_count, first_accessed_at, last_accessed_at, completed_at)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (user_id, tenant_id, collection_id, batch_id, content_id) DO UPDATE SET {sql_update}
    """
    params = [uuid.uuid4(), user_id, tenant_id, collection_id, batch_id, content_id, status, progress,
              view_count, now, now, completed_at]
    if connection.vendor != "postgresql":
        params = [p.hex if isinstance(p, uuid.UUID) else p for p in params]
    params = [connection.ops.adapt_datetimefield_value(p) if isinstance(p, dt.datetime) else p for p in params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def consumption_record_view_start(*, user_id, tenant_id, collection_id, batch_id, content_id, now: dt.datetime) -> None:
    """Creates the row in progress, or counts one more view (revisits change nothing else)."""
    _upsert(
        sql_update=(
            f"view_count = {ContentConsumption._meta.db_table}.view_count + 1, "
            "last_accessed_at = excluded.last_accessed_at, "
            f"status = {_greatest()}({ContentConsumption._meta.db_table}.status, excluded.status)"
        ),
        user_id=user_id, tenant_id=tenant_id, collection_id=collection_id, batch_id=batch_id,
        content_id=content_id, status=ConsumptionStatus.IN_PROGRESS, progress=0, view_count=1, now=now,
        completed_at=None,
    )


def consumption_record_progress(*, user_id, tenant_id, collection_id, batch_id, content_id, progress: int,
                                 now: dt.datetime) -> None:
    """Merges progress by maximum while the content is not completed."""
    table = ContentConsumption._meta.db_table
    greatest = _greatest()
    _upsert(
        sql_update=(
            f"progress = CASE WHEN {table}.status < 2 THEN {greatest}({table}.progress, excluded.progress) "
            f"ELSE {table}.progress END, "
            f"status = {greatest}({table}.status, excluded.status), "
            "last_accessed_at = excluded.last_accessed_at"
        ),
        user_id=user_id, tenant_id=tenant_id, collection_id=collection_id, batch_id=batch_id,
        content_id=content_id, status=ConsumptionStatus.IN_PROGRESS, progress=progress, view_count=0, now=now,
        completed_at=None,
    )


def consumption_record_completion(*, user_id, tenant_id, collection_id, batch_id, content_id,
                                   now: dt.datetime) -> None:
    """Status 2 and progress 100; `completed_at` keeps the first completion time."""
    table = ContentConsumption._meta.db_table
    _upsert(
        sql_update=(
            "status = 2, progress = 100, "
            f"completed_at = COALESCE({table}.completed_at, excluded.completed_at), "
            "last_accessed_at = excluded.last_accessed_at"
        ),
        user_id=user_id, tenant_id=tenant_id, collection_id=collection_id, batch_id=batch_id,
        content_id=content_id, status=ConsumptionStatus.COMPLETED, progress=100, view_count=0, now=now,
        completed_at=now,
    )
