"""Extended planner statistics, as a migration operation (PostgreSQL only; SQLite has no planner to tell).

A course's rows sit in the course's own batch of one tenant almost always, so `tenant_id`,
`course_id` and `batch_id` are one fact, not three. Unless told, PostgreSQL multiplies their
selectivities, expects a handful of rows where a course has thousands, and picks plans for that
(issue 15: a track update that read every track of a course; a report that looked learners up one
by one). Functional-dependency statistics give it the true counts.
"""

from __future__ import annotations

from django.db import migrations


def dependency_statistics(*, name: str, app_label: str, model_name: str, columns: tuple[str, ...]) -> migrations.RunPython:
    """Create statistics `name` (dependencies) on the model's `columns`, and ANALYZE the table so an
    existing database plans with them at once rather than at autovacuum's next analyse. Reversible."""

    def create(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            table = apps.get_model(app_label, model_name)._meta.db_table
            schema_editor.execute(
                f"CREATE STATISTICS IF NOT EXISTS {name} (dependencies) ON {', '.join(columns)} FROM {table}"
            )
            schema_editor.execute(f"ANALYZE {table}")

    def drop(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"DROP STATISTICS IF EXISTS {name}")

    return migrations.RunPython(create, drop, elidable=False)
