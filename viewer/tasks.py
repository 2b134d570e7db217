"""Celery tasks of the viewer app."""

from celery import shared_task

from viewer import services


@shared_task(name=services.PROGRAM_ENROLMENT_TASK, ignore_result=True)
def program_enrolment_run() -> dict[str, int]:
    """The enrolment updater job (queued after each program enrolment, and on beat as a sweep).
    Safe to run twice and on several workers: events are claimed with SKIP LOCKED."""
    run = services.enrolment_updater_run()
    return {"done": run.done, "retried": run.retried, "failed": run.failed}
