"""Plain-function rendering of lesson attempts for the hot endpoints; the serializers in
`serializers.py` document the same shape for the OpenAPI schema (a test keeps them equal)."""

from __future__ import annotations

from typing import Any

from lms.api.fields import iso_utc
from tracking.models import LessonAttempt


def attempt_data(attempt: LessonAttempt) -> dict[str, Any]:
    return {
        "id": str(attempt.id),
        "lesson_id": str(attempt.lesson_id),
        "course_id": str(attempt.course_id),
        "batch_id": str(attempt.batch_id),
        "user_id": str(attempt.user_id),
        "attempt": attempt.attempt,
        "timestart": iso_utc(attempt.timestart),
        "timeend": iso_utc(attempt.timeend),
        "score": float(attempt.score),
        "status": attempt.status,
        "total_content": attempt.total_content,
        "current_position": attempt.current_position,
        "time_spent": attempt.time_spent,
        "updatedBy": str(attempt.updated_by) if attempt.updated_by else None,
        "updatedAt": iso_utc(attempt.updated_at),
    }
