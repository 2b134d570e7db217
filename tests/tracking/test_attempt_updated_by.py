"""Attempts record who touched them (DECISIONS §8): `updatedBy` is the caller from the token, set
when the attempt starts and on every update, on both update paths (PostgreSQL's one-statement
progress report and the general locked path)."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.tracking.helpers import enroll, lessons_of, result, start, update
from tracking.models import LessonAttempt

pytestmark = pytest.mark.django_db


def stored_updated_by(attempt_id) -> uuid.UUID | None:
    return LessonAttempt.objects.values_list("updated_by", flat=True).get(pk=attempt_id)


def test_a_learner_starting_an_attempt_is_its_updated_by(enrolled_learner, course):
    response = start(enrolled_learner, lessons_of(course)[0], updatedBy=str(uuid.uuid4()))

    assert response.status_code == 201
    attempt = result(response)
    assert attempt["updatedBy"] == str(enrolled_learner.user_id)
    assert stored_updated_by(attempt["id"]) == enrolled_learner.user_id


def test_staff_starting_for_a_learner_are_its_updated_by(admin_client, learner_client, course):
    enroll(course, learner_client.user_id)

    response = start(admin_client, lessons_of(course)[0], user_id=str(learner_client.user_id))

    assert response.status_code == 201
    attempt = result(response)
    assert attempt["user_id"] == str(learner_client.user_id)
    assert attempt["updatedBy"] == str(admin_client.user_id)
    assert stored_updated_by(attempt["id"]) == admin_client.user_id


def test_every_progress_report_records_its_caller(admin_client, enrolled_learner, course, is_postgres):
    attempt_id = result(start(enrolled_learner, lessons_of(course)[0]))["id"]

    with CaptureQueriesContext(connection) as queries:
        by_staff = update(admin_client, attempt_id, total_content=10, current_position=3)
    assert by_staff.status_code == 200, by_staff.json()
    # On PostgreSQL a report that does not complete is the one-statement path; prove it was taken.
    assert any("WITH attempt AS" in query["sql"] for query in queries.captured_queries) is is_postgres
    assert result(by_staff)["updatedBy"] == str(admin_client.user_id)
    assert stored_updated_by(attempt_id) == admin_client.user_id

    by_learner = update(enrolled_learner, attempt_id, current_position=4)
    assert result(by_learner)["updatedBy"] == str(enrolled_learner.user_id)
    assert stored_updated_by(attempt_id) == enrolled_learner.user_id


def test_the_general_path_records_its_caller(admin_client, enrolled_learner, course):
    attempt_id = result(start(enrolled_learner, lessons_of(course)[0]))["id"]

    # An empty report and a completion always take the locked path, whatever the database.
    assert result(update(admin_client, attempt_id))["updatedBy"] == str(admin_client.user_id)
    assert stored_updated_by(attempt_id) == admin_client.user_id
    completed = update(enrolled_learner, attempt_id, status="completed")

    assert result(completed)["status"] == "completed"
    assert result(completed)["updatedBy"] == str(enrolled_learner.user_id)
    assert stored_updated_by(attempt_id) == enrolled_learner.user_id


def test_a_resumed_attempt_keeps_who_last_touched_it(admin_client, enrolled_learner, course):
    lesson = lessons_of(course)[0]
    lesson.resume = True
    lesson.save(update_fields=["resume"])
    attempt_id = result(start(enrolled_learner, lesson))["id"]
    update(admin_client, attempt_id, time_spent=5)

    resumed = start(enrolled_learner, lesson)

    assert resumed.status_code == 200
    assert result(resumed)["id"] == attempt_id
    assert result(resumed)["updatedBy"] == str(admin_client.user_id)
