"""Every JSON body goes through one encoder (lms.api.envelope.encode_json): the bodies that were
once encoded on their own (report, explain, the summary list) escape U+2028/U+2029 as DRF does, so
that the JSON is also valid JavaScript, and a cached course body has the renderer's bytes."""

from __future__ import annotations

import pytest

from courses.api.rendering import encode_result
from courses.models import Course, Lesson
from lms.api.envelope import EnvelopeJSONRenderer
from tests.conftest import make_client
from tests.tracking.insight_world import build_world

pytestmark = pytest.mark.django_db

TITLE = "Line\u2028and paragraph\u2029separators"
ESCAPED = b"Line\\u2028and paragraph\\u2029separators"


def _escaped(response) -> bool:
    assert response.status_code == 200, response.content
    return ESCAPED in response.content and "\u2028".encode() not in response.content


def test_a_title_with_javascript_line_separators_is_escaped_in_report_explain_and_summary_list(tenant):
    world = build_world(tenant)
    # Queryset updates: the titles as stored, with no service bumping versions or recounting.
    Lesson.objects.filter(id=world.lessons[1].id).update(title=TITLE)
    Course.objects.filter(id=world.course.id).update(title=TITLE)
    admin = make_client(tenant_id=tenant.id, roles=["admin"])
    learner = make_client(tenant_id=tenant.id, roles=["learner"], user_id=world.halfway)

    report = admin.get(f"/courses/{world.course.id}/report")
    explain = learner.get("/courses/tracking/explain", {"course_id": str(world.course.id)})
    summaries = learner.get(f"/v1/viewer/summary/list/{world.halfway}")

    assert _escaped(report) and _escaped(explain) and _escaped(summaries)
    # Escaping changes no value.
    assert report.json()["result"]["lessons"][1]["title"] == TITLE
    assert explain.json()["result"]["missing"][0]["title"] == TITLE
    assert summaries.json()["result"]["summary"][0]["collection"]["name"] == TITLE


def test_a_cached_course_body_has_the_renderers_bytes():
    data = {"title": TITLE, "params": {"weight": 1e-05, "ratio": 0.1}, "ordering": 2**63 - 1}

    assert encode_result(data) == EnvelopeJSONRenderer().encode(data, "application/json", {})


def test_an_encoding_kept_in_a_cache_has_the_same_bytes_in_memory_of_its_length():
    # orjson's bytes keep the buffer they were written in (4 KB at least): a cache of many small
    # encodings held that much each. Kept encodings are copied to their length (`encode_json_to_keep`).
    import datetime as dt
    import tracemalloc

    from lms.api.envelope import encode_json, encode_json_to_keep

    data = {"title": TITLE, "at": dt.datetime(2026, 12, 5, 1, 2, 3, tzinfo=dt.UTC), "n": 3}
    assert encode_json_to_keep(data, native_datetimes=True) == encode_json(data, native_datetimes=True)
    assert encode_json_to_keep(data) == encode_json(data)
    tracemalloc.start()
    try:
        kept = [encode_json_to_keep(data) for _ in range(200)]
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held / len(kept) < 4 * len(kept[0]), held / len(kept)
