"""The search document of a course, stored, with the GIN index on it (DECISIONS §11; PostgreSQL only).

Migration 0004 indexed the document `courses.selectors.course_search_vector` builds as an
expression. The planner then reads the index only when a word is rare: once most of a tenant's
courses match (a bitmap heap scan is charged the same per-row recheck as a sequential scan), it
scans the table and computes `to_tsvector` of every course's title and description on every
search, some 25 µs a course. Stored as a generated column, the document is computed once per
write, and whichever plan runs reads it. The index keeps its name, now on the column. The ORM
never writes the column and no model field names it: only the search's hand-written read
(`tracking.home.catalogue_page`) matches against it. SQLite has no text search (the search there is
a plain contains), so nothing changes there. As with 0004, the language is fixed when the column
is built: after changing LMS_SEARCH_LANGUAGE, migrate this back and forth.
"""

from django.conf import settings
from django.db import migrations

COLUMN = "search_document"
INDEX_NAME = "course_search_gin"


def _document_sql(schema_editor, course_model) -> str:
    """`course_search_vector()` compiled for the table, its columns unqualified (as a generated
    column's expression must name them) and the language inlined: the expression of 0004's index."""
    from django.contrib.postgres.search import SearchVector
    from django.db.models.sql import Query

    connection = schema_editor.connection
    query = Query(course_model)
    language = getattr(settings, "LMS_SEARCH_LANGUAGE", "english")
    sql, params = query.get_compiler(connection=connection).compile(
        SearchVector("title", "description", config=language).resolve_expression(query)
    )
    table = connection.ops.quote_name(course_model._meta.db_table)
    return connection.ops.compose_sql(sql, params).replace(f"{table}.", "")


def store_document(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    course = apps.get_model("courses", "Course")
    table, quote = course._meta.db_table, schema_editor.connection.ops.quote_name
    schema_editor.execute(
        f"ALTER TABLE {quote(table)} ADD COLUMN {quote(COLUMN)} tsvector"
        f" GENERATED ALWAYS AS ({_document_sql(schema_editor, course)}) STORED"
    )
    schema_editor.execute(f"DROP INDEX IF EXISTS {quote(INDEX_NAME)}")
    schema_editor.execute(f"CREATE INDEX {quote(INDEX_NAME)} ON {quote(table)} USING gin ({quote(COLUMN)})")
    schema_editor.execute(f"ANALYZE {quote(table)}")  # the planner's statistics of the new column


def compute_document(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from django.contrib.postgres.indexes import GinIndex
    from django.contrib.postgres.search import SearchVector

    course = apps.get_model("courses", "Course")
    table, quote = course._meta.db_table, schema_editor.connection.ops.quote_name
    schema_editor.execute(f"DROP INDEX IF EXISTS {quote(INDEX_NAME)}")
    schema_editor.execute(f"ALTER TABLE {quote(table)} DROP COLUMN {quote(COLUMN)}")
    language = getattr(settings, "LMS_SEARCH_LANGUAGE", "english")
    schema_editor.add_index(course, GinIndex(SearchVector("title", "description", config=language), name=INDEX_NAME))


class Migration(migrations.Migration):
    dependencies = [("courses", "0004_course_search_index")]

    operations = [migrations.RunPython(store_document, compute_document, elidable=False)]
