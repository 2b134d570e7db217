"""Writes of the events app: the outbox, the relay, deliveries and subscriptions (DECISIONS §9).

Producers call `event_record` inside the transaction of their change, so an event exists exactly
when its change committed. After the commit a relay task is queued; it turns each event into one
delivery per matching active subscription, and each delivery is sent by a `deliver` task. Nothing
here runs inside a request's wait: the only thing a request adds is the outbox insert.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import time
import urllib.error
import urllib.request
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from lms.api.errors import ApiError
from lms.bulk import insert_rows, insert_statement
from lms.celery import send_task, send_task_after_commit
from lms.events import catalogue, signing
from lms.events.models import Event, WebhookDelivery, WebhookDeliveryAttempt, WebhookSubscription
from lms.events.urlrules import WebhookUrlRefused, webhook_url_check

logger = logging.getLogger("lms.events")

RELAY_TASK = "lms.events.relay"
DELIVER_TASK = "lms.events.deliver"


# ---------------------------------------------------------------------------------------------
# The outbox


@dataclass(frozen=True)
class NewEvent:
    tenant_id: uuid.UUID
    type: str
    data: dict[str, Any]
    dedupe_key: str | None = None


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    # UUIDs and datetimes as the API writes them (ISO-8601 with Z), so receivers get plain JSON.
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def _rows(events: Iterable[NewEvent], now: dt.datetime) -> list[Event]:
    return [
        Event(tenant_id=event.tenant_id, type=event.type, data=_plain(event.data), dedupe_key=event.dedupe_key,
              created_at=now)
        for event in events
    ]


def events_record(*, events: Iterable[NewEvent], now: dt.datetime | None = None) -> None:
    """Writes the events to the outbox in the caller's transaction (one INSERT), and queues the relay
    for after the commit. An event whose `dedupe_key` is already there is skipped (ON CONFLICT DO
    NOTHING), so a fact that may happen once is announced once, however many writers race."""
    rows = _rows(events, now or timezone.now())
    if not rows:
        return
    # One statement however many events (bulk_create would split it by SQLite's old parameter limit).
    insert_rows(rows, skip_conflicts_on=("dedupe_key",))
    relay_after_commit()


def events_insert_statement(*, events: Iterable[NewEvent], now: dt.datetime) -> tuple[str, list] | None:
    """`events_record`'s INSERT as SQL and parameters (None for no events), for a producer that
    sends it as a step of one of its own statements (a data-modifying WITH on PostgreSQL), so the
    outbox costs its transaction no statement of its own. The producer then calls
    `relay_after_commit()`."""
    rows = _rows(events, now)
    return insert_statement(rows, skip_conflicts_on=("dedupe_key",)) if rows else None


def relay_after_commit() -> None:
    """Kicks the relay once the transaction commits. The kick never holds up the request: it is
    handed to this process's publisher thread (`lms.celery.send_task_in_background`), and a kick
    that never reaches the broker costs only time, since the sweep on beat relays what is left."""
    send_task_after_commit(RELAY_TASK, in_background=True)


def event_record(
    *, tenant_id: uuid.UUID, type: str, data: dict[str, Any], dedupe_key: str | None = None,
    now: dt.datetime | None = None,
) -> None:
    """One event (see `events_record`). Returns nothing; raises nothing of its own."""
    events_record(events=[NewEvent(tenant_id=tenant_id, type=type, data=data, dedupe_key=dedupe_key)], now=now)


# ---------------------------------------------------------------------------------------------
# The relay: events → deliveries


def events_relay(*, batch_size: int = 200, now: dt.datetime | None = None) -> list[uuid.UUID]:
    """Claims unrelayed events (`SELECT … FOR UPDATE SKIP LOCKED`, so relays on several workers never
    take the same rows), creates one delivery per matching active subscription of the event's
    tenant, and marks the events relayed, batch by batch in one transaction each. Returns the ids
    of the deliveries created (the caller queues them). Safe to run twice: a relayed event is never
    claimed again, and a delivery exists once per (event, subscription)."""
    created: list[uuid.UUID] = []
    while True:
        with transaction.atomic():
            events = list(
                Event.objects.select_for_update(skip_locked=True)
                .filter(relayed_at__isnull=True)
                .order_by("created_at", "id")[:batch_size]
            )
            if not events:
                return created
            stamp = now or timezone.now()
            subscriptions: dict[uuid.UUID, list[WebhookSubscription]] = defaultdict(list)
            for subscription in WebhookSubscription.objects.filter(
                tenant_id__in={event.tenant_id for event in events}, active=True
            ).only("id", "tenant_id", "events"):
                subscriptions[subscription.tenant_id].append(subscription)
            deliveries = [
                WebhookDelivery(
                    tenant_id=event.tenant_id, event=event, subscription=subscription, created_at=stamp,
                    next_attempt_at=stamp, first_attempt_at=stamp,
                )
                for event in events
                for subscription in subscriptions[event.tenant_id]
                if subscription.wants(event.type) and event.type != catalogue.WEBHOOK_TEST
            ]
            WebhookDelivery.objects.bulk_create(deliveries, ignore_conflicts=True)
            Event.objects.filter(pk__in=[event.pk for event in events]).update(relayed_at=stamp)
            created += [delivery.pk for delivery in deliveries]


# ---------------------------------------------------------------------------------------------
# Sending a delivery


def retry_schedule() -> list[float]:
    """Seconds to wait after each failed attempt; after the last one the delivery fails."""
    return [float(value) for value in settings.LMS_WEBHOOK_RETRY_SCHEDULE]


def retry_delay(*, failed_attempts: int) -> float | None:
    """The wait before the next attempt after `failed_attempts` failures in this round, with ±20%
    jitter so that a receiver coming back is not hit by every retry at once; None when the
    schedule (about a day by default) is spent."""
    schedule = retry_schedule()
    if failed_attempts > len(schedule):
        return None
    return schedule[failed_attempts - 1] * random.uniform(0.8, 1.2)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect is an answer that is not 2xx: following it could lead to an address the URL rules refuse.
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int | None, str]:
    """POSTs the body; returns (status code or None, error sentence or "")."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=timeout) as response:
            response.read(64 * 1024)
            return response.status, ""
    except urllib.error.HTTPError as error:
        return error.code, ""
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return None, f"{type(reason).__name__}: {reason}"[:500]


