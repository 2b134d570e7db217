import pytest
from django.db import connection

from bench.floor.models import FloorUpsertRow


@pytest.fixture
def floor_table(transactional_db):
    """The floor's one table. The app is installed only with LMS_BENCH_ENDPOINTS=true, so the test
    database lacks it; a transactional test creates and drops it (SQLite alters schemas only outside
    a transaction)."""
    with connection.schema_editor() as editor:
        editor.create_model(FloorUpsertRow)
    yield FloorUpsertRow
    with connection.schema_editor() as editor:
        editor.delete_model(FloorUpsertRow)
