"""Issue 16 over real HTTP: a player that only reports progress through the viewer moves the course
track and the enrolment, exactly as the issue's reproduction did against a live server."""

from __future__ import annotations

import json
import uuid

import pytest

from lms.api.authentication import mint_token
from tests.live import live_gunicorn, live_tenant  # noqa: F401  (pytest fixtures)

pytestmark = [pytest.mark.live, pytest.mark.django_db]


def _caller(server, tenant_id, roles, user_id=None):
    user_id = user_id or uuid.uuid4()
    token = mint_token(user_id=user_id, tenant_id=tenant_id, roles=roles, ttl_seconds=600)
    headers = {"Authorization": f"Bearer {token}", "tenantid": str(tenant_id), "Content-Type": "application/json"}

    def call(method, path, body=None):
        response = server.request(method, path, body=None if body is None else json.dumps(body).encode(),
                                  headers=headers)
        assert response.header("Content-Type").startswith("application/json"), response.body[:200]
        return response

    call.user_id = user_id
    return call


def _created(response, key: str) -> str:
    assert response.status in (200, 201), response.body[:300]
    return response.json()["result"][key]


def test_a_view_update_alone_moves_the_track_and_the_enrolment_over_http(live_gunicorn, live_tenant):  # noqa: F811
    admin = _caller(live_gunicorn, live_tenant, ["admin"])
    learner = _caller(live_gunicorn, live_tenant, ["learner"])
    course = _created(admin("POST", "/courses", {
        "title": "Live", "shortDescription": "s", "description": "d", "status": "published",
        "startDatetime": "2026-01-01T00:00:00Z", "endDatetime": "2030-12-31T23:59:59Z", "autoEnroll": True}), "courseId")
    module = _created(admin("POST", "/modules", {"title": "M", "description": "d", "courseId": course,
                                                 "status": "published"}), "moduleId")
    lesson = _created(admin("POST", "/lessons", {"title": "L", "description": "d", "courseId": course,
                                                 "moduleId": module, "status": "published"}), "lessonId")
    assert admin("POST", "/enrollments", {"course_id": course, "user_id": str(learner.user_id)}).status == 201

    update = learner("POST", "/v1/view/update", {"request": {
        "userId": str(learner.user_id), "contentId": lesson, "collectionId": course, "batchId": course,
        "progress": 30}})

    assert update.status == 200, update.body[:300]
    read = learner("POST", "/v1/view/read", {"request": {"contentId": [lesson], "collectionId": course}}).json()
    assert (read["result"]["contents"][0]["status"], read["result"]["contents"][0]["progress"]) == (1, 30)
    tracking = learner("GET", f"/courses/tracking?course_id={course}&user_id={learner.user_id}").json()
    (track,) = tracking["result"]["tracking"]
    assert track["status"] == "in_progress" and track["last_accessed_date"] is not None
    (enrollment,) = learner("GET", f"/enrollments?user_id={learner.user_id}").json()["result"]["enrollments"]
    assert enrollment["state"] == 1