@dataclass(frozen=True)
class SendOutcome:
    status: str
    status_code: int | None
    retry_in: float | None = None


def delivery_lease_take(*, delivery_id: uuid.UUID, now: dt.datetime) -> bool:
    """Takes the delivery for one attempt if it is pending and due: one UPDATE that moves
    `next_attempt_at` past the send's timeout and counts the attempt. True for the one caller that
    wins; False when it is not due, finished, or taken by another worker.

    Every condition is on the delivery row itself, and the subscription is asked through EXISTS.
    A filter across the relation (`subscription__active`) makes Django write `id IN (SELECT …
    JOIN …)`, and PostgreSQL then checks `status` and `next_attempt_at` in the subquery's snapshot:
    a second worker that waited for the first one's row lock would take the same delivery again,
    and the receiver would get it twice at once.
    """
    lease = dt.timedelta(seconds=settings.LMS_WEBHOOK_LEASE_SECONDS)
    subscription_active = WebhookSubscription.objects.filter(pk=OuterRef("subscription_id"), active=True)
    return bool(
        WebhookDelivery.objects.filter(
            Exists(subscription_active), pk=delivery_id, status=WebhookDelivery.Status.PENDING,
            next_attempt_at__lte=now,
        ).update(next_attempt_at=now + lease, attempts=F("attempts") + 1, last_attempt_at=now)
    )


def delivery_send(*, delivery_id: uuid.UUID) -> SendOutcome | None:
    """Sends one pending delivery that is due, and records the answer. Returns the outcome, or None
    when the delivery is not due (sent already, or held by another worker's lease).

    A worker first takes a lease (moves `next_attempt_at` past the send's timeout in one UPDATE
    that only one worker can win), so a worker killed mid-send leaves the delivery to the sweep
    once the lease runs out: at least once. 2xx succeeds; 410 disables the subscription and fails
    the delivery; anything else is retried on the schedule, then fails.
    """
    now = timezone.now()
    if not delivery_lease_take(delivery_id=delivery_id, now=now):
        return None
    delivery = WebhookDelivery.objects.select_related("event", "subscription").get(pk=delivery_id)
    subscription = delivery.subscription
    body = json.dumps(delivery.event.envelope(), separators=(",", ":")).encode()
    headers = signing.headers(
        secret=subscription.secret, message_id=str(delivery.event_id), timestamp=int(time.time()), body=body
    )
    started = time.monotonic()
    try:
        if not settings.LMS_WEBHOOK_ALLOW_PRIVATE:
            # The one place that asks DNS: just before the send, as the name points now.
            webhook_url_check(subscription.url, resolve=True)
        status_code, error = _post(subscription.url, body, headers, settings.LMS_WEBHOOK_TIMEOUT_SECONDS)
    except WebhookUrlRefused as refused:
        status_code, error = None, str(refused)[:500]
    duration_ms = int((time.monotonic() - started) * 1000)
    return _delivery_record_answer(
        delivery=delivery, status_code=status_code, error=error, duration_ms=duration_ms, attempted_at=now
    )


