"""Grading policies for a lesson's score across attempts (DECISIONS §5)."""

from __future__ import annotations

from collections.abc import Sequence

from courses.models import AttemptsGrade


def graded_score(scores_in_attempt_order: Sequence[float], policy: str) -> float | None:
    """The lesson's score under `policy`, or None when there is no completed attempt."""
    if not scores_in_attempt_order:
        return None
    if policy == AttemptsGrade.AVERAGE:
        return sum(scores_in_attempt_order) / len(scores_in_attempt_order)
    if policy == AttemptsGrade.FIRST_ATTEMPT:
        return scores_in_attempt_order[0]
    if policy == AttemptsGrade.LAST_ATTEMPT:
        return scores_in_attempt_order[-1]
    return max(scores_in_attempt_order)


def is_passed(score: float | None, passing_marks: int | None) -> bool:
    if score is None:
        return False
    return passing_marks is None or score >= passing_marks
