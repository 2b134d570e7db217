"""Tells PostgreSQL's planner that a course track's batch follows from its course (issue 15).

A batch is almost always the course itself (batchId defaults to the course id), so `course_id`
and `batch_id` are one fact, not two. Without these statistics the planner multiplies their
selectivities and estimates one track per (tenant, course, batch): `track_course_batch` then
looks as good as `track_user_context` for a lookup of one learner's track, and the two tie. The
hot writes run as prepared statements, whose generic plans have no values to break the tie with;
at L the progress reports (`POST /v1/view/update`, `PUT /lessons/tracking/:id`) took
`track_course_batch` and read every track of the course (~800 buffers) to update one. With the
dependency known, (tenant, course, batch) estimates a course's tracks and the learner's own index
wins. ANALYZE builds the statistics now rather than at the next autoanalyze. PostgreSQL only:
SQLite has no extended statistics.
"""

from django.db import migrations

from lms.db.statistics import dependency_statistics


class Migration(migrations.Migration):
    dependencies = [("tracking", "0008_hot_rows_time_ordered_ids")]

    operations = [
        dependency_statistics(
            name="track_context_dependencies", app_label="tracking", model_name="CourseTrack",
            columns=("tenant_id", "course_id", "batch_id"),
        ),
    ]
