"""`python -m lms.worker`: the Celery worker, with the scheduler (beat) inside it, that `make run`
starts beside gunicorn and `make worker` starts for development.

Production runs `celery -A lms worker` and one `celery -A lms beat` as separate processes (README,
Operations). This is one process for the embedded default: on kombu's filesystem transport (no
broker; the queue is a folder, LMS_CELERY_DIR) there is no broadcast, so the worker skips the
gossip, mingle and heartbeat that talk to other workers; with CELERY_BROKER_URL set it is the same
worker on that broker.
"""

from __future__ import annotations

import os
import sys

EMBEDDED_ARGUMENTS = [
    "-A", "lms", "worker", "--beat", "--queues=lms,webhooks", "--pool=threads",
    f"--concurrency={os.environ.get('CELERY_CONCURRENCY', '4')}",
    "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO",
]


def main(extra: list[str]) -> None:
    from celery.__main__ import main as celery_main

    sys.argv = ["celery", *EMBEDDED_ARGUMENTS, *extra]
    celery_main()


if __name__ == "__main__":
    main(sys.argv[1:])
