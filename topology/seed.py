"""`python -m topology.seed DIR`: seeds the topology's database (bench's smoke scale) and writes what
the proofs and the bench leg draw from: DIR/data.txt for wrk's scripts, DIR/workload.json with the
tenant, an admin token, learners with their enrolments and tokens, and the attempt lesson.

Runs in its own process, with the environment of the app (DATABASE_URL straight to PostgreSQL and
the topology's LMS_JWT_SECRET), so the tokens it mints are the ones the instances accept.
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path


def main(directory: Path) -> None:
    import django

    django.setup()
    from bench import seed as seeding
    from bench.plan import SCALES, SEED
    from bench.scenarios import build_workload
    from courses.models import Lesson
    from lms.api.authentication import mint_token

    scale = SCALES["smoke"]
    seeding.seed_database(scale=scale, seed=SEED, log=lambda message: None)
    workload = build_workload(scale=scale, seed=SEED)
    workload.write(directory)
    tenant_id = uuid.UUID(workload.tenant_id)
    course_id, lessons = workload.courses[0]
    # Attempts without a limit or resume, so that every start under load inserts a new attempt.
    Lesson.objects.filter(pk=lessons[0]).update(no_of_attempts=0, resume=False)
    enrolled = sorted({user for user, course in workload.enrolments if course == 0})
    (directory / "workload.json").write_text(json.dumps({
        "tenant_id": workload.tenant_id,
        "admin_token": mint_token(user_id=uuid.uuid4(), tenant_id=tenant_id, roles=["admin"], ttl_seconds=6 * 3600),
        "course_id": course_id,
        "lessons": lessons,
        "learners": [{"user_id": workload.users[i][0], "token": workload.users[i][1]} for i in enrolled],
    }, indent=2))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
