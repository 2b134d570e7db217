"""Helpers for the few hand-written statements on the hot paths.

A few hot reads (one course by id, a page of enrollments) and writes (single-statement upserts,
an attempt numbered in its insert) are written as SQL: there, building and compiling a queryset
cost several times the database round trip, or the ORM cannot say it in one statement. Columns,
parameters and the conversion of results still go through the model's fields, so rows are
exactly the rows `.values()` returns, on PostgreSQL and SQLite alike.

Django adapts parameters of ORM queries per database; raw SQL gets them as given. PostgreSQL
(psycopg) takes UUIDs and aware datetimes natively; SQLite, the embedded development and test
database, stores UUIDs as 32-digit hex and datetimes in Django's text form.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model


def adapt_params(params: Iterable) -> list:
    if connection.vendor == "postgresql":
        return list(params)
    return [
        p.hex if isinstance(p, uuid.UUID)
        else connection.ops.adapt_datetimefield_value(p) if isinstance(p, dt.datetime)
        else p
        for p in params
    ]


def sql_column(db: BaseDatabaseWrapper, model: type[Model], name: str) -> str:
    """The quoted, table-qualified column of a model field (`"courses_course"."tenant_id"`)."""
    quote = db.ops.quote_name
    return f"{quote(model._meta.db_table)}.{quote(model._meta.get_field(name).column)}"


def sql_select_list(db: BaseDatabaseWrapper, fields: Iterable[Field]) -> str:
    return ", ".join(sql_column(db, field.model, field.name) for field in fields)


def sql_param(db: BaseDatabaseWrapper, model: type[Model], name: str, value):
    """`value` as the database takes it for the field (a UUID becomes hex text on SQLite)."""
    return model._meta.get_field(name).get_db_prep_value(value, db)


def sql_values_rows(db: BaseDatabaseWrapper, sql: str, params: Sequence, fields: dict[str, Field]) -> list[dict]:
    """Runs a read whose select list is `fields`' columns, in order, and returns its rows as
    `.values()` does: keyed by the names of `fields`, each value converted by its field (JSON
    decoded everywhere; UUIDs, datetimes and booleans parsed on SQLite)."""
    converted = _conversions(db.alias, tuple(fields.values()))
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    names = list(fields)
    rows = []
    for values in fetched:
        row = dict(zip(names, values, strict=True))
        for index, column, converters in converted:
            value = values[index]
            for convert in converters:
                value = convert(value, column, db)
            row[names[index]] = value
        rows.append(row)
    return rows


@functools.lru_cache(maxsize=64)
def _conversions(alias: str, fields: tuple[Field, ...]) -> tuple[tuple[int, Any, list], ...]:
    """The fields that need converting on this database, with their converters: fixed per
    model and database, so worked out once (most need none on PostgreSQL)."""
    db = connections[alias]
    plan = []
    for index, field in enumerate(fields):
        column = field.get_col(field.model._meta.db_table)
        converters = [*db.ops.get_db_converters(column), *column.get_db_converters(db)]
        if converters:
            plan.append((index, column, converters))
    return tuple(plan)
