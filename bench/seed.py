"""Reproducible benchmark data, written in bulk and consistent with the service rules.

Every id is derived from (seed, scale, label), so two runs seed the same rows and the wrk
data can be rebuilt from the database without keeping the plan. Content goes in with
`bulk_create`; enrollments, course tracks, consumption and attempts (the big tables) go in
with PostgreSQL `COPY`. The course tracks' counters are then recounted by the tracking
service itself (`course_tracks_recount_for_course`), and checked against the seeded facts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import random
import time
import uuid
from collections.abc import Callable, Iterable

from django.db import connection, models, transaction
from django.utils import timezone

from bench.plan import (
    PROGRAM_SIZE,
    SEED,
    Scale,
    csv_user_id,
    heavy_user_id,
    heavy_user_plan,
    learner_id,
    program_children,
    stable_id,
    tenant_id_for,
    tenant_marker,
)
from courses.models import CertificateTerm, ContentStatus, Course, Lesson, LessonPlacement, Media, Module
from enrollment.models import Enrollment, EnrollmentState
from lms.models import Tenant
from tracking.models import (
    AttemptStatus,
    ConsumptionStatus,
    ContentConsumption,
    CourseTrack,
    CourseTrackStatus,
    LessonAttempt,
)
from tracking.services import course_tracks_recount_for_course
from viewer.models import Program, ProgramCourse


@dataclasses.dataclass
class SeedReport:
    scale: str
    seconds: float
    courses: int = 0
    lessons: int = 0
    enrollments: int = 0
    consumption_rows: int = 0
    attempts: int = 0
    programs: int = 0
    completed_lessons: int = 0


class _CopyTable:
    """Rows for `COPY <table> FROM STDIN`, every column defaulted as the model would default it."""

    def __init__(self, model: type[models.Model], now: dt.datetime):
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        self.columns = [f.column for f in self.fields]
        self.index = {f.attname: i for i, f in enumerate(self.fields)}
        self.defaults = [self._default(f, now) for f in self.fields]

    @staticmethod
    def _default(field: models.Field, now: dt.datetime):
        if getattr(field, "auto_now_add", False) or getattr(field, "auto_now", False):
            return now
        if field.has_default():
            value = field.get_default()
            return json.dumps(value) if isinstance(value, (dict, list)) else value
        return None

    def row(self, **values) -> list:
        row = list(self.defaults)
        for name, value in values.items():
            row[self.index[name]] = json.dumps(value) if isinstance(value, (dict, list)) else value
        return row

    def copy(self, rows: Iterable[list]) -> int:
        count = 0
        sql = f"COPY {self.model._meta.db_table} ({', '.join(self.columns)}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count


def is_seeded(scale: Scale, seed: int = SEED) -> bool:
    return Tenant.objects.filter(pk=tenant_id_for(scale, seed), name=tenant_marker(scale, seed)).exists()


def seed_database(*, scale: Scale, seed: int = SEED, log: Callable[[str], None] = print) -> SeedReport:
    """Seeds one scale into an empty (migrated) PostgreSQL database. Returns what was written."""
    if connection.vendor != "postgresql":
        raise RuntimeError("The benchmark seeds PostgreSQL (it uses COPY); set DATABASE_URL=postgres://...")
    started = time.monotonic()
    rng = random.Random(f"lms-bench:{seed}:{scale.name}")

    def random_id() -> uuid.UUID:
        return uuid.UUID(int=rng.getrandbits(128), version=4)

    report = SeedReport(scale=scale.name, seconds=0.0)
    now = timezone.now().replace(microsecond=0)
    tenant_id = tenant_id_for(scale, seed)
    author = stable_id(seed, scale.name, "author")

    with transaction.atomic():
        Tenant.objects.create(id=tenant_id, name=f"{tenant_marker(scale, seed)} (seeding)")
        course_ids, course_lessons = _seed_content(
            scale=scale, seed=seed, tenant_id=tenant_id, author=author, now=now, random_id=random_id
        )
        report.courses = len(course_ids)
        report.lessons = sum(len(lessons) for lessons in course_lessons)
        log(f"  content: {report.courses} courses, {report.lessons} lessons ({time.monotonic() - started:.0f}s)")

        programs = _seed_programs(scale=scale, seed=seed, tenant_id=tenant_id, course_ids=course_ids, now=now)
        report.programs = len(programs)

        enrolments = _enrolment_plan(scale=scale, seed=seed, rng=rng, course_ids=course_ids, programs=programs)
        completed_by_enrolment, report.consumption_rows, report.attempts = _seed_activity(
            scale=scale, tenant_id=tenant_id, author=author, now=now, rng=rng, random_id=random_id,
            enrolments=enrolments, course_ids=course_ids, course_lessons=course_lessons,
        )
        report.enrollments = len(enrolments)
        report.completed_lessons = sum(completed_by_enrolment)
        log(
            f"  activity: {report.enrollments} enrollments, {report.consumption_rows} consumption rows, "
            f"{report.attempts} attempts ({time.monotonic() - started:.0f}s)"
        )

    # The tracking service recounts every course's tracks (one bulk statement per course), so
    # the counters are the service's own, not the seed's; they must agree with the seeded facts.
    for course_id in course_ids:
        course_tracks_recount_for_course(course_id=course_id)
    recounted = sum(CourseTrack.objects.filter(tenant_id=tenant_id).values_list("completed_lessons", flat=True))
    if recounted != report.completed_lessons:
        raise RuntimeError(f"Track recount gave {recounted} completed lessons; the seed wrote {report.completed_lessons}.")
    Tenant.objects.filter(pk=tenant_id).update(name=tenant_marker(scale, seed))
    with connection.cursor() as cursor:
        # Fresh statistics and a visibility map, so plans and index-only scans are what production would
        # see. VACUUM cannot run inside a transaction (a test's); ANALYZE alone can.
        cursor.execute("ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE")
    report.seconds = round(time.monotonic() - started, 1)
    log(f"  recounted and analysed ({report.seconds:.0f}s)")
    return report


def _seed_content(*, scale, seed, tenant_id, author, now, random_id) -> tuple[list[uuid.UUID], list[list[uuid.UUID]]]:
    courses, modules, media, lessons, placements = [], [], [], [], []
    course_lessons: list[list[uuid.UUID]] = []
    for c in range(scale.courses):
        course = Course(
            id=stable_id(seed, scale.name, f"course:{c}"), tenant_id=tenant_id, title=f"Course {c + 1}",
            short_description=f"Short description of course {c + 1}",
            description=f"A {scale.modules_per_course}-module course used by the benchmark. " * 3,
            certificate_term=CertificateTerm.COMPLETE_ALL, start_datetime=now - dt.timedelta(days=30),
            end_datetime=now + dt.timedelta(days=365), auto_enroll=True, status=ContentStatus.PUBLISHED,
            params={"level": "beginner"}, created_by=author, updated_by=author, updated_at=now,
        )
        courses.append(course)
        lesson_ids: list[uuid.UUID] = []
        for m in range(scale.modules_per_course):
            module = Module(
                id=random_id(), tenant_id=tenant_id, course_id=course.id, title=f"Module {m + 1}",
                description=f"Module {m + 1} of course {c + 1}", status=ContentStatus.PUBLISHED, ordering=m + 1,
                created_by=author,
            )
            modules.append(module)
            for p in range(scale.lessons_per_module):
                medium = Media(
                    id=random_id(), tenant_id=tenant_id, format="video", sub_format="mp4",
                    source=f"https://media.example.invalid/{course.id}/{m}/{p}.mp4", params={"width": 1280},
                )
                lesson = Lesson(
                    id=stable_id(seed, scale.name, f"lesson:{c}:{m}:{p}"), tenant_id=tenant_id,
                    title=f"Lesson {m + 1}.{p + 1}", description=f"Lesson {p + 1} of module {m + 1}",
                    short_desc="A short lesson", status=ContentStatus.PUBLISHED, format="video", duration=600,
                    media_id=medium.id, ideal_time=10, created_by=author,
                )
                media.append(medium)
                lessons.append(lesson)
                placements.append(
                    LessonPlacement(
                        id=random_id(), tenant_id=tenant_id, course_id=course.id, module_id=module.id,
                        lesson_id=lesson.id, ordering=p + 1, created_by=author,
                    )
                )
                lesson_ids.append(lesson.id)
        course_lessons.append(lesson_ids)
    for model, rows in ((Course, courses), (Module, modules), (Media, media), (Lesson, lessons),
                        (LessonPlacement, placements)):
        model.objects.bulk_create(rows, batch_size=2000)
    return [course.id for course in courses], course_lessons


def _seed_programs(*, scale, seed, tenant_id, course_ids, now) -> list[tuple[uuid.UUID, list[int]]]:
    """Programs shared by the heavy users, then the CSV user's programs: (program id, course indexes)."""
    _, heavy_programs = heavy_user_plan(scale)
    size = min(PROGRAM_SIZE, scale.courses)
    csv_programs = math.ceil(scale.csv_enrolments / size)
    programs = [
        (stable_id(seed, scale.name, f"program:{p}"), program_children(program_index=p, course_count=scale.courses))
        for p in range(heavy_programs + csv_programs)
    ]
    Program.objects.bulk_create(
        [Program(id=pid, tenant_id=tenant_id, identifier=f"bench-program-{p + 1}", name=f"Program {p + 1}")
         for p, (pid, _) in enumerate(programs)],
        batch_size=2000,
    )
    ProgramCourse.objects.bulk_create(
        [ProgramCourse(program_id=pid, course_id=course_ids[c], ordering=j + 1)
         for pid, children in programs for j, c in enumerate(children)],
        batch_size=5000,
    )
    return programs


