"""The consumption's unique (user, tenant, collection, batch, content) index carries `status` as well
(PostgreSQL only), so the course report's per-lesson counts are an index-only scan: one probe per
enrolled learner, with no heap fetch per row (docs/benchmarks.md, "The fifth pass": the statement
took half the database time at S).

Still `user_id`-led, and still the one index of that key: the index is replaced, not added, so an
insert maintains the same three indexes as before. The price is on the rows whose `status` changes
(in progress to completed, once a row): that update can no longer be HOT. Progress reports change
`progress` and `last_accessed_at` only, and stay HOT.

Built without blocking writes (CONCURRENTLY, outside a transaction); the swap is one ALTER TABLE
that takes the new index over as the constraint (a catalog change under a brief exclusive lock),
keeping the constraint's name, which `ON CONFLICT (columns)` does not depend on anyway; it gives up
after 5 s rather than queue writes behind a long transaction, and a rerun starts over. Reversible
the same way. The model's `UniqueConstraint` is unchanged: SQLite has no covering indexes (Django
would create no constraint at all there for one with `include`), and its index stays as it was.
"""

from django.db import migrations, transaction

TABLE = "tracking_contentconsumption"
NAME = "consumption_unique_context"
KEY = "(user_id, tenant_id, collection_id, batch_id, content_id)"


def _swap(schema_editor, *, include: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    building = f"{NAME}_next"
    # A failed earlier run may have left an invalid index of that name behind.
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {building}")
    schema_editor.execute(f"CREATE UNIQUE INDEX CONCURRENTLY {building} ON {TABLE} {KEY}{include}")
    # Renames the index to the constraint's name. The swap needs the table's exclusive lock for a
    # moment; waiting for it behind a long transaction would stall every write queued behind the
    # swap, so it gives up after a few seconds instead (the migration can simply be run again).
    # SET LOCAL in a transaction of its own: the timeout ends with it, even where a pooler in
    # transaction mode (the topology's PgBouncer) would hand a session-level SET to other clients.
    with transaction.atomic(using=schema_editor.connection.alias):
        schema_editor.execute("SET LOCAL lock_timeout = '5s'")
        schema_editor.execute(
            f"ALTER TABLE {TABLE} DROP CONSTRAINT {NAME}, ADD CONSTRAINT {NAME} UNIQUE USING INDEX {building}"
        )


def include_status(apps, schema_editor) -> None:
    _swap(schema_editor, include=" INCLUDE (status)")


def key_only(apps, schema_editor) -> None:
    _swap(schema_editor, include="")


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ('tracking', '0010_consumption_context_statistics'),
    ]

    operations = [
        migrations.RunPython(include_status, key_only, elidable=False),
    ]
