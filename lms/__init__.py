# The Celery app loads with Django, so `send_task_after_commit` and `@shared_task` use it.
from lms.celery import app as celery_app

__all__ = ("celery_app",)