@dataclasses.dataclass(frozen=True)
class _Enrolment:
    user_id: uuid.UUID
    course: int
    batch_id: uuid.UUID
    consumption: int  # how many lessons of the course the learner has touched in this context


def _enrolment_plan(*, scale, seed, rng, course_ids, programs) -> list[_Enrolment]:
    plan: list[_Enrolment] = []
    per_enrolment = scale.consumption_per_enrolment
    for i in range(scale.learners):
        user = learner_id(scale, i, seed)
        for c in sorted(rng.sample(range(scale.courses), min(scale.enrolments_per_learner, scale.courses))):
            plan.append(_Enrolment(user, c, course_ids[c], per_enrolment))
    direct, heavy_programs = heavy_user_plan(scale)
    for h in range(scale.heavy_users):
        user = heavy_user_id(scale, h, seed)
        plan.extend(_Enrolment(user, c, course_ids[c], per_enrolment) for c in direct)
        for program_id, children in programs[:heavy_programs]:
            plan.extend(_Enrolment(user, c, program_id, per_enrolment) for c in children)
    csv_user = csv_user_id(scale, seed)
    csv_plan = [
        _Enrolment(csv_user, c, program_id, 1) for program_id, children in programs[heavy_programs:] for c in children
    ]
    plan.extend(csv_plan[: scale.csv_enrolments])
    return plan


