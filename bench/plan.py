"""The shape of each benchmark scale and the stable ids derived from (seed, scale, label).

Free of Django imports, so the harness can name databases and seed markers before Django starts.
"""

from __future__ import annotations

import dataclasses
import math
import uuid

SEED = 20240601
# Bump when the shape of the seeded data changes: a database seeded by another version is rebuilt.
SEED_VERSION = 2
_NAMESPACE = uuid.UUID("0d5c3f7e-2b4a-4c1e-9a57-5b0f6a1c9e42")
# Heavy users are the `summary/list` subjects: 50 enrolments each, as the issue asks.
HEAVY_ENROLMENTS = 50
# Programs group 10 courses; program enrolments (batch = program id) reach 50 and 10,000 summaries
# even at scale S, which has only 10 courses.
PROGRAM_SIZE = 10


@dataclasses.dataclass(frozen=True)
class Scale:
    name: str
    courses: int
    modules_per_course: int
    lessons_per_module: int
    learners: int
    enrolments_per_learner: int
    consumption_per_enrolment: int
    heavy_users: int
    csv_enrolments: int
    attempts: int
    token_users: int
    # Enough attempts that a wrk thread revisits one only long after its previous update finished
    # (time_spent must never arrive lower than the stored value).
    attempts_per_enrolment: int = 1

    @property
    def lessons_per_course(self) -> int:
        return self.modules_per_course * self.lessons_per_module


SCALES: dict[str, Scale] = {
    "smoke": Scale(
        name="smoke", courses=3, modules_per_course=4, lessons_per_module=5, learners=40, enrolments_per_learner=2,
        consumption_per_enrolment=4, heavy_users=2, csv_enrolments=300, attempts=400, token_users=40,
        attempts_per_enrolment=4,
    ),
    # S: 10 courses, 1,000 learners (5,000 enrolments, 50,000 consumption rows).
    "S": Scale(
        name="S", courses=10, modules_per_course=20, lessons_per_module=20, learners=1_000, enrolments_per_learner=5,
        consumption_per_enrolment=10, heavy_users=20, csv_enrolments=10_000, attempts=5_000, token_users=1_000,
    ),
    # L: 100 courses of 20 x 20, 100,000 enrolments (99,000 + 20 heavy users x 50), 1,000,000 consumption rows.
    "L": Scale(
        name="L", courses=100, modules_per_course=20, lessons_per_module=20, learners=19_800, enrolments_per_learner=5,
        consumption_per_enrolment=10, heavy_users=20, csv_enrolments=10_000, attempts=10_000, token_users=2_000,
    ),
}


def stable_id(seed: int, scale: str, label: str) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"{seed}:{scale}:{label}")


def tenant_id_for(scale: Scale, seed: int = SEED) -> uuid.UUID:
    return stable_id(seed, scale.name, "tenant")


def tenant_marker(scale: Scale, seed: int = SEED) -> str:
    """The seeded tenant's name once seeding has finished; a database without it is reseeded."""
    return f"Benchmark {scale.name} (seed {seed}, v{SEED_VERSION})"


def learner_id(scale: Scale, index: int, seed: int = SEED) -> uuid.UUID:
    return stable_id(seed, scale.name, f"learner:{index}")


def heavy_user_id(scale: Scale, index: int, seed: int = SEED) -> uuid.UUID:
    return stable_id(seed, scale.name, f"heavy:{index}")


def csv_user_id(scale: Scale, seed: int = SEED) -> uuid.UUID:
    return stable_id(seed, scale.name, "csv-user")


def program_children(*, program_index: int, course_count: int) -> list[int]:
    """Course indexes of a program: PROGRAM_SIZE consecutive courses (wrapping), all distinct."""
    size = min(PROGRAM_SIZE, course_count)
    return [(program_index * size + j) % course_count for j in range(size)]


def heavy_user_plan(scale: Scale) -> tuple[list[int], int]:
    """(direct course indexes, number of shared programs) giving a heavy user >= 50 enrolments."""
    direct = list(range(min(HEAVY_ENROLMENTS, scale.courses)))
    size = min(PROGRAM_SIZE, scale.courses)
    programs = math.ceil(max(0, HEAVY_ENROLMENTS - len(direct)) / size)
    return direct, programs
