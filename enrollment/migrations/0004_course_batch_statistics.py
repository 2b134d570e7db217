"""Statistics as tracking's consumption_context_dependencies (lms.db.statistics): an enrollment's
course and batch are nearly always the same (and of one tenant), and without them PostgreSQL
expects ~9 of a course's 1,000 learners at L, so it drives the course report's per-lesson counts by
a lookup per learner instead of hashing the learners once."""

from django.db import migrations

from lms.db.statistics import dependency_statistics


class Migration(migrations.Migration):

    dependencies = [
        ('enrollment', '0003_course_report_covering_index'),
    ]

    operations = [
        dependency_statistics(
            name="enrollment_course_batch_dependencies", app_label="enrollment", model_name="Enrollment",
            columns=("tenant_id", "course_id", "batch_id"),
        ),
    ]
