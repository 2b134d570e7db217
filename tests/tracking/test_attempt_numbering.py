"""Attempt numbers come from the per-(user, lesson, course) counter row (tracking.LessonAttemptCounter).

The attempts are the facts: a counter row that is missing (attempts written before the counter
existed) or behind (attempts written past it) must still hand out the next free number, and the
migration's backfill must leave every existing sequence numbering on from its highest attempt.
"""

from __future__ import annotations

import importlib

import pytest
from django.db import connection

from tests.tracking.helpers import lessons_of, result, start, start_and_complete
from tracking.models import LessonAttempt, LessonAttemptCounter

pytestmark = pytest.mark.django_db

BACKFILL = importlib.import_module("tracking.migrations.0006_lesson_attempt_counter").BACKFILL


def _counter(learner, lesson):
    return LessonAttemptCounter.objects.get(user_id=learner.user_id, lesson_id=lesson.id)


def test_a_start_keeps_the_counter_in_step_with_the_attempts(enrolled_learner, course):
    lesson = lessons_of(course)[0]
    for _ in range(3):
        assert start(enrolled_learner, lesson).status_code == 201
    counter = _counter(enrolled_learner, lesson)
    assert (counter.last_attempt, counter.attempts_started, counter.course_id) == (3, 3, course.id)


def test_a_missing_counter_row_numbers_on_from_the_attempts(enrolled_learner, course):
    lesson = lessons_of(course)[0]
    start_and_complete(enrolled_learner, lesson)
    start_and_complete(enrolled_learner, lesson)
    LessonAttemptCounter.objects.all().delete()  # as attempts written before the counter existed

    response = start(enrolled_learner, lesson)

    assert response.status_code == 201 and result(response)["attempt"] == 3
    assert (_counter(enrolled_learner, lesson).last_attempt, _counter(enrolled_learner, lesson).attempts_started) == (3, 3)


def test_a_counter_behind_the_attempts_heals(enrolled_learner, course):
    lesson = lessons_of(course)[0]
    for _ in range(3):
        start(enrolled_learner, lesson)
    LessonAttemptCounter.objects.update(last_attempt=1, attempts_started=1)  # attempts written past it

    response = start(enrolled_learner, lesson)

    assert response.status_code == 201 and result(response)["attempt"] == 4
    assert _counter(enrolled_learner, lesson).attempts_started == 4


def test_the_limit_counts_attempts_the_counter_has_not_seen(enrolled_learner, course):
    lesson = lessons_of(course)[0]
    lesson.no_of_attempts = 2
    lesson.save(update_fields=["no_of_attempts"])
    start_and_complete(enrolled_learner, lesson)
    start_and_complete(enrolled_learner, lesson)
    LessonAttemptCounter.objects.all().delete()

    response = start(enrolled_learner, lesson)

    assert response.status_code == 400 and result(response) == {"attempts_used": 2, "no_of_attempts": 2}
    assert LessonAttempt.objects.filter(lesson=lesson).count() == 2


def test_a_resumed_attempt_claims_no_number(enrolled_learner, course):
    lesson = lessons_of(course)[0]
    lesson.resume = True
    lesson.save(update_fields=["resume"])
    # The second start resumes the first attempt (tests/tracking/test_lesson_tracking_start.py): no new number.
    statuses = [start(enrolled_learner, lesson).status_code for _ in range(2)]
    assert statuses == [201, 200] and _counter(enrolled_learner, lesson).last_attempt == 1
    anew = start(enrolled_learner, lesson, action="start")
    assert anew.status_code == 201 and result(anew)["attempt"] == 2


def test_the_backfill_numbers_every_sequence_from_its_highest_attempt(enrolled_learner, course):
    first, second, *_ = lessons_of(course)
    for _ in range(3):
        start(enrolled_learner, first)
    start(enrolled_learner, second)
    LessonAttemptCounter.objects.all().delete()

    with connection.cursor() as cursor:
        cursor.execute(BACKFILL)

    assert sorted(
        LessonAttemptCounter.objects.values_list("lesson_id", "course_id", "last_attempt", "attempts_started")
    ) == sorted([(first.id, course.id, 3, 3), (second.id, course.id, 1, 1)])
    assert result(start(enrolled_learner, first))["attempt"] == 4
