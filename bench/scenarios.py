"""What the benchmark drives: the two floors, the scenarios with their budgets, and the ids
the wrk scripts draw from (users with tokens, courses, lessons, enrolments, attempts)."""

from __future__ import annotations

import dataclasses
import json
import random
import time
import uuid
from pathlib import Path

WRK_DIR = Path(__file__).resolve().parent / "wrk"

WSGI_FLOOR = "wsgi_hello"
READ_FLOOR = "drf_hello"
DB_FLOOR = "db_hello"
WRITE_FLOOR = "raw_upsert"


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    label: str
    baseline: str | None  # the floor its ratio is taken against (req/s of the two measured beside it)
    budget: float | None = None  # minimum ratio to the baseline
    floor: bool = False

    @property
    def script(self) -> Path:
        return WRK_DIR / f"{self.name}.lua"

    @property
    def baseline_label(self) -> str:
        return (self.baseline or "").replace("_", "-")


# Issue 15: a ratio to drf-hello hides the overhead every endpoint shares (the floor pays it too), so
# the reads are measured against db-hello (auth, tenant, one PK select, the envelope: the least any read
# does), drf-hello against the server's own ceiling, and db-hello against drf-hello for information.
FLOORS = [
    Scenario(WSGI_FLOOR, "GET /bench/wsgi-hello", None, floor=True),
    Scenario(READ_FLOOR, "GET /bench/drf-hello", WSGI_FLOOR, 0.5, floor=True),
    Scenario(DB_FLOOR, "GET /bench/db-hello", READ_FLOOR, floor=True),
    Scenario(WRITE_FLOOR, "POST /bench/raw-upsert", None, floor=True),
]

# Grouped by baseline: the harness measures each group's floor before and after every few scenarios.
# Issue 15: details, enrollments, view/read and summary/read keep the ratio to db-hello first measured
# (quiet S+L run of 2026-12-03, the lower scale), rounded down to 0.05, as their budget: none may fall.
SCENARIOS = [
    Scenario("course_read", "GET /courses/:id", DB_FLOOR, 0.85),
    Scenario("course_read_304", "GET /courses/:id (If-None-Match: 304)", DB_FLOOR, 0.9),
    Scenario("course_details", "GET /courses/details/:id", DB_FLOOR, 0.65),
    Scenario("enrollment_list", "GET /enrollments?user_id=", DB_FLOOR, 0.45),
    Scenario("summary_list", "GET /v1/viewer/summary/list/:userId", DB_FLOOR, 0.15),
    Scenario("summary_list_lean", "GET /v1/viewer/summary/list/:userId?fields= (lean)", DB_FLOOR, 0.45),
    Scenario("view_read", "POST /v1/view/read", DB_FLOOR, 0.15),
    Scenario("summary_read", "POST /v1/viewer/summary/read", DB_FLOOR, 0.1),
    # Issue 17.
    Scenario("users_courses", "GET /enrollments/users-courses?hasEnroll=true", DB_FLOOR, 0.4),
    Scenario("course_search", "GET /courses/search?q=", DB_FLOOR, 0.5),
    # Issue 13 names drf-hello. At scale L every course has ~1,000 learners (directly enrolled) of 20 x 20 lessons.
    Scenario("course_report", "GET /courses/:id/report", READ_FLOOR, 0.1),
    Scenario("course_explain", "GET /courses/tracking/explain", READ_FLOOR, 0.3),
    Scenario("view_update", "POST /v1/view/update", WRITE_FLOOR, 0.8),
    Scenario("attempt_update", "PUT /lessons/tracking/:id", WRITE_FLOOR, 0.6),
    Scenario("attempt_start", "POST /lessons/tracking", WRITE_FLOOR, 0.4),
    # Events come only with first completions (docs/events.md): this is their cost on the request.
    Scenario("lesson_complete", "POST /v1/view/end (completes; 1 webhook)", WRITE_FLOOR, 0.3),
]

# p50 at L must stay within this factor of p50 at S (index-backed reads).
SCALE_BUDGET = {"view_read": 1.3, "summary_read": 1.3}
# p99 <= 3 x p50 in every scenario.
TAIL_BUDGET = 3.0
# The CSV summary download of 10,000 rows adds less than this to the worker's peak RSS.
MEMORY_BUDGET_MB = 50.0

BY_NAME = {s.name: s for s in FLOORS + SCENARIOS}


