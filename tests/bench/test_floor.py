"""The floor endpoints go through the same stack as every API view: JWT, tenant, envelope."""

import uuid

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.urls("tests.bench.urls")


def test_drf_hello_answers_the_constant_in_the_envelope(learner_client, django_assert_num_queries):
    learner_client.get("/bench/drf-hello")  # the first request resolves the tenant once per process
    with django_assert_num_queries(0):  # authentication and the cached tenant need no query
        response = learner_client.get("/bench/drf-hello")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == "api.bench.hello"
    assert body["params"]["status"] == "successful"
    assert body["result"] == {"hello": "world", "service": "lms"}


def test_drf_hello_needs_a_token(tenant):
    client = APIClient()
    client.credentials(HTTP_TENANTID=str(tenant.id))
    response = client.get("/bench/drf-hello")
    assert response.status_code == 401
    assert response.json()["params"]["err"] == "ERR_UNAUTHORIZED"


def test_db_hello_reads_the_tenant_row_by_primary_key(learner_client, tenant, django_assert_num_queries):
    learner_client.get("/bench/db-hello")  # the first request resolves the tenant once per process
    with django_assert_num_queries(1):  # SELECT id, name FROM lms_tenant WHERE id = the caller's tenant
        response = learner_client.get("/bench/db-hello")
    assert response.status_code == 200
    assert response.json()["result"] == {"id": str(tenant.id), "name": tenant.name}


def test_db_hello_needs_a_token(tenant):
    client = APIClient()
    client.credentials(HTTP_TENANTID=str(tenant.id))
    assert client.get("/bench/db-hello").status_code == 401


def test_wsgi_hello_answers_the_captured_bytes_without_django(tmp_path, monkeypatch):
    import importlib

    body = b'{"id":"api.bench.hello","result":{"hello":"world"}}'
    (tmp_path / "body.json").write_bytes(body)
    monkeypatch.setenv("BENCH_WSGI_HELLO_BODY", str(tmp_path / "body.json"))
    import bench.wsgi_hello as module

    module = importlib.reload(module)
    seen = {}

    def start_response(status, headers):
        seen.update(status=status, headers=dict(headers))

    assert b"".join(module.application({"PATH_INFO": "/bench/wsgi-hello"}, start_response)) == body
    assert seen == {"status": "200 OK",
                    "headers": {"Content-Type": "application/json", "Content-Length": str(len(body))}}
    assert module.application({"PATH_INFO": "/health"}, start_response) == [b'{"status":"ok"}']


def test_raw_upsert_inserts_then_counts_hits_in_one_statement(floor_table, client_for, django_assert_num_queries):
    from lms.models import Tenant

    tenant = Tenant.objects.create(name="Bench")
    client = client_for(tenant)
    key = str(uuid.uuid4())
    assert client.post("/bench/raw-upsert", {"key": key}, format="json").status_code == 200
    with django_assert_num_queries(1):  # the INSERT … ON CONFLICT DO UPDATE
        response = client.post("/bench/raw-upsert", {"key": key}, format="json")
    assert response.status_code == 200
    assert response.json()["result"] == {"key": key}
    row = floor_table.objects.get()
    assert (row.tenant_id, str(row.key), row.hits) == (tenant.id, key, 2)


def test_raw_upsert_keeps_tenants_apart(floor_table, client_for):
    from lms.models import Tenant

    first, second = Tenant.objects.create(name="A"), Tenant.objects.create(name="B")
    key = str(uuid.uuid4())
    client_for(first).post("/bench/raw-upsert", {"key": key}, format="json")
    client_for(second).post("/bench/raw-upsert", {"key": key}, format="json")
    assert sorted(floor_table.objects.values_list("hits", flat=True)) == [1, 1]


def test_raw_upsert_rejects_a_key_that_is_not_a_uuid(learner_client):
    response = learner_client.post("/bench/raw-upsert", {"key": "seven"}, format="json")
    assert response.status_code == 400
    assert response.json()["params"]["errmsg"] == "Send `key` as a UUID."