def _seed_activity(*, scale, tenant_id, author, now, rng, random_id, enrolments, course_ids, course_lessons):
    """Enrollments, course tracks, consumption rows and started attempts, by COPY.

    Returns (completed lessons per enrolment, consumption rows, attempts)."""
    enrollment_table = _CopyTable(Enrollment, now)
    track_table = _CopyTable(CourseTrack, now)
    consumption_table = _CopyTable(ContentConsumption, now)
    attempt_table = _CopyTable(LessonAttempt, now)
    enrollment_rows, track_rows, attempt_rows = [], [], []
    completed_by_enrolment: list[int] = []
    attempt_epoch = now - dt.timedelta(hours=1)

    def consumption_rows():
        for e in enrolments:
            enrolled_on = now - dt.timedelta(days=rng.randint(1, 25), seconds=rng.randint(0, 86_399))
            touched = rng.sample(course_lessons[e.course], min(e.consumption, len(course_lessons[e.course])))
            completed = 0
            in_progress: list = []
            for lesson in touched:
                done = e.consumption == 1 or rng.random() < 0.6
                accessed = enrolled_on + dt.timedelta(hours=rng.randint(1, 500))
                accessed = min(accessed, now)
                completed += done
                if not done:
                    in_progress.append(lesson)
                yield consumption_table.row(
                    id=random_id(), user_id=e.user_id, tenant_id=tenant_id, collection_id=course_ids[e.course],
                    batch_id=e.batch_id, content_id=lesson,
                    status=ConsumptionStatus.COMPLETED if done else ConsumptionStatus.IN_PROGRESS,
                    progress=100 if done else rng.randint(1, 99), view_count=rng.randint(1, 4),
                    first_accessed_at=enrolled_on, last_accessed_at=accessed, completed_at=accessed if done else None,
                )
            started = bool(touched)
            enrollment_id = random_id()
            enrollment_rows.append(enrollment_table.row(
                id=enrollment_id, user_id=e.user_id, tenant_id=tenant_id, course_id=course_ids[e.course],
                batch_id=e.batch_id, enrolled_on_time=enrolled_on, end_time=now + dt.timedelta(days=365),
                state=EnrollmentState.IN_PROGRESS if started else EnrollmentState.NOT_STARTED, active=True,
                params={}, enrolled_by=author, enrolled_at=enrolled_on,
            ))
            track_rows.append(track_table.row(
                id=random_id(), user_id=e.user_id, tenant_id=tenant_id, course_id=course_ids[e.course],
                enrollment_id=enrollment_id, batch_id=e.batch_id, timestart=enrolled_on,
                no_of_lessons=len(course_lessons[e.course]), completed_lessons=completed,
                status=CourseTrackStatus.IN_PROGRESS if started else CourseTrackStatus.NOT_STARTED,
                last_accessed_date=now if started else None, updated_at=now,
            ))
            completed_by_enrolment.append(completed)
            # Started (unfinished) attempts for `PUT /lessons/tracking/:id`, on lessons in progress of
            # the first learners' direct enrolments, so updates never complete anything.
            if e.batch_id == course_ids[e.course]:
                for lesson in in_progress[: scale.attempts_per_enrolment]:
                    if len(attempt_rows) >= scale.attempts:
                        break
                    attempt_rows.append(attempt_table.row(
                        id=random_id(), user_id=e.user_id, tenant_id=tenant_id, lesson_id=lesson,
                        course_id=course_ids[e.course], batch_id=e.batch_id, attempt=1, timestart=attempt_epoch,
                        status=AttemptStatus.STARTED, total_content=100, current_position=10, time_spent=0,
                        updated_by=e.user_id, updated_at=attempt_epoch,
                    ))

    consumption_count = consumption_table.copy(consumption_rows())
    enrollment_table.copy(enrollment_rows)
    track_table.copy(track_rows)
    attempt_table.copy(attempt_rows)
    return completed_by_enrolment, consumption_count, len(attempt_rows)
