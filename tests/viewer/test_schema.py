"""The viewer endpoints are in the OpenAPI schema with their wrapped request bodies."""

import pytest


@pytest.mark.django_db
def test_viewer_paths_are_documented_with_request_bodies(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    for path in ("/v1/view/start", "/v1/view/update", "/v1/view/end", "/v1/view/read", "/v1/assessment/submit",
                 "/v1/viewer/summary/read", "/v1/program/enrol"):
        body = paths[path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        component = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
        assert component["required"] == ["request"], path
    for path in ("/v1/viewer/summary/list/{user_id}", "/v1/viewer/summary/download/{user_id}",
                 "/v1/summary/download/{user_id}", "/v1/viewer/summary/file/{token}"):
        assert "get" in paths[path], path
    assert "delete" in paths["/v1/summary/delete/{user_id}"]
    update = schema["components"]["schemas"]["ViewProgressRequest"]
    assert update["properties"]["progress"]["maximum"] == 100
