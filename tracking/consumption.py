"""Single-statement upserts of consumption rows (the viewer's hot path).

`INSERT … ON CONFLICT DO UPDATE` merges monotonically in the database, so concurrent
start/update/end calls for one content never lose or lower progress, in one round trip.
PostgreSQL and SQLite share the syntax except for the two-argument max.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.db import connection

from lms.ids import time_ordered_uuid
from lms.rawsql import adapt_params
from tracking.models import ConsumptionStatus, ContentConsumption


def _greatest() -> str:
    return "GREATEST" if connection.vendor == "postgresql" else "MAX"


# A named placeholder, `%(name)s`.
_NAMED_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@dataclass(frozen=True)
class SqlCondition:
    """A boolean SQL expression with named placeholders, e.g. `EXISTS (SELECT 1 FROM … WHERE
    e.user_id = %(user_id)s)`. It may name the written row's keys (`user_id`, `tenant_id`,
    `collection_id`, `batch_id`, `content_id`), which the statement binds, and its own values in
    `params`. Named, so a statement that binds each value once (PostgreSQL: one `$n` per name) can
    carry it as it is; constant text, so such a statement can be built once."""

    sql: str
    params: Mapping = field(default_factory=dict)

    def positional(self, keys: Mapping) -> tuple[str, list]:
        """The condition with `%s` placeholders and its values in their order, `keys` filling the
        row's keys: for a statement whose other parameters are positional."""
        values = {**keys, **self.params}
        return _NAMED_PLACEHOLDER.sub("%s", self.sql), [values[name] for name in _NAMED_PLACEHOLDER.findall(self.sql)]


# The row's columns and the conflict target every upsert here uses; exposed for statements that
# upsert consumption as one step of a larger single statement (see tracking.services).
INSERT_COLUMNS = (
    "id, user_id, tenant_id, collection_id, batch_id, content_id, status, progress, view_count, "
    "first_accessed_at, last_accessed_at, completed_at"
)
CONFLICT_TARGET = "(user_id, tenant_id, collection_id, batch_id, content_id)"


def progress_merge_sql() -> str:
    """The ON CONFLICT update of a progress report: progress by maximum while not completed."""
    table = ContentConsumption._meta.db_table
    greatest = _greatest()
    return (
        f"progress = CASE WHEN {table}.status < 2 THEN {greatest}({table}.progress, excluded.progress) "
        f"ELSE {table}.progress END, "
        f"status = {greatest}({table}.status, excluded.status), "
        "last_accessed_at = excluded.last_accessed_at"
    )


def _upsert_statement(*, sql_update: str, user_id, tenant_id, collection_id, batch_id, content_id, status, progress,
                      view_count, now, completed_at, only_if: SqlCondition | None = None) -> tuple[str, list]:
    """The upsert as SQL and its (unadapted) parameters. With `only_if`, nothing is written unless
    the condition holds when the statement runs (`INSERT … SELECT … WHERE`), so a check and its
    write cannot drift apart."""
    table = ContentConsumption._meta.db_table
    # SQLite needs the WHERE clause of an INSERT … SELECT before ON CONFLICT to parse it.
    condition_sql, condition_params = (only_if or _ALWAYS).positional({
        "user_id": user_id, "tenant_id": tenant_id, "collection_id": collection_id, "batch_id": batch_id,
        "content_id": content_id,
    })
    sql = f"""
        INSERT INTO {table} ({INSERT_COLUMNS})
        SELECT %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s WHERE {condition_sql}
        ON CONFLICT {CONFLICT_TARGET} DO UPDATE SET {sql_update}
    """
    params = [time_ordered_uuid(), user_id, tenant_id, collection_id, batch_id, content_id, status, progress,
              view_count, now, now, completed_at, *condition_params]
    return sql, params


_ALWAYS = SqlCondition("1 = 1")


def _upsert(**statement) -> bool:
    """One statement (see `_upsert_statement`). Returns whether a row was inserted or updated."""
    sql, params = _upsert_statement(**statement)
    with connection.cursor() as cursor:
        cursor.execute(sql, adapt_params(params))
        return cursor.rowcount > 0


def view_start_merge_sql() -> str:
    """The ON CONFLICT update of a view start: one more view, nothing else but the access time."""
    table = ContentConsumption._meta.db_table
    return (
        f"view_count = {table}.view_count + 1, last_accessed_at = excluded.last_accessed_at, "
        f"status = {_greatest()}({table}.status, excluded.status)"
    )


def consumption_record_view_start(*, user_id, tenant_id, collection_id, batch_id, content_id, now: dt.datetime) -> None:
    """Creates the row in progress, or counts one more view (revisits change nothing else)."""
    _upsert(
        sql_update=view_start_merge_sql(),
        user_id=user_id, tenant_id=tenant_id, collection_id=collection_id, batch_id=batch_id,
        content_id=content_id, status=ConsumptionStatus.IN_PROGRESS, progress=0, view_count=1, now=now,
        completed_at=None,
    )


def _progress_upsert(*, progress: int, **keys) -> dict:
    return {"sql_update": progress_merge_sql(), "status": ConsumptionStatus.IN_PROGRESS, "progress": progress,
            "view_count": 0, "completed_at": None, **keys}


def consumption_record_progress(*, user_id, tenant_id, collection_id, batch_id, content_id, progress: int,
                                 now: dt.datetime, only_if: SqlCondition | None = None) -> bool:
    """Merges progress by maximum while the content is not completed. With `only_if`, writes
    only when the condition holds; returns whether a row was written."""
    return _upsert(**_progress_upsert(
        user_id=user_id, tenant_id=tenant_id, collection_id=collection_id, batch_id=batch_id,
        content_id=content_id, progress=progress, now=now, only_if=only_if,
    ))


def consumption_completion_statement(*, user_id, tenant_id, collection_id, batch_id, content_id,
                                     now: dt.datetime) -> tuple[str, list]:
    """`consumption_record_completion`'s upsert as SQL and (adapted) parameters, returning one row
    with `is_first` (1 or 0), for a statement that wraps it."""
    table = ContentConsumption._meta.db_table
    sql, params = _upsert_statement(
        sql_update=(
            "status = 2, progress = 100, "
            f"completed_at = COALESCE({table}.completed_at, excluded.completed_at), "
            "last_accessed_at = excluded.last_accessed_at"
        ),
        user_id=user_id, tenant_id=tenant_id, collection_id=collection_id, batch_id=batch_id,
        content_id=content_id, status=ConsumptionStatus.COMPLETED, progress=100, view_count=0, now=now,
        completed_at=now,
    )
    # Compared in SQL against the same adapted value the insert wrote, so both databases agree.
    sql += " RETURNING CASE WHEN completed_at = %s THEN 1 ELSE 0 END AS is_first"
    return sql, adapt_params([*params, now])


def consumption_record_completion(*, user_id, tenant_id, collection_id, batch_id, content_id,
                                   now: dt.datetime) -> bool:
    """Status 2 and progress 100; `completed_at` keeps the first completion time. Returns whether
    this was the first completion in the context (the row's `completed_at` is this call's), read
    from the same statement, so a repeated completion costs no extra query."""
    sql, params = consumption_completion_statement(
        user_id=user_id, tenant_id=tenant_id, collection_id=collection_id, batch_id=batch_id, content_id=content_id,
        now=now,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return bool(row and row[0])
