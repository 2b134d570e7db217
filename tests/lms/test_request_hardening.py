"""Requests that used to reach the database or DRF internals unchecked answer 4xx envelopes."""

import pytest


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/courses", "/enrollments", "/lessons/tracking", "/courses/tracking"])
def test_a_page_beyond_any_real_one_is_a_400(admin_client, path):
    response = admin_client.get(path, {"page": 9223372036854775808})
    assert response.status_code == 400
    body = response.json()
    assert body["params"]["err"] == "ERR_VALIDATION"
    assert "page" in body["result"]["errors"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/courses", "/enrollments", "/lessons/tracking"])
def test_options_answers_405_in_the_envelope(admin_client, path):
    response = admin_client.options(path)
    assert response.status_code == 405
    assert response.json()["params"]["err"] == "ERR_METHOD_NOT_ALLOWED"


@pytest.mark.django_db
def test_format_query_parameter_is_not_a_renderer_switch(admin_client):
    response = admin_client.get("/enrollments", {"format": "xml"})
    assert response.status_code == 200
    assert response.json()["params"]["status"] == "successful"


def test_pre_rendered_result_is_spliced_into_a_valid_envelope():
    import json

    from rest_framework.response import Response

    from lms.api.envelope import EnvelopeJSONRenderer, PreRenderedJSON

    response = Response(status=200)
    result = {"courseId": "c", "modules": [{"title": "Ünïcode", "lessons": []}]}
    body = EnvelopeJSONRenderer().render(
        PreRenderedJSON(json.dumps(result, ensure_ascii=False, separators=(",", ":")).encode()),
        renderer_context={"response": response, "view": None, "request": None},
    )
    envelope = json.loads(body)
    assert envelope["result"] == result
    assert envelope["params"]["status"] == "successful" and envelope["responseCode"] == 200