@dataclasses.dataclass
class Workload:
    """The ids the load draws from; written for the lua scripts as a line-based text file."""

    tenant_id: str
    epoch: int  # when the seeded attempts started (unix seconds); time_spent grows from it
    users: list[tuple[str, str]]  # (user id, token): learners with direct enrolments
    heavy: list[tuple[str, str]]  # users with 50 enrolments (summary/list)
    courses: list[tuple[str, list[str]]]  # (course id, lesson ids in module/placement order)
    enrolments: list[tuple[int, int]]  # (user index, course index), batch = course id
    attempts: list[tuple[str, int, str, int]]  # (attempt id, user index, lesson id, course index)
    csv_user: tuple[str, str, int]  # (user id, token, enrolments)
    small_csv_user: tuple[str, str]
    admin_token: str = ""  # a tenant admin's, for the staff-only reads (course report)
    # Course id -> the ETag a learner's GET /courses/:id answered (read from the live server before the
    # load, since the validator is the service's to define): the If-None-Match of course_read_304.
    etags: dict[str, str] = dataclasses.field(default_factory=dict)

    def write(self, directory: Path) -> tuple[Path, Path]:
        directory.mkdir(parents=True, exist_ok=True)
        text = directory / "data.txt"
        lines = [f"tenant {self.tenant_id}", f"epoch {self.epoch}"]
        lines += [f"user {u} {t}" for u, t in self.users]
        lines += [f"heavy {u} {t}" for u, t in self.heavy]
        lines += [f"course {c} {','.join(lessons)}" for c, lessons in self.courses]
        # lua tables are 1-based
        lines += [f"enrol {u + 1} {c + 1}" for u, c in self.enrolments]
        lines += [f"attempt {a} {u + 1} {lesson} {c + 1}" for a, u, lesson, c in self.attempts]
        if self.admin_token:
            lines.append(f"admin {self.admin_token}")
        lines += [f"etag {course_id} {etag}" for course_id, etag in sorted(self.etags.items())]
        text.write_text("\n".join(lines) + "\n")
        summary = directory / "data.json"
        summary.write_text(json.dumps({
            "tenant_id": self.tenant_id, "users": len(self.users), "heavy_users": len(self.heavy),
            "courses": len(self.courses), "enrolments": len(self.enrolments), "attempts": len(self.attempts),
            "csv_user": self.csv_user[0], "csv_enrolments": self.csv_user[2],
        }, indent=2))
        return text, summary


# The dashboards' call of DECISIONS: the enrolments without their per-lesson parts (docs/benchmarks.md).
LEAN_SUMMARY_QUERY = "?fields="


def headers_for(workload: Workload, token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "tenantid": workload.tenant_id, "Content-Type": "application/json"}


def conditional_headers(name: str, workload: Workload, path: str) -> dict[str, str]:
    """The validator a player sends when it polls a course it already holds (course_read_304)."""
    if name != "course_read_304":
        return {}
    etag = workload.etags.get(path.rsplit("/", 1)[-1])
    return {"If-None-Match": etag} if etag else {}


def sample_request(name: str, workload: Workload, rng: random.Random) -> tuple[str, str, dict | None, str]:
    """One request of the scenario, drawn as the lua script draws it: (method, path, body, token)."""
    user_index, course_index = rng.choice(workload.enrolments)
    user_id, token = workload.users[user_index]
    course_id, lessons = workload.courses[course_index]
    lesson = rng.choice(lessons)
    if name == WSGI_FLOOR:
        return "GET", "/bench/wsgi-hello", None, token
    if name == READ_FLOOR:
        return "GET", "/bench/drf-hello", None, token
    if name == DB_FLOOR:
        return "GET", "/bench/db-hello", None, token
    if name == WRITE_FLOOR:
        return "POST", "/bench/raw-upsert", {"key": str(uuid.UUID(int=rng.getrandbits(128), version=4))}, token
    if name == "view_update":
        body = {"request": {"userId": user_id, "collectionId": course_id, "batchId": course_id, "contentId": lesson,
                            "progress": rng.randint(1, 99)}}
        return "POST", "/v1/view/update", body, token
    if name == "lesson_complete":
        body = {"request": {"userId": user_id, "collectionId": course_id, "batchId": course_id, "contentId": lesson}}
        return "POST", "/v1/view/end", body, token
    if name == "attempt_update":
        attempt_id, a_user, a_lesson, _ = rng.choice(workload.attempts)
        a_user_id, a_token = workload.users[a_user]
        body = {"lesson_id": a_lesson, "user_id": a_user_id, "status": "incomplete", "total_content": 100,
                "current_position": rng.randint(11, 90), "time_spent": int(time.time()) - workload.epoch}
        return "PUT", f"/lessons/tracking/{attempt_id}", body, a_token
    if name == "attempt_start":
        return "POST", "/lessons/tracking", {"lesson_id": lesson, "course_id": course_id, "user_id": user_id}, token
    if name == "course_read":
        return "GET", f"/courses/{course_id}", None, token
    if name == "course_read_304":
        course_id = rng.choice(sorted(workload.etags)) if workload.etags else course_id
        return "GET", f"/courses/{course_id}", None, token
    if name == "course_details":
        return "GET", f"/courses/details/{course_id}", None, token
    if name == "enrollment_list":
        return "GET", f"/enrollments?user_id={user_id}", None, token
    if name == "summary_list":
        heavy_id, heavy_token = rng.choice(workload.heavy)
        return "GET", f"/v1/viewer/summary/list/{heavy_id}", None, heavy_token
    if name == "summary_list_lean":
        heavy_id, heavy_token = rng.choice(workload.heavy)
        return "GET", f"/v1/viewer/summary/list/{heavy_id}{LEAN_SUMMARY_QUERY}", None, heavy_token
    if name == "view_read":
        start = rng.randrange(max(1, len(lessons) - 9))
        body = {"request": {"userId": user_id, "contentId": lessons[start:start + 10], "collectionId": course_id,
                            "batchId": course_id}}
        return "POST", "/v1/view/read", body, token
    if name == "users_courses":
        heavy_id, heavy_token = rng.choice(workload.heavy)
        return "GET", f"/enrollments/users-courses?hasEnroll=true&limit=20&userId={heavy_id}", None, heavy_token
    if name == "course_search":
        return "GET", "/courses/search?q=course", None, token
    if name == "summary_read":
        body = {"request": {"userId": user_id, "collectionId": course_id, "batchId": course_id}}
        return "POST", "/v1/viewer/summary/read", body, token
    if name == "course_report":
        return "GET", f"/courses/{course_id}/report", None, workload.admin_token
    if name == "course_explain":
        return "GET", f"/courses/tracking/explain?course_id={course_id}", None, token
    raise KeyError(name)


