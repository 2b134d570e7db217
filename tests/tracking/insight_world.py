"""A course with learners at every stage, built through the services, for the insight tests
(report, explain, dashboards)."""

from __future__ import annotations

import dataclasses
import uuid

from lms.services import learner_directory_record
from tests.factories import build_course
from tests.tracking.helpers import enroll, lessons_of
from tracking.services import lesson_attempt_start, lesson_attempt_update


def complete_lesson(course, user_id, lesson, score: float | None = None):
    """A started and completed attempt of the lesson in the course, as the attempt API does it."""
    attempt, _ = lesson_attempt_start(tenant_id=course.tenant_id, user_id=user_id, lesson_id=lesson.id,
                                      course_id=course.id)
    changes = {"status": "completed"}
    if score is not None:
        changes["score"] = score
    return lesson_attempt_update(tenant_id=course.tenant_id, attempt_id=attempt.id, updated_by=user_id,
                                 may_update_others=True, changes=changes)


def start_lesson(course, user_id, lesson):
    attempt, _ = lesson_attempt_start(tenant_id=course.tenant_id, user_id=user_id, lesson_id=lesson.id,
                                      course_id=course.id)
    return attempt


@dataclasses.dataclass
class World:
    course: object
    lessons: list
    finished: uuid.UUID  # completed everything, passed the quiz: certified
    failing: uuid.UUID  # completed everything, failed the quiz: completed, no certificate
    halfway: uuid.UUID  # completed the first lesson, started the second
    idle: uuid.UUID  # enrolled, nothing started
    learners: list


def build_world(tenant, *, extra_idle: int = 0) -> World:
    """A PASS_ALL course of 2 modules × 2 lessons whose last lesson is a marked quiz (passing 60),
    and four learners at each stage (plus `extra_idle` enrolled learners with nothing done)."""
    course = build_course(tenant=tenant, modules=2, lessons_per_module=2, certificate_term="PASS_ALL")
    lessons = lessons_of(course)
    quiz = lessons[-1]
    quiz.consider_marks, quiz.passing_marks, quiz.total_marks, quiz.title = True, 60, 100, "Quiz 2"
    quiz.save(update_fields=["consider_marks", "passing_marks", "total_marks", "title"])
    finished, failing, halfway, idle = (uuid.uuid4() for _ in range(4))
    for user_id in (finished, failing, halfway, idle):
        enroll(course, user_id)
    for lesson in lessons[:-1]:
        complete_lesson(course, finished, lesson)
        complete_lesson(course, failing, lesson)
    complete_lesson(course, finished, quiz, score=80)
    complete_lesson(course, failing, quiz, score=40)
    complete_lesson(course, halfway, lessons[0])
    start_lesson(course, halfway, lessons[1])
    learner_directory_record(tenant_id=tenant.id, user_id=finished, name="Ada Lovelace", email="ada@example.org")
    extra = [enroll(course, uuid.uuid4()).user_id for _ in range(extra_idle)]
    return World(course=course, lessons=lessons, finished=finished, failing=failing, halfway=halfway, idle=idle,
                 learners=[finished, failing, halfway, idle, *extra])
