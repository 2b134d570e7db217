"""The consumption's unique context index carries `status` on PostgreSQL (migration 0011).

The course report's per-lesson counts read (content, status) for each enrolled learner's rows of
the course context; with `status` in the index that is an index-only scan, one probe per learner
and no heap fetch per row (docs/benchmarks.md, "The fifth pass"). The index stays `user_id`-led
and is still the constraint the upserts' `ON CONFLICT (…)` names.
"""

from __future__ import annotations

import pytest
from django.db import connection

from tracking.models import ContentConsumption

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _index_definition(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_indexdef(con.conindid) FROM pg_constraint con"
            " WHERE con.conname = %s AND con.conrelid = %s::regclass AND con.contype = 'u'",
            [name, ContentConsumption._meta.db_table],
        )
        row = cursor.fetchone()
    assert row, f"no unique constraint {name}"
    return row[0]


def test_the_unique_context_index_leads_with_the_user_and_includes_status():
    definition = _index_definition("consumption_unique_context")
    assert "(user_id, tenant_id, collection_id, batch_id, content_id) INCLUDE (status)" in definition, definition
