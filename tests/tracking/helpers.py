"""Reading the LMS envelope and driving the tracking endpoints in tests."""

from __future__ import annotations

import uuid

from enrollment.services import enrollment_create

# A 1×1 GIF, enough for an image URL to exist.
GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00"
    b"\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)

LESSON_TRACKING = "/lessons/tracking"
COURSE_TRACKING = "/courses/tracking"


def result(response):
    return response.json()["result"]


def err(response):
    return response.json()["params"]["err"]


def errmsg(response):
    return response.json()["params"]["errmsg"]


def lessons_of(course) -> list:
    """The course's placed lessons in module, then placement order."""
    return [
        placement.lesson
        for placement in course.placements.select_related("lesson").order_by("module__ordering", "ordering")
    ]


def enroll(course, user_id=None, **kwargs):
    """An enrollment made through the service, as the enrollment API makes it."""
    user_id = user_id or uuid.uuid4()
    return enrollment_create(tenant_id=course.tenant_id, course=course, user_id=user_id, enrolled_by=user_id, **kwargs)


def start(client, lesson, **body):
    return client.post(LESSON_TRACKING, {"lesson_id": str(lesson.id), **body}, format="json")


def update(client, attempt_id, **body):
    return client.put(f"{LESSON_TRACKING}/{attempt_id}", body, format="json")


def start_and_complete(client, lesson, score=None, **start_body):
    """Starts an attempt and completes it; returns the completed attempt's result."""
    started = start(client, lesson, **start_body)
    assert started.status_code in (200, 201), started.json()
    body = {"status": "completed"}
    if score is not None:
        body["score"] = score
    completed = update(client, result(started)["id"], **body)
    assert completed.status_code == 200, completed.json()
    return result(completed)
