"""The API docs work offline (DECISIONS §8): Swagger UI and Redoc serve their own assets."""

from __future__ import annotations

import re

import pytest

# Any URL with a host: http://, https:// or protocol-relative //host in an attribute or a script.
EXTERNAL = re.compile(rb"""(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}""", re.IGNORECASE)
ASSET = re.compile(rb"""(?:src|href)=["']([^"']+)["']""")


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "marker"), [("/api/docs/", b"swagger-ui"), ("/api/redoc/", b"redoc")])
def test_the_docs_page_references_no_external_host(client, path, marker):
    response = client.get(path)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert marker in response.content
    assert EXTERNAL.findall(response.content) == []


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_every_asset_of_the_docs_page_is_served_here(client, path):
    page = client.get(path).content
    assets = [a.decode() for a in ASSET.findall(page)]

    assert any(a.endswith(".js") for a in assets), assets
    for asset in assets:
        assert asset.startswith("/static/"), asset
        response = client.get(asset)
        assert response.status_code == 200, asset
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert len(body) > 100, asset


@pytest.mark.django_db
def test_redoc_reads_the_schema_of_this_service(client):
    response = client.get("/api/redoc/")

    assert b'spec-url="/api/schema/"' in response.content
