"""The topology proofs (docs/scaling.md) run against the real processes of topology/stack.py.

They need nginx, PgBouncer, PostgreSQL and Redis, and take a minute or two, so `make test` skips
them; `make topology` (LMS_TOPOLOGY=1) runs them."""

from __future__ import annotations

import os

import pytest

from topology.client import Client


def pytest_collection_modifyitems(config, items):
    if os.environ.get("LMS_TOPOLOGY") == "1":
        return
    skip = pytest.mark.skip(reason="the multi-process topology runs with `make topology` (LMS_TOPOLOGY=1)")
    for item in items:
        if item.get_closest_marker("topology") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def topology():
    from topology.stack import Topology

    stack = Topology()
    stack.start()
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def workload(topology) -> dict:
    return topology.workload


def client_for(base_url: str, workload: dict, token: str) -> Client:
    return Client(base_url, headers={"Authorization": f"Bearer {token}", "tenantid": workload["tenant_id"]})


@pytest.fixture
def through(topology, workload):
    """`through(base_url, token)`: a JSON client of one entry point (nginx or one instance)."""
    return lambda base_url, token: client_for(base_url, workload, token)