BENCH_WEBHOOK_URL = "http://127.0.0.1:9/bench-hook"


def _webhook_subscription_ensure(tenant_id) -> None:
    """The one active subscription of the lesson_complete scenario. Written directly: the bench server
    runs as production, whose URL rules refuse loopback, and no worker delivers during the bench."""
    from lms.events.models import WebhookSubscription
    from lms.events.signing import secret_generate

    WebhookSubscription.objects.get_or_create(
        tenant_id=tenant_id, url=BENCH_WEBHOOK_URL, defaults={"events": ["*"], "secret": secret_generate()}
    )


def build_workload(*, scale, seed: int, token_ttl_seconds: int = 12 * 3600) -> Workload:
    """Reads the seeded ids back from the database and mints a learner token per user."""
    from django.db.models import F, Min

    from bench import plan as seeding
    from courses.models import LessonPlacement
    from enrollment.models import Enrollment
    from lms.api.authentication import mint_token
    from tracking.models import AttemptStatus, LessonAttempt

    tenant_id = seeding.tenant_id_for(scale, seed)

    def token(user_id) -> str:
        # Like an identity provider's tokens, these carry `name` and `email`, so the bench measures the
        # learner directory's path too (one upsert per user and worker, then none: DECISIONS §10).
        short = str(user_id)[:8]
        return mint_token(
            user_id=user_id,
            tenant_id=tenant_id,
            roles=["learner"],
            ttl_seconds=token_ttl_seconds,
            name=f"Bench learner {short}",
            email=f"learner-{short}@bench.example.org",
        )

    lessons_by_course: dict[str, list[str]] = {}
    for course_id, lesson_id in (
        LessonPlacement.objects.filter(tenant_id=tenant_id, archived=False)
        .order_by("course_id", "module__ordering", "ordering")
        .values_list("course_id", "lesson_id")
    ):
        lessons_by_course.setdefault(str(course_id), []).append(str(lesson_id))
    courses = sorted(lessons_by_course.items())
    course_index = {c: i for i, (c, _) in enumerate(courses)}

    learner_ids = [seeding.learner_id(scale, i, seed) for i in range(min(scale.token_users, scale.learners))]
    users = [(str(u), token(u)) for u in learner_ids]
    user_index = {u: i for i, (u, _) in enumerate(users)}
    enrolments = sorted(
        (user_index[str(u)], course_index[str(c)])
        for u, c in Enrollment.objects.filter(
            tenant_id=tenant_id, user_id__in=learner_ids, batch_id=F("course_id")
        ).values_list("user_id", "course_id")
    )
    seeded = LessonAttempt.objects.filter(tenant_id=tenant_id)
    epoch = seeded.aggregate(first=Min("timestart"))["first"]
    attempts = [
        (str(a), user_index[str(u)], str(lesson), course_index[str(c)])
        for a, u, lesson, c in seeded.filter(user_id__in=learner_ids, attempt=1, timestart=epoch)
        .exclude(status=AttemptStatus.COMPLETED)
        .order_by("id")
        .values_list("id", "user_id", "lesson_id", "course_id")
    ]
    heavy = [(str(u), token(u)) for u in (seeding.heavy_user_id(scale, i, seed) for i in range(scale.heavy_users))]
    _webhook_subscription_ensure(tenant_id)
    csv_user = seeding.csv_user_id(scale, seed)
    csv_rows = Enrollment.objects.filter(tenant_id=tenant_id, user_id=csv_user).count()
    return Workload(
        tenant_id=str(tenant_id),
        epoch=int(epoch.timestamp()) if epoch else int(time.time()),
        users=users,
        heavy=heavy,
        courses=courses,
        enrolments=enrolments,
        attempts=attempts,
        csv_user=(str(csv_user), token(csv_user), csv_rows),
        small_csv_user=users[0],
        admin_token=mint_token(user_id=seeding.stable_id(seed, scale.name, "bench-admin"), tenant_id=tenant_id,
                               roles=["admin"], ttl_seconds=token_ttl_seconds),
    )
