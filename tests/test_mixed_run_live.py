"""A mixed run over real HTTP: learners move through one course by the LMS tracking API, by the
viewer, or by both; afterwards every read agrees and the recount (dry run) finds nothing to fix."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest

from lms.api.authentication import mint_token
from tests.live import live_gunicorn, live_tenant  # noqa: F401  (pytest fixtures)

pytestmark = [pytest.mark.live, pytest.mark.django_db]


def _caller(server, tenant_id, roles, user_id=None):
    user_id = user_id or uuid.uuid4()
    token = mint_token(user_id=user_id, tenant_id=tenant_id, roles=roles, ttl_seconds=600)
    headers = {"Authorization": f"Bearer {token}", "tenantid": str(tenant_id), "Content-Type": "application/json"}

    def call(method, path, body=None, *, expect=(200, 201)):
        response = server.request(method, path, body=None if body is None else json.dumps(body).encode(),
                                  headers=headers)
        assert response.status in expect, (method, path, response.status, response.body[:300])
        return response.json()["result"]

    call.user_id = user_id
    return call


def test_every_read_agrees_and_the_recount_finds_nothing_after_a_mixed_run(live_gunicorn, live_tenant):  # noqa: F811
    admin = _caller(live_gunicorn, live_tenant, ["admin"])
    course = admin("POST", "/courses", {
        "title": "Mixed", "shortDescription": "s", "description": "d", "status": "published",
        "startDatetime": "2026-01-01T00:00:00Z", "endDatetime": "2030-12-31T23:59:59Z"})["courseId"]
    lessons = []
    for m in range(2):
        module = admin("POST", "/modules", {"title": f"M{m}", "description": "d", "courseId": course,
                                             "status": "published"})["moduleId"]
        for n in range(2):
            lessons.append(admin("POST", "/lessons", {"title": f"L{m}{n}", "description": "d", "courseId": course,
                                                      "moduleId": module, "status": "published"})["lessonId"])
    learners = [_caller(live_gunicorn, live_tenant, ["learner"]) for _ in range(4)]
    for learner in learners:
        admin("POST", "/enrollments", {"course_id": course, "user_id": str(learner.user_id)})

    def by_attempt(learner, lesson):
        attempt = learner("POST", "/lessons/tracking", {"lesson_id": lesson, "course_id": course,
                                                         "user_id": str(learner.user_id)})
        learner("PUT", f"/lessons/tracking/{attempt['id']}", {
            "lesson_id": lesson, "user_id": str(learner.user_id), "status": "completed", "total_content": 1,
            "current_position": 1, "time_spent": 30})

    def by_viewer(learner, lesson, *, progress=100):
        context = {"userId": str(learner.user_id), "contentId": lesson, "collectionId": course, "batchId": course}
        learner("POST", "/v1/view/start", {"request": context})
        learner("POST", "/v1/view/update", {"request": {**context, "progress": progress}})
        if progress == 100:
            learner("POST", "/v1/view/end", {"request": context})

    everything, lms_api, viewer, both, started = [*learners[:3], learners[3]], *learners[:3], learners[3]
    for lesson in lessons:
        by_attempt(lms_api, lesson)
        by_viewer(viewer, lesson)
    for index, lesson in enumerate(lessons[:3]):
        (by_attempt if index % 2 else by_viewer)(both, lesson)
    by_viewer(started, lessons[0], progress=40)

    expected = {lms_api.user_id: 4, viewer.user_id: 4, both.user_id: 3, started.user_id: 0}
    for learner in everything:
        completed = expected[learner.user_id]
        status = "completed" if completed == 4 else "in_progress"
        (track,) = learner("GET", f"/courses/tracking?course_id={course}&user_id={learner.user_id}")["tracking"]
        assert (track["status"], track["completed_lessons"]) == (status, completed), track
        (enrollment,) = learner("GET", f"/enrollments?user_id={learner.user_id}")["enrollments"]
        assert enrollment["state"] == (2 if completed == 4 else 1), enrollment
        contents = learner("POST", "/v1/view/read", {"request": {
            "userId": str(learner.user_id), "contentId": lessons, "collectionId": course, "batchId": course}})["contents"]
        assert sum(content["status"] == 2 for content in contents) == completed, contents
        summary = learner("POST", "/v1/viewer/summary/read", {"request": {
            "userId": str(learner.user_id), "collectionId": course, "batchId": course}})
        summary = summary[0] if isinstance(summary, list) else summary
        assert summary["progress"] == completed * 100 // 4, summary
        assert sum(status == 2 for status in summary["contentStatus"].values()) == completed, summary

    recount = subprocess.run(
        [sys.executable, "manage.py", "recount_tracking", "--dry-run", "--course", course],
        env=live_gunicorn._environment(), capture_output=True, text=True, check=True,
    )
    assert "Checked 4 course tracks: 0 with differences." in recount.stdout, recount.stdout + recount.stderr
