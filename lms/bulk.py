"""Inserting many rows in one statement, on PostgreSQL and SQLite alike.

`QuerySet.bulk_create` splits its INSERT by Django's SQLite limit of 999 parameters (about 58
enrollments a statement), so a bulk write costs queries in proportion to its rows. SQLite since
3.32 takes 32,766 parameters and PostgreSQL 65,535, so the rows of one bulk call (at most a few
thousand cells) fit one statement; this helper writes it, with the values prepared by each
model field exactly as the ORM prepares them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from django.db import connections, router
from django.db.models import Model

# The parameters one statement may carry. SQLite's is read from the connection when Python
# can (3.11+); 999 is the old compile-time default.
_POSTGRES_MAX_PARAMS = 65_535


def _max_params(db) -> int:
    if db.vendor == "sqlite":
        db.ensure_connection()
        try:
            return db.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        except AttributeError:  # pragma: no cover - Python < 3.11
            return 999
    return _POSTGRES_MAX_PARAMS


def insert_rows(
    objs: Sequence[Model],
    *,
    skip_conflicts_on: Sequence[str] | None = None,
    returning: Sequence[str] = (),
) -> list[tuple]:
    """INSERTs `objs` (instances of one model, every concrete field set or defaulted) in as few
    statements as the database allows: one for any bulk call of this project.

    `skip_conflicts_on` names the fields of a unique constraint: a row colliding with it is left
    out (ON CONFLICT DO NOTHING), which is how concurrent bulk writes create each row once.
    Returns the `returning` fields of the rows really inserted, as tuples of Python values.
    Raises IntegrityError for any other constraint.
    """
    if not objs:
        return []
    model = type(objs[0])
    db = connections[router.db_for_write(model)]
    quote = db.ops.quote_name
    returned_fields = [model._meta.get_field(name) for name in returning]
    rows_per_statement = max(1, _max_params(db) // len(model._meta.concrete_fields))
    suffix = ""
    if returned_fields:
        suffix += " RETURNING " + ", ".join(quote(field.column) for field in returned_fields)
    inserted: list[tuple] = []
    with db.cursor() as cursor:
        for start in range(0, len(objs), rows_per_statement):
            sql, params = insert_statement(objs[start : start + rows_per_statement], skip_conflicts_on=skip_conflicts_on)
            cursor.execute(sql + suffix, params)
            if returned_fields:
                inserted.extend(
                    tuple(field.to_python(value) for field, value in zip(returned_fields, row, strict=True))
                    for row in cursor.fetchall()
                )
    return inserted


def insert_statement(objs: Sequence[Model], *, skip_conflicts_on: Sequence[str] | None = None) -> tuple[str, list]:
    """The one INSERT of `insert_rows` for `objs` (which must fit one statement), as SQL and
    parameters, for a caller that sends it as a step of a statement of its own (a data-modifying
    WITH on PostgreSQL)."""
    model = type(objs[0])
    db = connections[router.db_for_write(model)]
    quote = db.ops.quote_name
    fields = list(model._meta.concrete_fields)
    columns = ", ".join(quote(field.column) for field in fields)
    row_placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
    params = [field.get_db_prep_save(field.pre_save(obj, add=True), connection=db) for obj in objs for field in fields]
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES " + ", ".join([row_placeholder] * len(objs))
    if skip_conflicts_on:
        target = ", ".join(quote(model._meta.get_field(name).column) for name in skip_conflicts_on)
        sql += f" ON CONFLICT ({target}) DO NOTHING"
    return sql, params
