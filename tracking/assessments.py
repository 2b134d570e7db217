"""Scoring and storing assessment attempts (DECISIONS §6).

Within an attempt only the latest event per question counts; the attempt's score and max are
the sums over its questions. One row per (user, context, content, attempt id): a resubmitted
attempt replaces the stored one only when its `assessmentTs` is newer, decided by the database
in the same statement, so concurrent or replayed submissions cannot overwrite newer data.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from lms.api.errors import ApiError
from lms.ids import time_ordered_uuid
from lms.rawsql import sql_param
from tracking.models import AssessmentAttempt


@dataclass(frozen=True)
class QuestionEvent:
    """One ASSESS event, normalised from either the Sunbird or the flat shape."""

    question_id: str
    score: float
    max_score: float
    ets: int  # epoch milliseconds; events without one take their attempt's assessmentTs


@dataclass(frozen=True)
class SubmittedAttempt:
    attempt_id: str
    assessment_ts: dt.datetime
    events: Sequence[QuestionEvent]


@dataclass(frozen=True)
class AttemptScore:
    score: float
    max_score: float
    question_scores: dict[str, dict[str, float]]


def attempt_score(events: Sequence[QuestionEvent]) -> AttemptScore:
    """The attempt's score from its events: the latest event (by `ets`) per question counts;
    on equal `ets` the one sent later in the list wins, as a client appends answers in order."""
    latest: dict[str, QuestionEvent] = {}
    for event in events:
        current = latest.get(event.question_id)
        if current is None or event.ets >= current.ets:
            latest[event.question_id] = event
    return AttemptScore(
        score=sum(event.score for event in latest.values()),
        max_score=sum(event.max_score for event in latest.values()),
        question_scores={
            question_id: {"score": event.score, "max_score": event.max_score} for question_id, event in latest.items()
        },
    )


def _newest_per_attempt_id(attempts: Sequence[SubmittedAttempt]) -> list[SubmittedAttempt]:
    # One statement may touch each row once (PostgreSQL refuses ON CONFLICT hitting a row twice).
    newest: dict[str, SubmittedAttempt] = {}
    for attempt in attempts:
        current = newest.get(attempt.attempt_id)
        if current is None or attempt.assessment_ts >= current.assessment_ts:
            newest[attempt.attempt_id] = attempt
    return list(newest.values())


_COLUMNS = (
    "id", "user_id", "tenant", "collection_id", "batch_id", "content_id", "attempt_id", "assessment_ts", "score",
    "max_score", "question_scores", "updated_at",
)
_REPLACED_ON_NEWER = ("assessment_ts", "score", "max_score", "question_scores", "updated_at")


@transaction.atomic
def assessment_attempts_record(
    *, tenant_id: uuid.UUID, user_id: uuid.UUID, collection_id: uuid.UUID, batch_id: uuid.UUID,
    content_id: uuid.UUID, attempts: Sequence[SubmittedAttempt], now: dt.datetime | None = None,
) -> int:
    """Stores the scored attempts in the (user, collection, batch, content) context, in one statement.

    A new attempt id is inserted; a known one is replaced only when the submitted
    `assessment_ts` is newer than the stored one. Returns how many attempts were inserted or
    replaced (older resubmissions count zero). Validating the events' shape and bounds is the
    caller's job; raises ApiError 400 ERR_VALIDATION when an attempt's sums are not finite.
    """
    if not attempts:
        return 0
    now = now or timezone.now()
    meta = AssessmentAttempt._meta
    fields = [meta.get_field(name) for name in _COLUMNS]
    rows = []
    for attempt in _newest_per_attempt_id(attempts):
        scored = attempt_score(attempt.events)
        # An infinite sum would be stored, then break every read that renders it as JSON.
        if not (math.isfinite(scored.score) and math.isfinite(scored.max_score)):
            raise ApiError(
                "An attempt's total score is out of range; send question scores between 0 and 1000000.",
                code="ERR_VALIDATION", result={"attemptId": attempt.attempt_id},
            )
        values = (
            time_ordered_uuid(), user_id, tenant_id, collection_id, batch_id, content_id, attempt.attempt_id,
            attempt.assessment_ts, scored.score, scored.max_score, scored.question_scores, now,
        )
        rows.append([
            sql_param(connection, AssessmentAttempt, name, value) for name, value in zip(_COLUMNS, values, strict=True)
        ])
    table = meta.db_table
    columns = ", ".join(field.column for field in fields)
    placeholders = ", ".join(["(" + ", ".join(["%s"] * len(fields)) + ")"] * len(rows))
    unique = ", ".join(meta.get_field(name).column for name in (
        "user_id", "tenant", "collection_id", "batch_id", "content_id", "attempt_id"
    ))
    replaced = ", ".join(f"{name} = excluded.{name}" for name in _REPLACED_ON_NEWER)
    sql = (
        f"INSERT INTO {table} ({columns}) VALUES {placeholders} "
        f"ON CONFLICT ({unique}) DO UPDATE SET {replaced} "
        f"WHERE excluded.assessment_ts > {table}.assessment_ts"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for row in rows for value in row])
        return max(cursor.rowcount, 0)
