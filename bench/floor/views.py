"""The floors served by the app. They pass through exactly what every API view passes through
(JWT authentication, tenant resolution, permission check, the envelope renderer) and then do
the least work a read or a write can do, so a scenario's ratio to them measures only the
scenario's own cost. The server's own ceiling, `wsgi-hello`, is not a Django view at all:
see bench/wsgi_hello.py."""

from __future__ import annotations

import uuid

from django.db import connection
from django.utils import timezone
from rest_framework.response import Response

from bench.floor.models import FloorUpsertRow
from lms.api.errors import ApiError
from lms.api.views import TenantScopedAPIView
from lms.rawsql import adapt_params

_HELLO = {"hello": "world", "service": "lms"}


class DrfHelloView(TenantScopedAPIView):
    """GET /bench/drf-hello: a constant small JSON; the ceiling for a DRF read."""

    api_id = "api.bench.hello"

    def get(self, request):
        return Response(_HELLO)


class DbHelloView(TenantScopedAPIView):
    """GET /bench/db-hello: one primary-key SELECT of one small row (the caller's tenant); the least
    that any read endpoint must do, and the baseline of the reads' budgets (issue 15)."""

    api_id = "api.bench.db"

    def get(self, request):
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, name FROM lms_tenant WHERE id = %s", adapt_params([request.tenant_id]))
            row = cursor.fetchone()
        # SQLite hands the id back as 32 hex digits, PostgreSQL as a UUID.
        return Response({"id": str(uuid.UUID(str(row[0]))), "name": row[1]})


class RawUpsertView(TenantScopedAPIView):
    """POST /bench/raw-upsert {"key": uuid}: one INSERT … ON CONFLICT DO UPDATE; the ceiling for a DRF write."""

    api_id = "api.bench.upsert"

    def post(self, request):
        raw_key = request.data.get("key") if isinstance(request.data, dict) else None
        try:
            key = uuid.UUID(str(raw_key))
        except ValueError:
            raise ApiError("Send `key` as a UUID.", code="ERR_VALIDATION") from None
        table = FloorUpsertRow._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (tenant_id, key, hits, updated_at) VALUES (%s, %s, 1, %s) "
                f"ON CONFLICT (tenant_id, key) DO UPDATE SET hits = {table}.hits + 1, updated_at = excluded.updated_at",
                adapt_params([request.tenant_id, key, timezone.now()]),
            )
        return Response({"key": str(key)})
