"""Bodies outside the schema are refused, not coerced (found by the fuzzing pass, DECISIONS §8)."""

from __future__ import annotations

import pytest

from tests.factories import build_course
from tests.lms.conftest import assert_lms_envelope

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("value", [0, 1.5, True, ["text"], {"text": 1}])
def test_a_non_string_where_text_belongs_is_400_and_nothing_is_created(admin_client, tenant, value):
    course = build_course(tenant=tenant, modules=0)

    response = admin_client.post(
        "/modules", {"title": "Basics", "description": value, "courseId": str(course.id)}, format="json"
    )

    body = assert_lms_envelope(response, http_status=400, err="ERR_VALIDATION")
    assert "description" in body["result"]["errors"]
    assert "JSON string" in body["result"]["errors"]["description"][0]
    assert not course.modules.exists()


def test_text_in_a_multipart_form_is_still_text(admin_client, tenant):
    course = build_course(tenant=tenant, modules=0)

    response = admin_client.post("/modules", {"title": "0", "description": "0", "courseId": str(course.id)},
                                 format="multipart")

    assert response.status_code == 201, response.json()


def test_a_multipart_body_whose_parts_name_no_field_is_400_not_an_empty_update(admin_client, tenant):
    course = build_course(tenant=tenant, modules=0)
    before = course.updated_at

    response = admin_client.generic(
        "PUT", f"/courses/{course.id}", b"--b\r\n[]--b--\r\n", content_type="multipart/form-data; boundary=b"
    )

    body = assert_lms_envelope(response, http_status=400, err="ERR_BAD_REQUEST")
    assert "Content-Disposition" in body["params"]["errmsg"]
    course.refresh_from_db()
    assert course.updated_at == before


def test_an_empty_multipart_form_is_still_an_empty_update(admin_client, tenant):
    course = build_course(tenant=tenant, modules=0)

    response = admin_client.generic(
        "PUT", f"/courses/{course.id}", b"--b--\r\n", content_type="multipart/form-data; boundary=b"
    )

    assert response.status_code == 200, response.json()
