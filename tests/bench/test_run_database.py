"""Every benchmark run starts from the same data: the run's database is a fresh copy of the finished
seed (bench.session.prepare_database), so earlier runs' writes never reach later runs' reads."""

from __future__ import annotations

import uuid
from urllib.parse import urlunsplit

import psycopg
import pytest
from django.db import connection

from bench.session import keep_finished_seed, prepare_database, seed_copy_name

pytestmark = pytest.mark.postgres

MARKER_TENANT = str(uuid.uuid4())
MARKER_NAME = "Benchmark test (seed 1, v1)"


def server_url(name: str) -> str:
    """The test server, as the bench's own URLs name a database (postgres://…/name)."""
    settings = connection.settings_dict
    netloc = f"{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}"
    return urlunsplit(("postgres", netloc, f"/{name}", "", ""))


def conninfo(name: str) -> str:
    return server_url(name).replace("postgres://", "postgresql://", 1)


def names_on_server(*names: str) -> set[str]:
    with psycopg.connect(conninfo("postgres"), autocommit=True) as admin:
        return {row[0] for row in admin.execute("SELECT datname FROM pg_database WHERE datname = ANY(%s)", [list(names)])}


def tenants_in(name: str) -> list[str]:
    with psycopg.connect(conninfo(name)) as conn:
        return [row[0] for row in conn.execute("SELECT name FROM lms_tenant ORDER BY name")]


@pytest.fixture
def bench_database():
    name = f"lms_bench_test_{uuid.uuid4().hex[:8]}"
    yield name
    with psycopg.connect(conninfo("postgres"), autocommit=True) as admin:
        for stale in (name, seed_copy_name(name)):
            admin.execute(f'DROP DATABASE IF EXISTS "{stale}" WITH (FORCE)')


def prepare(name: str, *, reseed: bool = False) -> bool:
    return prepare_database(database_url=server_url(name), marker_tenant=MARKER_TENANT, marker_name=MARKER_NAME,
                            reseed=reseed)


def seed(name: str) -> None:
    """What a finished seed leaves that prepare_database checks: the marker tenant."""
    with psycopg.connect(conninfo(name), autocommit=True) as conn:
        conn.execute("CREATE TABLE lms_tenant (id uuid PRIMARY KEY, name text NOT NULL)")
        conn.execute("INSERT INTO lms_tenant VALUES (%s, %s)", [MARKER_TENANT, MARKER_NAME])


def test_a_run_starts_from_the_finished_seed_not_from_the_last_runs_writes(bench_database):
    assert prepare(bench_database) is False  # nothing seeded yet: created empty, to be seeded
    seed(bench_database)
    keep_finished_seed(database_url=server_url(bench_database))
    with psycopg.connect(conninfo(bench_database), autocommit=True) as conn:  # a run's writes
        conn.execute("INSERT INTO lms_tenant VALUES (%s, 'written by a run')", [str(uuid.uuid4())])

    assert prepare(bench_database) is True

    assert tenants_in(bench_database) == [MARKER_NAME]
    assert tenants_in(seed_copy_name(bench_database)) == [MARKER_NAME]


def test_reseed_drops_the_finished_seed_too(bench_database):
    prepare(bench_database)
    seed(bench_database)
    keep_finished_seed(database_url=server_url(bench_database))

    assert prepare(bench_database, reseed=True) is False

    assert names_on_server(bench_database, seed_copy_name(bench_database)) == {bench_database}
    with psycopg.connect(conninfo(bench_database)) as conn:
        assert conn.execute("SELECT count(*) FROM pg_class WHERE relname = 'lms_tenant'").fetchone() == (0,)


def test_a_copy_of_another_seed_is_not_kept(bench_database):
    """A seed of another scale, seed or seed version (a different marker) is reseeded."""
    prepare(bench_database)
    seed(bench_database)
    keep_finished_seed(database_url=server_url(bench_database))

    kept = prepare_database(database_url=server_url(bench_database), marker_tenant=MARKER_TENANT,
                            marker_name="Benchmark test (seed 1, v2)", reseed=False)

    assert kept is False
    assert names_on_server(bench_database, seed_copy_name(bench_database)) == {bench_database}


def test_only_benchmark_databases_are_touched():
    from bench.loadgen import HarnessError

    with pytest.raises(HarnessError, match="lms_bench"):
        prepare("lms_production")
