"""`python -m tests.reliability.seed`: the fixture tenant the proofs run against, in DATABASE_URL.

Prints one JSON line: the ids of a published course (modules, lessons, an enrolled learner with a
course track, an open attempt, a view), spare objects for the delete operations, the learners of
the fault test, and admin and learner tokens signed with LMS_JWT_SECRET. Content is built with the
suite's factories, enrollments and attempts through the services, as the API would.
"""

from __future__ import annotations

import json
import os
import uuid


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lms.settings")
    django.setup()

    from enrollment.services import enrollment_create
    from lms.api.authentication import mint_token
    from lms.models import Tenant
    from tests.factories import LessonFactory, ModuleFactory, build_course
    from tracking.models import CourseTrack
    from tracking.services import lesson_attempt_start
    from viewer.models import Program, ProgramCourse

    learners = int(os.environ.get("SEED_LEARNERS", "4"))
    tenant = Tenant.objects.create(name="Proof tenant")
    admin_id = uuid.uuid4()
    course = build_course(tenant=tenant, modules=2, lessons_per_module=3, title="Proof course")
    modules = list(course.modules.order_by("ordering"))
    lessons = [p.lesson for p in course.placements.select_related("lesson").order_by("module__ordering", "ordering")]
    spare_course = build_course(tenant=tenant, modules=1, lessons_per_module=1, title="Spare course")
    spare_module = ModuleFactory(course=course, tenant=tenant, ordering=len(modules) + 1, title="Spare module")
    spare_lesson = LessonFactory(tenant=tenant, title="Spare lesson")
    library_lesson = LessonFactory(tenant=tenant, title="Library lesson")

    learner_ids = [uuid.uuid4() for _ in range(learners)]
    enrollments, attempts = [], []
    for user_id in learner_ids:
        enrollments.append(enrollment_create(tenant_id=tenant.id, course=course, user_id=user_id, enrolled_by=admin_id))
        attempt, _ = lesson_attempt_start(
            tenant_id=tenant.id, user_id=user_id, lesson_id=lessons[0].id, course_id=course.id
        )
        attempts.append(attempt)
    spare_enrollment = enrollment_create(
        tenant_id=tenant.id, course=spare_course, user_id=learner_ids[0], enrolled_by=admin_id
    )
    program = Program.objects.create(tenant=tenant, identifier="proof-program", name="Proof program")
    ProgramCourse.objects.create(program=program, course=spare_course, ordering=1)
    track = CourseTrack.objects.get(tenant_id=tenant.id, course_id=course.id, user_id=learner_ids[0])

    def token(user_id, roles):
        return mint_token(user_id=user_id, tenant_id=tenant.id, roles=roles, ttl_seconds=24 * 3600)

    print(json.dumps({
        "tenant_id": str(tenant.id),
        "admin_id": str(admin_id),
        "admin_token": token(admin_id, ["admin"]),
        "course_id": str(course.id),
        "module_id": str(modules[0].id),
        "module_ids": [str(module.id) for module in modules],
        "program_id": str(program.id),
        "lesson_id": str(lessons[0].id),
        "lesson_ids": [str(lesson.id) for lesson in lessons],
        "library_lesson_id": str(library_lesson.id),
        "learner_id": str(learner_ids[0]),
        "learner_ids": [str(u) for u in learner_ids],
        "learner_tokens": [token(u, ["learner"]) for u in learner_ids],
        "enrollment_id": str(enrollments[0].id),
        "course_track_id": str(track.id),
        "attempt_id": str(attempts[0].id),
        "attempt_ids": [str(a.id) for a in attempts],
        "spare_course_id": str(spare_course.id),
        "spare_module_id": str(spare_module.id),
        "spare_lesson_id": str(spare_lesson.id),
        "spare_enrollment_id": str(spare_enrollment.id),
    }))


if __name__ == "__main__":
    main()
