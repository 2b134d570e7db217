"""The Celery app: background work on workers (`celery -A lms worker`, `celery -A lms beat`).

Configuration comes from Django settings under the CELERY_ namespace (lms/settings.py, from the
environment). Producers never import a higher app's task module: they send a task by name after
their transaction commits (`send_task_after_commit`), and a broker that does not answer never fails
the request that wanted the work; the periodic sweeps on beat pick the work up from the database.
"""

from __future__ import annotations

import logging
import os

from celery import Celery
from django.db import transaction

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lms.settings")

app = Celery("lms")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["lms.events", "enrollment", "tracking", "viewer"])

logger = logging.getLogger("lms.tasks")


def send_task(name: str, *args, **options) -> bool:
    """Queues the task by name now. Returns False, and logs, when the broker does not take it."""
    try:
        if name not in app.tasks:
            # Outside a worker the task modules load on first use (autodiscovery waits for this).
            app.loader.import_default_modules()
        task = app.tasks.get(name)
        if task is not None:
            # Through the task object, so that task_always_eager (tests) runs it in place.
            task.apply_async(args=args, **options)
        else:
            app.send_task(name, args=args, **options)
    except Exception as error:  # noqa: BLE001 -- any broker failure is logged; a sweep repeats the work
        logger.warning("Could not queue task %s (%s: %s); the periodic sweep will pick the work up.",
                       name, type(error).__name__, error)
        return False
    return True


def send_task_after_commit(name: str, *args) -> None:
    """Queues the task once the current transaction commits (never for a rolled-back one); the
    same task with the same arguments is queued once per transaction."""
    connection = transaction.get_connection()
    key = (name, args)
    # Django keeps the callbacks of the open transaction (and drops those of rolled-back savepoints).
    if any(getattr(func, "lms_task_key", None) == key for _sids, func, _robust in connection.run_on_commit):
        return

    def send() -> None:
        send_task(name, *args)

    send.lms_task_key = key
    transaction.on_commit(send)
