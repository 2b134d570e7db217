"""The browser suite's course with progress, for the insight dashboard (issue 13): seeded by
`world.seed_world` before the server starts, through the services, with figures the dashboard test
knows in advance."""

from __future__ import annotations

import datetime as dt
import uuid

from django.contrib.auth import get_user_model
from django.utils import timezone

from courses import services as course_services
from courses.models import CertificateTerm, ContentStatus
from enrollment.services import enrollment_create
from lms.api.identity import staff_user_uuid
from tracking.services import lesson_attempt_start, lesson_attempt_update

INSIGHT_COURSE = "Northwind insight demo"
INSIGHT_LESSONS = ("Why we measure", "Reading the numbers", "Checkpoint quiz")
# Five learners: two completed everything (quiz 90 and 40), one completed the first lesson, two idle.
INSIGHT_FIGURES = {"enrolled": "5", "completed": "2", "in_progress": "1", "not_started": "2",
                   "completionRate": "40.0%", "certificatesIssued": "2"}


def seed_insight_course(*, tenant, author: str) -> None:
    actor = staff_user_uuid(get_user_model().objects.get(username=author).pk)
    now = timezone.now()
    course = course_services.course_create(
        tenant_id=tenant.pk, created_by=actor, title=INSIGHT_COURSE,
        short_description="Seeded with progress for the insight dashboard.", description="Seeded.",
        start_datetime=now - dt.timedelta(days=1), end_datetime=now + dt.timedelta(days=365),
        status=ContentStatus.PUBLISHED, free=True, certificate_term=CertificateTerm.COMPLETE_ALL,
    )
    module = course_services.module_create(course=course, created_by=actor, title="Basics", description="Basics.",
                                           status=ContentStatus.PUBLISHED)
    lessons = []
    for title in INSIGHT_LESSONS:
        marked = title == INSIGHT_LESSONS[-1]
        lessons.append(course_services.lesson_create(
            tenant_id=tenant.pk, created_by=actor, title=title, description=f"{title}.",
            status=ContentStatus.PUBLISHED, course=course, module=module, consider_marks=marked,
            passing_marks=50 if marked else None, total_marks=100 if marked else None,
        ).lesson)

    def complete(user_id, lesson, score=None):
        attempt, _ = lesson_attempt_start(tenant_id=tenant.pk, user_id=user_id, lesson_id=lesson.id,
                                          course_id=course.id)
        changes = {"status": "completed", **({"score": score} if score is not None else {})}
        lesson_attempt_update(tenant_id=tenant.pk, attempt_id=attempt.id, updated_by=user_id,
                              may_update_others=True, changes=changes)

    learners = [uuid.uuid4() for _ in range(5)]
    for user_id in learners:
        enrollment_create(tenant_id=tenant.pk, course=course, user_id=user_id, enrolled_by=actor)
    for user_id, quiz_score in zip(learners[:2], (90, 40), strict=True):
        for lesson in lessons[:-1]:
            complete(user_id, lesson)
        complete(user_id, lessons[-1], quiz_score)
    complete(learners[2], lessons[0])
