"""Demo progress for `manage.py seed_demo` (issue 13): learners at every stage in the demo
courses, spread over the last ten weeks, so that a fresh `make run` has dashboards worth looking
at. Written through the services (enrollment, attempts, learner directory), as real use writes it.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.db import transaction
from django.utils import timezone

from courses.models import Course
from enrollment.models import Enrollment
from enrollment.services import enrollment_create
from lms.services import learner_directory_record
from tracking.insight import course_lessons_in_order
from tracking.services import lesson_attempt_start, lesson_attempt_update

DEMO_LEARNERS = (
    "Amara Okafor", "Bruno Silva", "Chen Wei", "Dana Cohen", "Elif Yilmaz", "Farah Haddad", "Gustav Berg",
    "Hana Sato", "Ivan Petrov", "Julia Novak", "Kofi Mensah", "Lena Fischer", "Mateo García", "Nadia Rahman",
    "Oskar Lind", "Priya Nair", "Quentin Moreau", "Rosa Jiménez",
)
# A learner's stage by their place in the list (cycling): completed (passing), completed (failing
# the marked lessons), halfway, stuck (last seen three weeks ago), not started, not started.
STAGES = ("passed", "failed", "halfway", "stuck", "idle", "idle")


def demo_learner_id(index: int) -> uuid.UUID:
    """Stable ids, so that running the seed again finds the same learners."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"lms-demo-learner-{index}")


def seed_demo_progress(*, tenant_id: uuid.UUID, course_ids: list[uuid.UUID], enrolled_by: uuid.UUID) -> int:
    """Enrolls the demo learners in each demo course that has no enrollment yet and records their
    progress. Returns the number of courses seeded (0 when every course already had learners)."""
    seeded = 0
    for course in Course.objects.filter(tenant_id=tenant_id, pk__in=course_ids).order_by("created_at"):
        if Enrollment.objects.filter(course=course).exists():
            continue
        _seed_course(course=course, enrolled_by=enrolled_by)
        seeded += 1
    for index, name in enumerate(DEMO_LEARNERS):
        email = f"{name.split()[0].lower()}@demo.example"
        learner_directory_record(tenant_id=tenant_id, user_id=demo_learner_id(index), name=name, email=email)
    return seeded


@transaction.atomic
def _seed_course(*, course: Course, enrolled_by: uuid.UUID) -> None:
    now = timezone.now()
    lessons = course_lessons_in_order(course_id=course.id)
    for index in range(len(DEMO_LEARNERS)):
        user_id = demo_learner_id(index)
        stage = STAGES[index % len(STAGES)]
        enrollment = enrollment_create(tenant_id=course.tenant_id, course=course, user_id=user_id,
                                       enrolled_by=enrolled_by)
        # The demo pretends a term already under way: enrolments spread over the last ten weeks.
        enrolled_on = now - dt.timedelta(weeks=index % 10, days=index % 3)
        Enrollment.objects.filter(pk=enrollment.pk).update(enrolled_on_time=enrolled_on)
        if stage == "idle":
            continue
        if stage in {"passed", "failed"}:
            done, score = lessons, (9 if stage == "passed" else 4)
        elif stage == "halfway":
            done, score = lessons[: max(1, len(lessons) // 2)], 7
        else:
            done, score = lessons[:1], 7
        if stage == "stuck":
            when = now - dt.timedelta(days=21)
        elif stage == "halfway":  # still at it: seen in the last few days
            when = now - dt.timedelta(days=index % 4, hours=1)
        else:
            when = min(now, enrolled_on + dt.timedelta(days=3))
        for position, lesson in enumerate(done):
            moment = min(now, when + dt.timedelta(hours=position))
            attempt, _ = lesson_attempt_start(tenant_id=course.tenant_id, user_id=user_id, lesson_id=lesson.id,
                                              course_id=course.id, now=moment)
            changes = {"status": "completed", "time_spent": 300 + 60 * position}
            if lesson.consider_marks:
                changes["score"] = score
            lesson_attempt_update(tenant_id=course.tenant_id, attempt_id=attempt.id, updated_by=user_id,
                                  may_update_others=True, changes=changes, now=moment)
