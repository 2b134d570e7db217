"""lms.rawsql.sql_values_rows: rows as `.values()` gives them, converted by their fields."""

from __future__ import annotations

import pytest
from django.db import connection

from courses.models import Course
from lms import rawsql
from lms.rawsql import sql_param, sql_select_list, sql_values_rows
from tests.factories import build_course

pytestmark = pytest.mark.django_db


def test_rows_match_values_and_the_conversion_plan_is_worked_out_once(tenant):
    course = build_course(tenant=tenant, modules=1, lessons_per_module=1)
    # A UUID and a datetime: both converted on SQLite, where they are stored as text.
    fields = {name: Course._meta.get_field(name) for name in ("id", "created_at", "title")}
    sql = (f"SELECT {sql_select_list(connection, fields.values())} FROM {Course._meta.db_table} "
           f"WHERE {connection.ops.quote_name('id')} = %s")
    expected = Course.objects.filter(pk=course.pk).values(*fields)[0]
    rawsql._conversion_plans.clear()

    [row] = sql_values_rows(connection, sql, [sql_param(connection, Course, "id", course.pk)], fields)
    [again] = sql_values_rows(connection, sql, [sql_param(connection, Course, "id", course.pk)], dict(fields))

    assert row == expected == again
    assert len(rawsql._conversion_plans) == 1  # the same fields, another dict: one plan


def test_a_plan_answers_only_for_the_fields_it_was_made_for():
    title, created = Course._meta.get_field("title"), Course._meta.get_field("created_at")
    rawsql._conversion_plans.clear()
    key = (connection.alias, (id(title),))
    # An entry whose key matches but whose fields differ (an id reused by another object) is not used.
    rawsql._conversion_plans[key] = ((created,), ("stale",))

    assert rawsql._conversions(connection.alias, (title,)) == rawsql._conversion_plan(connection.alias, (title,))


def test_sql_rows_are_the_values_rows_without_the_names(tenant):
    course = build_course(tenant=tenant, modules=1, lessons_per_module=1)
    fields = {name: Course._meta.get_field(name) for name in ("id", "created_at", "title", "params")}
    sql = (f"SELECT {sql_select_list(connection, fields.values())} FROM {Course._meta.db_table} "
           f"WHERE {connection.ops.quote_name('id')} = %s")
    params = [sql_param(connection, Course, "id", course.pk)]

    [values] = rawsql.sql_rows(connection, sql, params, fields.values(), native_timestamps=True)

    assert dict(zip(fields, values, strict=True)) == Course.objects.filter(pk=course.pk).values(*fields)[0]


@pytest.mark.parametrize("params", [
    {},
    {"theme": "dark", "ratio": 2.5, "tags": ["é", "\u2028", None, True], "nested": {"n": -0, "e": 1e-7}},
    {"beyond 64 bits": 2**70, "empty": {}, "none": []},
])
def test_json_columns_decode_as_djangos_decoder_does(tenant, params):
    course = build_course(tenant=tenant, modules=1, lessons_per_module=1)
    Course.objects.filter(pk=course.pk).update(params=params)
    fields = {name: Course._meta.get_field(name) for name in ("params", "category_ids")}
    sql = (f"SELECT {sql_select_list(connection, fields.values())} FROM {Course._meta.db_table} "
           f"WHERE {connection.ops.quote_name('id')} = %s")
    rawsql._conversion_plans.clear()

    [row] = sql_values_rows(connection, sql, [sql_param(connection, Course, "id", course.pk)], fields)

    expected = Course.objects.filter(pk=course.pk).values(*fields)[0]
    assert row == expected and row["params"] == params and row["category_ids"] == []
    assert repr(row) == repr(expected)  # the same types (int, float) and key order, not only equal values
    [again] = sql_values_rows(connection, sql, [sql_param(connection, Course, "id", course.pk)], fields)
    assert again["category_ids"] is not row["category_ids"]  # a new container each time
    # The plan decodes the empty containers itself, the rest through Django's `from_db_value`.
    plan = rawsql._conversion_plan(connection.alias, tuple(fields.values()))
    assert [converter.__qualname__ for _, _, converters in plan for converter in converters] == [
        "_fast_json.<locals>.from_db_value", "_fast_json.<locals>.from_db_value",
    ]


