"""lms.api.fields.JSONObjectField refuses text no database can store (run on SQLite and PostgreSQL).

PostgreSQL's jsonb refuses U+0000 and no driver encodes a lone surrogate, so either one used to
reach the database and answer 500. Enrollment `params` share the field; they are checked here
because the enrollment tests belong to that app.
"""

from __future__ import annotations

import json
import uuid

import pytest
from rest_framework.exceptions import ValidationError

from enrollment.models import Enrollment
from enrollment.services import enrollment_create
from lms.api.fields import JSONObjectField, unstorable_character_at
from tests.factories import build_course


def _refusal(data) -> str:
    with pytest.raises(ValidationError) as refused:
        JSONObjectField().run_validation(data)
    (message,) = refused.value.detail
    return str(message)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"a": "\x00"}, "Must not contain the NUL character (\\u0000); remove it from the value at `a`."),
        ({"\x00": "a"}, "Must not contain the NUL character (\\u0000); remove it from a key of the object."),
        ({"a": {"b": ["ok", {"c": "x\x00y"}]}}, "remove it from the value at `a.b[1].c`."),
        ({"a": [{"k\x00": 1}]}, "remove it from a key of `a[0]`."),
        ('{"a": "\\u0000"}', "remove it from the value at `a`."),
        ({"a": "\ud800"}, "Must not contain the lone surrogate \\ud800; remove it from the value at `a`."),
        ('{"\\udfff": 1}', "Must not contain the lone surrogate \\udfff; remove it from a key of the object."),
    ],
)
def test_json_object_refuses_unstorable_text_naming_the_place(data, message):
    assert message in _refusal(data)


def test_json_object_names_a_long_key_briefly():
    assert len(_refusal({"k" * 5000: "\x00"})) < 200


def test_json_object_keeps_ordinary_text_and_values():
    data = {"a": "tab\there", "emoji": "😀", "n": [1, 2.5, None, True], "nested": {"b": ""}}
    assert JSONObjectField().run_validation(data) == data
    assert unstorable_character_at(data) is None


def test_json_object_walks_deep_nesting_without_recursion():
    data: dict = {"leaf": "\x00"}
    for _ in range(5000):
        data = {"a": data}
    assert unstorable_character_at(data)[0] == "value"


# --- enrollment params through the API ----------------------------------------------------------


@pytest.fixture
def course(tenant):
    return build_course(tenant=tenant, modules=1, lessons_per_module=1)


def _json(body: dict) -> dict:
    # json.dumps escapes a lone surrogate as \\udxxx, as a real client's encoder would; the test
    # client's own encoder cannot encode one at all.
    return {"data": json.dumps(body), "content_type": "application/json"}


def _params_error(response) -> list[str]:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["params"]["status"] == "failed" and body["params"]["errmsg"]
    return body["result"]["errors"]["params"]


@pytest.mark.parametrize("params", [{"a": "\x00"}, {"\x00": 1}, {"a": ["\ud800"]}])
def test_enrollment_create_with_unstorable_params_answers_400(admin_client, course, params):
    body = {"course_id": str(course.pk), "user_id": str(uuid.uuid4()), "params": params}
    assert _params_error(admin_client.post("/enrollments", **_json(body)))
    assert not Enrollment.objects.exists()


@pytest.mark.parametrize("params", [{"a": "\x00"}, {"\x00": 1}, {"a": {"b": "\udc00"}}])
def test_enrollment_update_with_unstorable_params_answers_400(admin_client, tenant, course, params):
    enrollment = enrollment_create(
        tenant_id=tenant.pk, course=course, user_id=uuid.uuid4(), enrolled_by=admin_client.user_id, params={"a": 1}
    )
    assert _params_error(admin_client.put(f"/enrollments/{enrollment.pk}", **_json({"params": params})))
    enrollment.refresh_from_db()
    assert enrollment.params == {"a": 1}