@transaction.atomic
def _delivery_record_answer(
    *, delivery: WebhookDelivery, status_code: int | None, error: str, duration_ms: int, attempted_at: dt.datetime
) -> SendOutcome:
    WebhookDeliveryAttempt.objects.create(
        delivery=delivery, number=delivery.attempts, status_code=status_code, error=error, duration_ms=duration_ms,
        attempted_at=attempted_at,
    )
    now = timezone.now()
    round_attempts = WebhookDeliveryAttempt.objects.filter(
        delivery=delivery, attempted_at__gte=delivery.first_attempt_at or delivery.created_at
    ).count()
    changes: dict[str, Any] = {"last_status_code": status_code, "last_error": error}
    retry_in = None
    if status_code is not None and 200 <= status_code < 300:
        changes.update(status=WebhookDelivery.Status.SUCCEEDED, next_attempt_at=None)
    elif status_code == 410:
        # The receiver says the endpoint is gone for good (Standard Webhooks): stop sending to it.
        WebhookSubscription.objects.filter(pk=delivery.subscription_id).update(
            active=False, disabled_reason=f"The endpoint answered 410 Gone on {now.isoformat()}.", updated_at=now
        )
        changes.update(status=WebhookDelivery.Status.FAILED, next_attempt_at=None)
    else:
        retry_in = retry_delay(failed_attempts=round_attempts)
        if retry_in is None:
            changes.update(status=WebhookDelivery.Status.FAILED, next_attempt_at=None)
        else:
            changes.update(next_attempt_at=now + dt.timedelta(seconds=retry_in))
    WebhookDelivery.objects.filter(pk=delivery.pk, status=WebhookDelivery.Status.PENDING).update(**changes)
    if changes.get("status") == WebhookDelivery.Status.FAILED:
        logger.warning("Webhook delivery %s to subscription %s failed after %s attempts (last answer %s %s).",
                       delivery.pk, delivery.subscription_id, delivery.attempts, status_code, error)
    return SendOutcome(status=changes.get("status", WebhookDelivery.Status.PENDING), status_code=status_code,
                       retry_in=retry_in)


def deliveries_due(*, limit: int = 1000, now: dt.datetime | None = None) -> list[uuid.UUID]:
    """Pending deliveries whose time has come (a retry, a lost message, an expired lease)."""
    now = now or timezone.now()
    return list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now, subscription__active=True
        ).order_by("next_attempt_at").values_list("id", flat=True)[:limit]
    )


def deliveries_queue(*, delivery_ids: Iterable[uuid.UUID], countdown: float | None = None) -> int:
    """Queues a `deliver` task per delivery now (the caller is outside any transaction, or has
    committed). Returns how many the broker took; the sweep takes the rest later."""
    options = {"countdown": countdown} if countdown else {}
    return sum(send_task(DELIVER_TASK, str(delivery_id), **options) for delivery_id in delivery_ids)


def events_prune(*, older_than_days: int | None = None, now: dt.datetime | None = None) -> int:
    """Deletes relayed events older than the retention (LMS_EVENTS_RETENTION_DAYS) whose
    deliveries are all finished, with those deliveries and their attempts. Returns how many events
    went. The once-only facts stay once-only after pruning: producers announce a completion or a
    certificate only when their own rows say it is the first."""
    days = settings.LMS_EVENTS_RETENTION_DAYS if older_than_days is None else older_than_days
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    pending = WebhookDelivery.objects.filter(event=OuterRef("pk"), status=WebhookDelivery.Status.PENDING)
    old = Event.objects.filter(relayed_at__lt=cutoff).exclude(Exists(pending))
    total = 0
    while True:
        ids = list(old.values_list("id", flat=True)[:1000])
        if not ids:
            return total
        with transaction.atomic():
            WebhookDeliveryAttempt.objects.filter(delivery__event_id__in=ids).delete()
            WebhookDelivery.objects.filter(event_id__in=ids).delete()
            total += Event.objects.filter(pk__in=ids).delete()[0]


# ---------------------------------------------------------------------------------------------
# Subscriptions (tenant admins, through the API or the admin)


def _checked_url(url: str) -> str:
    try:
        return webhook_url_check(url)
    except WebhookUrlRefused as refused:
        raise ApiError(str(refused), code="ERR_VALIDATION", result={"errors": {"url": [str(refused)]}}) from None


