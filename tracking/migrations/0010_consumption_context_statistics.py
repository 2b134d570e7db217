from django.db import migrations

from lms.db.statistics import dependency_statistics

# The tenant, course and batch of a consumption row are not independent (lms.db.statistics): without
# the statistics PostgreSQL expects ~100 of a course's 10,000 rows at L and sorts them for the
# report's GROUP BY instead of hashing them. (A course-leading covering index was tried beside
# them and left out: it is maintained by every progress write on the hottest table and did not
# move the report under load; docs/benchmarks.md.)


class Migration(migrations.Migration):

    dependencies = [
        ('tracking', '0009_track_context_statistics'),
    ]

    operations = [
        dependency_statistics(
            name="consumption_context_dependencies", app_label="tracking", model_name="ContentConsumption",
            columns=("tenant_id", "collection_id", "batch_id"),
        ),
    ]
