"""Content negotiation's fast path (issue 15): the same answers as DRF's, without parsing Accept.

No Accept header, `*/*` and `application/json` are answered directly; every other value (and
a `?format=` where it switches renderers) goes through DRF's negotiation, 406 included.
"""

from __future__ import annotations

import pytest
from django.http import Http404
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from lms.api.envelope import EnvelopeJSONRenderer
from lms.api.negotiation import ApiContentNegotiation, FastContentNegotiation
from tests.lms.conftest import assert_lms_envelope, bearer_client, claims_for, hs256

pytestmark = pytest.mark.urls("tests.lms.urls_probe")

WHOAMI = "/probe/whoami"
FAST_ACCEPT_VALUES = [None, "*/*", "application/json", " */* "]


@pytest.fixture
def accept_parsed(monkeypatch) -> list[str]:
    """Each Accept header DRF's negotiation parsed."""
    parsed: list[str] = []
    real = DefaultContentNegotiation.get_accept_list

    def spy(self, request):
        tokens = real(self, request)
        parsed.append(",".join(tokens))
        return tokens

    monkeypatch.setattr(DefaultContentNegotiation, "get_accept_list", spy)
    return parsed


def _request(path: str = "/probe/whoami", accept: str | None = None) -> Request:
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    return Request(APIRequestFactory().get(path, **headers))


def _get(tenant, accept: str | None = None, path: str = WHOAMI):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    return bearer_client(hs256(claims_for(tenant_id=tenant.id)), tenant.id).get(path, **headers)


@pytest.mark.parametrize("accept", FAST_ACCEPT_VALUES, ids=["absent", "any", "json", "any-padded"])
def test_the_common_accept_values_are_answered_without_parsing(tenant, accept_parsed, accept):
    response = _get(tenant, accept)

    assert_lms_envelope(response, http_status=200)
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert accept_parsed == []


@pytest.mark.parametrize("accept", FAST_ACCEPT_VALUES, ids=["absent", "any", "json", "any-padded"])
@pytest.mark.parametrize(
    "renderers",
    [[EnvelopeJSONRenderer()], [JSONRenderer(), BrowsableAPIRenderer()]],
    ids=["envelope", "json-then-html"],
)
def test_the_fast_path_chooses_what_drf_chooses(accept, renderers):
    fast = FastContentNegotiation().select_renderer(_request(accept=accept), renderers)
    drf = DefaultContentNegotiation().select_renderer(_request(accept=accept), renderers)

    assert fast == drf


def test_a_first_renderer_that_is_not_json_is_left_to_drf():
    renderers = [BrowsableAPIRenderer(), JSONRenderer()]

    renderer, media_type = FastContentNegotiation().select_renderer(_request(accept="application/json"), renderers)

    assert (renderer, media_type) == (renderers[1], "application/json")


@pytest.mark.parametrize(
    "accept",
    ["text/html, */*;q=0.1", "application/*", "application/json, text/plain, */*"],
    ids=["html-then-any", "application-any", "axios"],
)
def test_other_accept_values_still_negotiate_to_json(tenant, accept_parsed, accept):
    response = _get(tenant, accept)

    assert_lms_envelope(response, http_status=200)
    assert accept_parsed == [accept.replace(", ", ",")]


def test_an_indent_parameter_still_pretty_prints(tenant):
    response = _get(tenant, "application/json; indent=2")

    assert response.status_code == 200
    assert response.content.startswith(b'{\n  "id": "api.probe.whoami"')


@pytest.mark.parametrize("accept", ["text/html", "application/xml", ""], ids=["html", "xml", "empty"])
def test_an_accept_value_no_renderer_serves_is_a_406_in_the_envelope(tenant, accept):
    response = _get(tenant, accept)

    body = assert_lms_envelope(response, http_status=406, err="ERR_NOT_ACCEPTABLE")
    assert body["params"]["errmsg"] == "Ask for application/json."


def test_format_on_an_api_view_is_a_filter_not_a_renderer_switch(tenant, accept_parsed):
    response = _get(tenant, path=f"{WHOAMI}?format=csv")

    assert_lms_envelope(response, http_status=200)
    assert accept_parsed == []
    selected = ApiContentNegotiation().select_renderer(_request(f"{WHOAMI}?format=csv"), [EnvelopeJSONRenderer()])
    assert selected[1] == "application/json"


def test_where_format_switches_renderers_it_still_does(accept_parsed):
    renderers = [JSONRenderer(), BrowsableAPIRenderer()]

    renderer, _ = FastContentNegotiation().select_renderer(_request("/x?format=api"), renderers)

    assert renderer is renderers[1]
    with pytest.raises(Http404):
        FastContentNegotiation().select_renderer(_request("/x?format=csv"), renderers)