def _checked_events(events: list[str]) -> list[str]:
    unknown = [name for name in events if name not in catalogue.EVENT_TYPES and name != catalogue.ALL_EVENTS]
    if unknown or not events:
        message = (
            f"Unknown event types: {', '.join(unknown)}. " if unknown else "Name at least one event type. "
        ) + f"Use [\"*\"] or any of {', '.join(catalogue.EVENT_TYPES)}."
        raise ApiError(message, code="ERR_VALIDATION", result={"errors": {"events": [message]}})
    return list(dict.fromkeys(events))


@transaction.atomic
def webhook_subscription_create(
    *, tenant_id: uuid.UUID, url: str, events: list[str], description: str = "", created_by: uuid.UUID | None = None,
) -> WebhookSubscription:
    """A new active subscription with a fresh secret (the caller shows it once). Raises ApiError 400
    (a refused URL, unknown event types)."""
    return WebhookSubscription.objects.create(
        tenant_id=tenant_id, url=_checked_url(url), events=_checked_events(events), description=description,
        secret=signing.secret_generate(), created_by=created_by,
    )


@transaction.atomic
def webhook_subscription_update(*, subscription: WebhookSubscription, **changes: Any) -> WebhookSubscription:
    """Changes any of url, events, active, description. Re-activating clears the reason it was
    disabled. Returns the subscription. Raises ApiError 400 as on creation."""
    locked = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    if "url" in changes:
        locked.url = _checked_url(changes["url"])
    if "events" in changes:
        locked.events = _checked_events(changes["events"])
    if "description" in changes:
        locked.description = changes["description"]
    if "active" in changes:
        locked.active = changes["active"]
        if locked.active:
            locked.disabled_reason = ""
    locked.save()
    return locked


@transaction.atomic
def webhook_subscription_delete(*, subscription: WebhookSubscription) -> None:
    """Deletes the subscription with its deliveries; events stay for other subscriptions."""
    WebhookDeliveryAttempt.objects.filter(delivery__subscription=subscription).delete()
    subscription.delete()


@transaction.atomic
def webhook_subscription_rotate_secret(*, subscription: WebhookSubscription) -> WebhookSubscription:
    """A new secret from now on (the caller shows it once); deliveries not yet sent use the new one."""
    subscription.secret = signing.secret_generate()
    subscription.save(update_fields=["secret", "updated_at"])
    return subscription


@transaction.atomic
def webhook_subscription_test(*, subscription: WebhookSubscription) -> WebhookDelivery:
    """Sends a `webhook.test` event to this subscription only (whatever events it names, and even
    when inactive, to check an endpoint before turning it on). Returns the delivery."""
    now = timezone.now()
    event = Event.objects.create(
        tenant_id=subscription.tenant_id, type=catalogue.WEBHOOK_TEST, data={"webhookId": str(subscription.pk)},
        created_at=now, relayed_at=now,
    )
    delivery = WebhookDelivery.objects.create(
        tenant_id=subscription.tenant_id, event=event, subscription=subscription, created_at=now,
        next_attempt_at=now, first_attempt_at=now,
    )
    send_task_after_commit(DELIVER_TASK, str(delivery.pk))
    return delivery


@transaction.atomic
def webhook_deliveries_redeliver(*, delivery_ids: Iterable[uuid.UUID]) -> int:
    """Sends the deliveries again from now, with a fresh retry schedule, whatever their status (a
    receiver de-duplicates on `webhook-id`): one UPDATE, then one task each after the commit.
    Returns how many were queued."""
    now = timezone.now()
    ids = list(
        WebhookDelivery.objects.filter(pk__in=list(delivery_ids)).values_list("pk", flat=True)
    )
    WebhookDelivery.objects.filter(pk__in=ids).update(
        status=WebhookDelivery.Status.PENDING, next_attempt_at=now, first_attempt_at=now
    )
    for delivery_id in ids:
        send_task_after_commit(DELIVER_TASK, str(delivery_id))
    return len(ids)


def webhook_delivery_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """One delivery sent again (see `webhook_deliveries_redeliver`). Returns it, refreshed."""
    webhook_deliveries_redeliver(delivery_ids=[delivery.pk])
    delivery.refresh_from_db()
    return delivery


__all__ = [
    "NewEvent",
    "deliveries_due",
    "deliveries_queue",
    "delivery_lease_take",
    "delivery_send",
    "event_record",
    "events_prune",
    "events_insert_statement",
    "events_record",
    "events_relay",
    "relay_after_commit",
    "webhook_deliveries_redeliver",
    "retry_delay",
    "webhook_delivery_redeliver",
    "webhook_subscription_create",
    "webhook_subscription_delete",
    "webhook_subscription_rotate_secret",
    "webhook_subscription_test",
    "webhook_subscription_update",
]
