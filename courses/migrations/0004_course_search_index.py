"""The GIN index behind `GET /courses/search` on PostgreSQL (DECISIONS §11).

An expression index over the very `SearchVector` that `courses.selectors.course_search_vector`
builds, so the planner matches the search's `@@` to it. SQLite has no GIN (the search there is a
plain contains), so the index is created on PostgreSQL only. The text-search language is fixed
when the index is built: after changing LMS_SEARCH_LANGUAGE, migrate this back and forth.
"""

from django.conf import settings
from django.db import migrations

INDEX_NAME = "course_search_gin"


def _index():
    from django.contrib.postgres.indexes import GinIndex
    from django.contrib.postgres.search import SearchVector

    language = getattr(settings, "LMS_SEARCH_LANGUAGE", "english")
    return GinIndex(SearchVector("title", "description", config=language), name=INDEX_NAME)


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model("courses", "Course"), _index())


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("courses", "Course"), _index())


class Migration(migrations.Migration):
    dependencies = [("courses", "0003_categories")]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]
