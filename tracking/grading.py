"""Grading policies for a lesson's score across attempts (DECISIONS §5).

Pure functions: the caller reads the completed attempts' scores (in attempt order) and the
lesson's policy and passing marks; nothing here touches the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from courses.models import AttemptsGrade


@dataclass(frozen=True)
class LessonGrade:
    """The lesson's score under its policy (None without a completed attempt) and whether it passes."""

    score: float | None
    passed: bool


def graded_score(scores_in_attempt_order: Sequence[float], policy: str) -> float | None:
    """The lesson's score under `policy`, or None when there is no completed attempt.

    Only completed attempts are graded, so `first_attempt` is the first *completed* attempt:
    an attempt abandoned half-way has no score to speak of. Unknown policies grade as
    `highest`, the documented default.
    """
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
    """A score passes when it is at least `passing_marks`; without passing marks any score passes."""
    if score is None:
        return False
    return passing_marks is None or score >= passing_marks


def lesson_grade(scores_in_attempt_order: Sequence[float], *, policy: str, passing_marks: int | None) -> LessonGrade:
    """The lesson's grade: its score under `policy` and pass/fail against `passing_marks`."""
    score = graded_score(scores_in_attempt_order, policy)
    return LessonGrade(score=score, passed=is_passed(score, passing_marks))
