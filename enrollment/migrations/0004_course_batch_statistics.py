from django.db import migrations

# As tracking's consumption_context_dependencies: an enrollment's course and batch are nearly always
# the same (and of one tenant), and without these statistics PostgreSQL expects ~9 of a course's
# 1,000 learners at L, so it drives the course report's per-lesson counts by a lookup per learner
# instead of hashing the learners once.
STATISTICS_NAME = "enrollment_course_batch_dependencies"


def statistics_create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE STATISTICS IF NOT EXISTS {STATISTICS_NAME} (dependencies)"
            " ON tenant_id, course_id, batch_id FROM enrollment_enrollment"
        )
        # Statistics are gathered by ANALYZE: without it an existing database would plan as before
        # until autovacuum next analyses the table.
        schema_editor.execute("ANALYZE enrollment_enrollment")


def statistics_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP STATISTICS IF EXISTS {STATISTICS_NAME}")


class Migration(migrations.Migration):

    dependencies = [
        ('enrollment', '0003_course_report_covering_index'),
    ]

    operations = [
        migrations.RunPython(statistics_create, statistics_drop, elidable=False),
    ]
