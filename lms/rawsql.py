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

import dataclasses
import datetime as dt
import functools
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db import connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, JSONField, Model, QuerySet


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


def sql_values_rows(
    db: BaseDatabaseWrapper, sql: str, params: Sequence, fields: dict[str, Field], *, native_timestamps: bool = False
) -> list[dict]:
    """Runs a read whose select list is `fields`' columns, in order, and returns its rows as
    `.values()` does: keyed by the names of `fields`, each value converted by its field (JSON
    decoded everywhere; UUIDs, datetimes and booleans parsed on SQLite).

    `native_timestamps`: on PostgreSQL, load `timestamptz` columns with psycopg's own loader (C in
    psycopg[binary]) instead of Django's, a Python subclass that parses each value in Python (some
    5 µs a value: a millisecond for a read of a few hundred). The values are the same (aware, in
    `datetime.timezone.utc`) because Django sets the session's time zone to UTC under USE_TZ; without
    USE_TZ, or with another time zone, Django's loader is kept."""
    names = list(fields)
    return [dict(zip(names, values, strict=True)) for values in sql_rows(
        db, sql, params, fields.values(), native_timestamps=native_timestamps
    )]


def sql_literal(value: int | str) -> str:
    """A constant of the code (a status, a state) as an SQL literal, for a statement's text that is
    built once: never a value from a request, which goes in as a parameter."""
    if isinstance(value, int):
        return str(int(value))
    if not value.isidentifier():
        raise ValueError(f"not a constant of the code: {value!r}")
    return f"'{value}'"


def sql_rows(
    db: BaseDatabaseWrapper, sql: str, params: Sequence, fields: Iterable[Field], *, native_timestamps: bool = False,
    uuids_as_text: bool = False, binary: bool = False,
) -> list[Sequence]:
    """`sql_values_rows` without the names: each row's values in the order of `fields`, converted
    as there (a tuple, or a list where a value needed converting). For a caller that splits a wide
    row into parts: building the dict of every column first cost more than the parts did.

    `uuids_as_text`: on PostgreSQL, every `uuid` value (in arrays too) comes as the text the server
    sent, its canonical form (lowercase, hyphenated, as `str(UUID)`), instead of a `uuid.UUID`: for
    a read whose ids are only written out or compared, building each UUID (its 128-bit int, then
    the object) cost more than the rest of loading it. On SQLite the fields convert them as ever.

    `binary`: on PostgreSQL, the rows come in the binary format: a timestamp is 8 bytes that psycopg
    loads in C (the same aware datetime as its text loader gives, in the session's UTC), where the
    server wrote each as text (some 0.6 µs apiece) for psycopg to parse. For a select list that casts
    its uuid and JSON columns to text (`::text`): in binary a uuid would come as a `uuid.UUID`, and a
    jsonb as decoded by psycopg rather than by the field. Integers, booleans and text load as in text.
    Only where the session's time zone is UTC (`native_timestamps`' condition), as Django sets it under
    USE_TZ; elsewhere the rows come in text as before."""
    converted = _conversions(db.alias, tuple(fields))
    with db.cursor() as cursor:
        if binary and db.vendor == "postgresql" and settings.USE_TZ and db.timezone_name == "UTC":
            # The two text loaders below are of no use to binary rows: not registered (registering
            # copies the cursor's map of loaders).
            from psycopg.pq import Format

            cursor.cursor.format = Format.BINARY
        else:
            if native_timestamps and db.vendor == "postgresql" and settings.USE_TZ and db.timezone_name == "UTC":
                cursor.cursor.adapters.register_loader("timestamptz", _native_timestamptz_loader())
            if uuids_as_text and db.vendor == "postgresql":
                cursor.cursor.adapters.register_loader("uuid", _text_loader())
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    if not converted:
        return fetched
    rows = []
    for values in fetched:
        row = list(values)
        for index, column, converters in converted:
            value = row[index]
            for convert in converters:
                value = convert(value, column, db)
            row[index] = value
        rows.append(row)
    return rows


@functools.cache
def _text_loader():
    # psycopg's loader of `text` (C in psycopg[binary]): the value's bytes decoded, nothing parsed.
    import psycopg
    from psycopg.postgres import types
    from psycopg.pq import Format

    return psycopg.adapters.get_loader(types["text"].oid, Format.TEXT)


@functools.cache
def _native_timestamptz_loader():
    import psycopg
    from psycopg.postgres import types
    from psycopg.pq import Format

    return psycopg.adapters.get_loader(types["timestamptz"].oid, Format.TEXT)


# (alias, the fields' ids) -> (the fields, their conversion plan). Keyed by identity because a
# Field's own hash is Python code over three attributes: an lru_cache keyed by the fields hashed
# some 50 of them per read, about 15 µs of a learner-home request. The fields are kept in the entry
# and compared on a hit (identity first, so at C speed): an id reused by another object never
# answers for it. Bounded: the reads of the code base, not the requests, make the keys.
_conversion_plans: dict[tuple, tuple[tuple[Field, ...], tuple]] = {}
_CONVERSION_PLANS_MAX = 256


