"""Links in content (DECISIONS §8): the media `url` (and `source`, the url when url is empty) are
http, https or a relative path; any other scheme is a 400 naming the field, over the API and in
the admin alike."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from courses.models import Lesson, Media
from lms.validators import validate_content_link
from tests.courses.conftest import failed, ok
from tests.factories import LessonFactory

pytestmark = pytest.mark.django_db

LESSON_BODY = {"title": "Intro video", "description": "Watch this first"}

REFUSED = [
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "  javascript:alert(1)",
    "\x01\x02javascript:alert(1)",
    "\tjava\nscript:alert(1)",
    "java\r\nscript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "DATA:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "FILE:///etc/passwd",
    "//evil.example/x.mp4",
    "\\\\evil.example/x.mp4",
]
ACCEPTED = [
    "https://cdn.example.com/a.mp4",
    "HTTP://cdn.example.com/a.mp4",
    " https://cdn.example.com/a.mp4",
    "/media/lessons/a.mp4",
    "lessons/a.mp4",
    "a.mp4?t=10:30",
    "",
]


@pytest.mark.parametrize("link", REFUSED)
def test_the_validator_refuses_other_schemes(link):
    with pytest.raises(ValidationError):
        validate_content_link(link)


@pytest.mark.parametrize("link", ACCEPTED)
def test_the_validator_accepts_http_https_and_relative_paths(link):
    validate_content_link(link)


@pytest.mark.parametrize("field", ["url", "source"])
@pytest.mark.parametrize("link", REFUSED)
def test_creating_a_lesson_with_a_dangerous_media_link_is_400(admin_client, field, link):
    body = {**LESSON_BODY, "mediaContent": {"format": "video", field: link}}

    response = failed(admin_client.post("/lessons", body, format="json"), 400, "ERR_VALIDATION")

    assert list(response["result"]["errors"]) == [f"mediaContent.{field}"]
    assert "scheme" in response["params"]["errmsg"] or "//" in response["params"]["errmsg"]
    assert not Lesson.objects.exists() and not Media.objects.exists()


def test_multipart_bracketed_media_url_is_checked(admin_client):
    body = {**LESSON_BODY, "mediaContent[format]": "video", "mediaContent[url]": "javascript:alert(1)"}

    response = failed(admin_client.post("/lessons", body, format="multipart"), 400)

    assert "mediaContent.url" in response["result"]["errors"]


def test_multipart_media_content_as_json_string_is_checked(admin_client):
    body = {**LESSON_BODY, "mediaContent": json.dumps({"url": "data:text/html,<b>x</b>"})}

    response = failed(admin_client.post("/lessons", body, format="multipart"), 400)

    assert "mediaContent.url" in response["result"]["errors"]


def test_updating_a_lesson_to_a_dangerous_link_is_400_and_keeps_the_old_one(admin_client, tenant):
    lesson = LessonFactory(tenant=tenant)
    ok(admin_client.put(f"/lessons/{lesson.pk}", {"mediaContent": {"url": "https://cdn.example.com/a.mp4"}},
                        format="json"))

    failed(admin_client.put(f"/lessons/{lesson.pk}", {"mediaContent": {"url": "vbscript:x"}}, format="json"), 400)

    lesson.refresh_from_db()
    assert lesson.media.url == "https://cdn.example.com/a.mp4"


@pytest.mark.parametrize("link", ["https://cdn.example.com/a.mp4", "/media/a.mp4"])
def test_safe_links_are_stored(admin_client, link):
    result = ok(admin_client.post("/lessons", {**LESSON_BODY, "mediaContent": {"url": link}}, format="json"), 201)

    assert result["mediaContent"]["url"] == link


def test_the_model_clean_refuses_dangerous_links(tenant):
    media = Media(tenant=tenant, url="javascript:alert(1)", source="data:text/html,x")

    with pytest.raises(ValidationError) as raised:
        media.full_clean()

    assert set(raised.value.message_dict) == {"url", "source"}


def test_the_model_clean_accepts_safe_links(tenant):
    Media(tenant=tenant, url="https://cdn.example.com/a.mp4", source="youtube").full_clean()


def test_the_admin_lesson_form_refuses_dangerous_links(client, tenant):
    get_user_model().objects.create_superuser("root", "root@example.invalid", "a-long-admin-password")
    assert client.login(username="root", password="a-long-admin-password")
    data = {
        "tenant": str(tenant.pk), "title": "Admin lesson", "description": "Described", "no_of_attempts": "0",
        "attempts_grade": "highest", "eligibility_criteria": "[]", "status": "published", "params": "{}",
        "media_format": "video", "media_source": "", "media_url": " JAVASCRIPT:alert(1)", "media_params": "{}",
        "placements-TOTAL_FORMS": "0", "placements-INITIAL_FORMS": "0", "placements-MIN_NUM_FORMS": "0",
        "placements-MAX_NUM_FORMS": "1000", "_save": "Save",
    }

    response = client.post("/admin/courses/lesson/add/", data)

    assert response.status_code == 200
    assert "media_url" in response.context["adminform"].form.errors
    assert not Lesson.objects.exists()
