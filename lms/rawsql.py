"""Parameters for the few hand-written statements on the hot paths (single-statement upserts).

Django adapts parameters of ORM queries per database; raw SQL gets them as given. PostgreSQL
(psycopg) takes UUIDs and aware datetimes natively; SQLite, the embedded development and test
database, stores UUIDs as 32-digit hex and datetimes in Django's text form.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

from django.db import connection


def adapt_params(params: Iterable) -> list:
    if connection.vendor == "postgresql":
        return list(params)
    return [
        p.hex if isinstance(p, uuid.UUID)
        else connection.ops.adapt_datetimefield_value(p) if isinstance(p, dt.datetime)
        else p
        for p in params
    ]
