"""Celery tasks of the tracking app."""

import uuid

from celery import shared_task

from tracking import services

TENANT_RECOUNT_TASK = "tracking.tenant_tracks_recount"


@shared_task(name=TENANT_RECOUNT_TASK, ignore_result=True)
def tenant_tracks_recount(tenant_id: str) -> int:
    """Every course track of the tenant recounted under its current carry-forward policy. A recount
    is idempotent, so running it twice (a redelivered message) changes nothing more."""
    return services.course_tracks_recount_for_tenant(tenant_id=uuid.UUID(tenant_id))
