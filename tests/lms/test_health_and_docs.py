"""GET /health, the OpenAPI schema and Swagger UI (DECISIONS §7)."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import DatabaseError
from openapi_spec_validator import validate


def test_health_answers_ok(client, db):
    response = client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_health_needs_no_token_or_tenant_and_costs_one_query(client, db, django_assert_num_queries):
    with django_assert_num_queries(1):  # SELECT 1
        assert client.get("/health").status_code == 200


def test_health_is_503_when_the_database_does_not_answer(client, db, caplog):
    # Patching is the point here: a real outage cannot be staged inside a test transaction.
    with mock.patch("django.db.backends.utils.CursorWrapper.execute", side_effect=DatabaseError("down")):
        response = client.get("/health")

    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert any("database does not answer" in record.getMessage() for record in caplog.records)


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _body(schema: dict, path: str, method: str, code: str) -> dict:
    return _resolve(schema, schema["paths"][path][method]["responses"][code]["content"]["application/json"]["schema"])


def _schema(client) -> dict:
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_schema_is_a_valid_openapi_3_document(client, db):
    schema = _schema(client)

    validate(schema)
    assert schema["openapi"].startswith("3.")


def test_schema_is_also_served_as_json_on_accept(client, db):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    validate(response.json())


@pytest.mark.urls("tests.lms.urls_probe")
def test_probe_schema_is_valid_and_describes_both_envelopes(client, db):
    schema = _schema(client)
    validate(schema)
    components = schema["components"]["schemas"]

    ok = _body(schema, "/probe/whoami", "get", "200")
    assert {"params", "result", "responseCode", "id", "ver", "ts"} <= set(ok["properties"])
    assert ok["properties"]["params"] == {"$ref": "#/components/schemas/LmsResponseParams"}
    assert ok["properties"]["result"] == {"$ref": "#/components/schemas/ProbeOutput"}
    assert ok["properties"]["responseCode"]["type"] == "integer"

    viewer_ok = _body(schema, "/v1/probe/whoami", "get", "200")
    assert viewer_ok["properties"]["params"] == {"$ref": "#/components/schemas/ViewerResponseParams"}
    assert _resolve(schema, viewer_ok["properties"]["responseCode"])["type"] == "string"
    assert "msgid" in components["ViewerResponseParams"]["properties"]

    created = _body(schema, "/probe/whoami", "post", "201")
    assert created["properties"]["result"] == {"$ref": "#/components/schemas/ProbeCreated"}

    errors = schema["paths"]["/probe/whoami"]["get"]["responses"]
    for code in ("400", "401", "403", "404", "500"):
        assert errors[code]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/LmsErrorResponse"}
    error_result = components["LmsErrorResponse"]["properties"]["result"]
    assert "errors" in error_result["properties"]
    viewer_errors = schema["paths"]["/v1/probe/whoami"]["get"]["responses"]["401"]
    assert viewer_errors["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ViewerErrorResponse"}


@pytest.mark.urls("tests.lms.urls_probe")
def test_list_endpoint_schema_puts_the_array_inside_result(client, db):
    schema = _schema(client)

    ok = _body(schema, "/probe/tenants", "get", "200")

    assert ok["properties"]["result"] == {"type": "array", "items": {"$ref": "#/components/schemas/Tenant"}}
    assert ok["required"] == ["id", "ver", "ts", "params", "responseCode", "result"]


@pytest.mark.urls("tests.lms.urls_probe")
def test_schema_documents_bearer_auth_and_the_tenant_header(client, db):
    schema = _schema(client)

    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    operation = schema["paths"]["/probe/whoami"]["get"]
    assert {"bearerAuth": []} in operation["security"]
    tenant_header = next(p for p in operation["parameters"] if p["name"] == "tenantid")
    assert tenant_header["in"] == "header"
    assert tenant_header["required"] is True
    assert tenant_header["schema"]["format"] == "uuid"


@pytest.mark.urls("tests.lms.urls_probe")
def test_undocumented_views_do_not_inherit_the_base_class_docstring(client, db):
    schema = _schema(client)

    assert "description" not in schema["paths"]["/probe/crash"]["get"]
    assert schema["paths"]["/probe/tenants"]["get"]["description"].startswith("Exercises the tenant-scoped")


def test_swagger_ui_serves_html(client, db):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"swagger-ui" in response.content
    assert b"/api/schema/" in response.content


def test_admin_without_slash_redirects_to_the_admin(client, db):
    response = client.get("/admin")

    assert response.status_code == 301
    assert response["Location"] == "/admin/"


def test_admin_login_page_is_html(client, db):
    response = client.get("/admin/login/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


def test_admin_static_assets_are_served(client, db):
    response = client.get("/static/admin/css/base.css")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