def _conversions(alias: str, fields: tuple[Field, ...]) -> tuple[tuple[int, Any, list], ...]:
    """The fields that need converting on this database, with their converters: fixed per
    model and database, so worked out once (most need none on PostgreSQL)."""
    key = (alias, tuple(map(id, fields)))
    entry = _conversion_plans.get(key)
    if entry is not None and entry[0] == fields:
        return entry[1]
    plan = _conversion_plan(alias, fields)
    if len(_conversion_plans) < _CONVERSION_PLANS_MAX:
        _conversion_plans[key] = (fields, plan)
    return plan


def _conversion_plan(alias: str, fields: tuple[Field, ...]) -> tuple[tuple[int, Any, list], ...]:
    db = connections[alias]
    plan = []
    for index, field in enumerate(fields):
        column = field.get_col(field.model._meta.db_table)
        converters = [
            _fast_json(converter) for converter in (*db.ops.get_db_converters(column), *column.get_db_converters(db))
        ]
        if converters:
            plan.append((index, column, converters))
    return tuple(plan)


# ---------------------------------------------------------------------------------------------
# Querysets compiled once

_STAND_IN_BASE = 0x5EED_0000_0000_4000_8000_0000_0000_0000


@dataclasses.dataclass(frozen=True)
class CompiledQuery:
    """A queryset's SQL with, per parameter, the name of the id it takes (None: the fixed value), its
    column names as `.values()` names them, and the converters its columns need on this database."""

    sql: str
    slots: tuple[str | None, ...]
    fixed: tuple
    names: tuple[str, ...] = ()
    converters: tuple = ()  # (position, converter functions, expression), only the columns that need any

    def params(self, **ids: uuid.UUID) -> list:
        """The parameters with the given ids in their places, adapted for this database."""
        adapted = dict(zip(ids, adapt_params(ids.values()), strict=True))
        return [adapted[slot] if slot is not None else value for slot, value in zip(self.slots, self.fixed, strict=True)]

    def values(self, *, suffix: str = "", suffix_params: Sequence = (), **ids: uuid.UUID) -> list[dict]:
        """Runs it (with `suffix`, e.g. a LIMIT, appended) and returns its rows as the queryset's
        `.values()` would: keyed by its names, each value through the converters `.values()` runs."""
        rows = self.tuples(suffix=suffix, suffix_params=suffix_params, **ids)
        return [dict(zip(self.names, values, strict=True)) for values in rows]

    def tuples(self, *, suffix: str = "", suffix_params: Sequence = (), **ids: uuid.UUID) -> list[tuple]:
        """`values()`'s rows as tuples in the order of `names`: for a hot caller that reads the
        columns by position rather than pay a dict per row."""
        with connection.cursor() as cursor:
            cursor.execute(self.sql + suffix, [*self.params(**ids), *suffix_params])
            fetched = cursor.fetchall()
        if not self.converters:
            return fetched
        rows = []
        for values in fetched:
            values = list(values)
            for position, functions, expression in self.converters:
                for function in functions:
                    values[position] = function(values[position], expression, connection)
            rows.append(tuple(values))
        return rows


_compiled: dict[tuple, CompiledQuery] = {}


def compiled_once(key: tuple, build: Callable[..., QuerySet], names: Sequence[str]) -> CompiledQuery:
    """`build(**ids)`'s SQL, compiled on first use per database and `key`, then reused.

    On a hot path, compiling a queryset with nested subqueries costs several times running it.
    `build` takes the ids named in `names` (UUIDs only) and must use them as plain parameters:
    it is compiled once with stand-in ids, whose places in the parameters the later calls fill.
    """
    cache_key = (connection.alias, connection.vendor, key)
    compiled = _compiled.get(cache_key)
    if compiled is None:
        stand_ins = {name: uuid.UUID(int=_STAND_IN_BASE + index) for index, name in enumerate(names)}
        query = build(**stand_ins).query
        compiler = query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        places = {value: name for name, stand_in in stand_ins.items() for value in (stand_in, stand_in.hex)}
        slots = tuple(places.get(value) if isinstance(value, (uuid.UUID, str)) else None for value in params)
        missing = set(names) - set(slots)
        if missing:
            raise ValueError(f"compiled_once: the query does not take {sorted(missing)} as parameters")
        expressions = [select[0] for select in compiler.select[: compiler.col_count]]
        converters = tuple(
            (position, functions, expression)
            for position, expression in enumerate(expressions)
            if (functions := [*connection.ops.get_db_converters(expression), *expression.get_db_converters(connection)])
        )
        names = list(query.selected) if query.selected else [
            *query.extra_select, *query.values_select, *query.annotation_select
        ]
        compiled = _compiled[cache_key] = CompiledQuery(
            sql=sql, slots=slots, fixed=tuple(params), names=tuple(names), converters=converters
        )
    return compiled


def _fast_json(converter):
    """`converter`, or for a JSONField's `from_db_value` without a custom decoder, the same with the
    empty object and the empty list decoded without it: `json.loads` and Django's call around it cost
    some 1.5 µs a value, and a home page decodes three a course (`params` and the category ids),
    mostly empty. Both databases return exactly `{}` and `[]` for them; any other text goes to
    Django's decoder as before. Each call returns a new container (callers may fill it)."""
    field = getattr(converter, "__self__", None)
    if getattr(converter, "__func__", None) is not JSONField.from_db_value or field.decoder is not None:
        return converter

    def from_db_value(value, expression, connection):
        if value == "{}":
            return {}
        if value == "[]":
            return []
        return converter(value, expression, connection)

    return from_db_value
