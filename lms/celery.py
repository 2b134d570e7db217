"""The Celery app: background work on workers (`celery -A lms worker`, `celery -A lms beat`).

Configuration comes from Django settings under the CELERY_ namespace (lms/settings.py, from the
environment). Producers never import a higher app's task module: they send a task by name after
their transaction commits (`send_task_after_commit`), and a broker that does not answer never fails
the request that wanted the work; the periodic sweeps on beat pick the work up from the database.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time

from celery import Celery
from django.conf import settings
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


class _Publisher:
    """One daemon thread per process that publishes kicks, so that no request waits on the broker:
    not on the first publish of a process (connecting and loading the transport, ~0.4 s), not on a
    slow broker, not on one that is down (seconds of connect timeout per try).

    Only for tasks whose loss costs time, not work: a periodic sweep on beat redoes what a kick
    that never reached the broker left (the outbox relay). A kick already waiting for the thread
    covers later ones with the same name and arguments: the task runs after it is published, so it
    sees everything committed before.

    A kick waits `LMS_TASK_KICK_GATHER_SECONDS` after it was handed over before it is published, so
    that it covers the kicks of every commit in that window. A publish through Celery costs about a
    millisecond of this process's CPU (kombu's entities and Celery's settings lookups, whatever the
    broker); one per completing request was a quarter of that request's Python time, taken from the
    request threads under load (issue 15). The relay then starts at most that much later.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: set[tuple] = set()
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._pid: int | None = None

    def submit(self, name: str, args: tuple) -> None:
        key = (name, args)
        with self._lock:
            self._start_once()
            if key in self._waiting:
                return
            self._waiting.add(key)
        self._queue.put((key, time.monotonic()))

    def warm(self) -> None:
        """Starts the thread, which connects to the broker before anything is to be sent (a
        gunicorn worker calls this as it starts, so its first request finds the publisher ready)."""
        with self._lock:
            self._start_once()

    def _start_once(self) -> None:
        # A forked child inherits the parent's state but not its threads: start again there.
        if self._pid == os.getpid():
            return
        self._pid = os.getpid()
        self._waiting.clear()
        self._queue = queue.SimpleQueue()
        threading.Thread(target=self._run, args=(self._queue,), name="lms-task-publisher", daemon=True).start()

    def _run(self, kicks: queue.SimpleQueue) -> None:
        _connect()
        while True:
            key, handed_over = kicks.get()
            wait = handed_over + getattr(settings, "LMS_TASK_KICK_GATHER_SECONDS", 0.0) - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            # Taken out of the waiting set before the publish: a commit after this point kicks again,
            # and one before it is covered, as the task is published after it.
            with self._lock:
                self._waiting.discard(key)
            send_task(key[0], *key[1])


def _connect() -> None:
    """Opens the producer's broker connection, so that the first real publish costs what the
    others do. A broker that does not answer is left to the first send, which logs it."""
    try:
        with app.producer_or_acquire() as producer:
            producer.connection.ensure_connection(max_retries=1)
    except Exception as error:  # noqa: BLE001 -- the first send logs and the sweep repeats the work
        logger.info("The task publisher could not connect yet (%s: %s).", type(error).__name__, error)


_publisher = _Publisher()


def send_task_in_background(name: str, *args) -> None:
    """Hands the task to this process's publisher thread and returns at once (see `_Publisher`).
    With `task_always_eager` (the tests) it runs in place, as `send_task` does."""
    if app.conf.task_always_eager:
        send_task(name, *args)
        return
    _publisher.submit(name, args)


def publisher_warm() -> None:
    """Loads the task modules here and now, and starts this process's publisher thread, which opens
    its broker connection, ahead of the first kick (a gunicorn worker calls it as it starts)."""
    if app.conf.task_always_eager:
        return
    app.loader.import_default_modules()
    _publisher.warm()


def send_task_after_commit(name: str, *args, in_background: bool = False) -> None:
    """Queues the task once the current transaction commits (never for a rolled-back one); the
    same task with the same arguments is queued once per transaction. `in_background` hands it to
    the publisher thread (`send_task_in_background`), for kicks that a periodic sweep backs up."""
    connection = transaction.get_connection()
    key = (name, args)
    # Django keeps the callbacks of the open transaction (and drops those of rolled-back savepoints).
    if any(getattr(func, "lms_task_key", None) == key for _sids, func, _robust in connection.run_on_commit):
        return

    def send() -> None:
        if in_background:
            send_task_in_background(name, *args)
        else:
            send_task(name, *args)

    send.lms_task_key = key
    transaction.on_commit(send)
