"""Celery tasks of the events app. Each is safe to run twice: the work is claimed in the database."""

from __future__ import annotations

import uuid

from celery import shared_task
from django.conf import settings

from lms.events import services


@shared_task(name=services.RELAY_TASK, ignore_result=True)
def relay() -> int:
    """Turns new outbox events into deliveries and queues them. Returns how many were created."""
    delivery_ids = services.events_relay()
    services.deliveries_queue(delivery_ids=delivery_ids)
    return len(delivery_ids)


@shared_task(name=services.DELIVER_TASK, ignore_result=True)
def deliver(delivery_id: str) -> str | None:
    """Sends one delivery; a failure that will be retried queues itself for its next time."""
    outcome = services.delivery_send(delivery_id=uuid.UUID(delivery_id))
    if outcome is None:
        return None
    if outcome.retry_in is not None and outcome.retry_in <= settings.LMS_WEBHOOK_COUNTDOWN_MAX_SECONDS:
        # Short waits ride on the broker; long ones are left to the sweep (the database holds the time).
        services.deliveries_queue(delivery_ids=[delivery_id], countdown=outcome.retry_in)
    return outcome.status


@shared_task(name="lms.events.sweep", ignore_result=True)
def sweep() -> int:
    """The safety net on beat: relays events whose kick was lost (broker down at commit time) and
    queues deliveries that are due (retries, expired leases of workers that died). Returns how
    many deliveries it queued."""
    delivery_ids = services.events_relay()
    due = set(delivery_ids) | set(services.deliveries_due())
    return services.deliveries_queue(delivery_ids=due)


@shared_task(name="lms.events.prune", ignore_result=True)
def prune() -> int:
    """Deletes finished events and deliveries older than LMS_EVENTS_RETENTION_DAYS."""
    return services.events_prune()
