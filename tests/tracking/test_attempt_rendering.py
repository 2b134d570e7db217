"""The hot endpoints render attempts with a plain function; the documented serializer must agree."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from tests.tracking.helpers import lessons_of, result, start, update
from tracking.api.rendering import attempt_data
from tracking.api.serializers import LessonAttemptSerializer
from tracking.models import LessonAttempt

pytestmark = pytest.mark.django_db


def test_plain_rendering_equals_the_documented_serializer(enrolled_learner, course):
    attempt_id = result(start(enrolled_learner, lessons_of(course)[0]))["id"]
    fresh = LessonAttempt.objects.get(pk=attempt_id)
    assert attempt_data(fresh) == dict(LessonAttemptSerializer(fresh).data)  # updatedBy null, no timeend

    update(enrolled_learner, attempt_id, status="completed", score=12.5, time_spent=9)
    finished = LessonAttempt.objects.get(pk=attempt_id)
    finished.timestart = dt.datetime(2024, 3, 20, 5, 30, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30)))
    assert finished.timeend is not None and finished.updated_by is not None
    assert attempt_data(finished) == dict(LessonAttemptSerializer(finished).data)
    assert attempt_data(finished)["timestart"] == "2024-03-20T00:00:00Z"


def test_responses_carry_the_rendered_shape(enrolled_learner, course):
    response = start(enrolled_learner, lessons_of(course)[1])

    body = result(response)
    attempt = LessonAttempt.objects.get(pk=uuid.UUID(body["id"]))
    assert body == attempt_data(attempt)