def test_uuids_as_text_are_their_canonical_text_on_postgresql_and_uuids_elsewhere(tenant):
    # `uuids_as_text`: on PostgreSQL each uuid (in an array too) is the server's text, which is `str(UUID)`
    # (what orjson writes for a UUID, so answers built from either are the same bytes); a later
    # statement on another cursor loads UUIDs as ever. On SQLite the fields convert as before.
    import uuid

    course = build_course(tenant=tenant, modules=1, lessons_per_module=1)
    fields = [Course._meta.get_field("id"), Course._meta.get_field("tenant")]
    sql = (f"SELECT {sql_select_list(connection, fields)} FROM {Course._meta.db_table} "
           f"WHERE {connection.ops.quote_name('id')} = %s")
    params = [sql_param(connection, Course, "id", course.pk)]

    [row] = rawsql.sql_rows(connection, sql, params, fields, uuids_as_text=True)
    [plain] = rawsql.sql_rows(connection, sql, params, fields)

    if connection.vendor == "postgresql":
        assert list(row) == [str(course.pk), str(tenant.id)]
        [(ids,)] = rawsql.sql_rows(connection, "SELECT ARRAY[%s::uuid, %s::uuid]", [course.pk, tenant.id],
                                   [Course._meta.get_field("content_version")], uuids_as_text=True)
        assert ids == [str(course.pk), str(tenant.id)]
    else:
        assert list(row) == [course.pk, tenant.id]
    assert list(plain) == [course.pk, tenant.id] and all(isinstance(value, uuid.UUID) for value in plain)


def test_binary_rows_are_the_text_rows_for_a_select_list_of_text_ids_and_json(tenant):
    # `binary`: the timestamps load through psycopg's binary loader as the same aware UTC datetimes, and
    # a select list casting its uuid and JSON columns to text (as the learner home's does) gets the
    # same values and types as in the text format; SQLite reads as ever.
    course = build_course(tenant=tenant, modules=1, lessons_per_module=1)
    Course.objects.filter(pk=course.pk).update(params={"a": [1, "\u2028"]})
    names = ("id", "created_at", "updated_at", "start_datetime", "title", "featured", "content_version", "params")
    fields = [Course._meta.get_field(name) for name in names]
    cast = "::text" if connection.vendor == "postgresql" else ""
    columns = [
        f"{column}{cast}" if name in ("id", "params") else column
        for name, column in zip(names, sql_select_list(connection, fields).split(", "), strict=True)
    ]
    sql = f"SELECT {', '.join(columns)} FROM {Course._meta.db_table} WHERE {connection.ops.quote_name('id')} = %s"
    params = [sql_param(connection, Course, "id", course.pk)]

    [binary] = rawsql.sql_rows(connection, sql, params, fields, native_timestamps=True, uuids_as_text=True, binary=True)
    [text] = rawsql.sql_rows(connection, sql, params, fields, native_timestamps=True, uuids_as_text=True)

    assert repr(list(binary)) == repr(list(text))
    assert binary[7] == {"a": [1, "\u2028"]} and binary[1] == Course.objects.get(pk=course.pk).created_at


def test_sql_literal_writes_constants_and_refuses_anything_else():
    from lms.rawsql import sql_literal

    assert sql_literal("in_progress") == "'in_progress'"
    assert sql_literal(2) == "2"
    for not_a_constant in ("x' OR '1'='1", "two words", "a;b", ""):
        with pytest.raises(ValueError):
            sql_literal(not_a_constant)
