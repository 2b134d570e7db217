"""The embedded default (DECISIONS §9): with no broker, `make run`'s worker (`python -m lms.worker`,
kombu's filesystem transport in LMS_CELERY_DIR) delivers webhooks within seconds, and the request
that caused the event does not wait for the delivery. On both databases."""

from __future__ import annotations

import time
import uuid

import pytest
from standardwebhooks.webhooks import Webhook

from lms.api.authentication import mint_token
from tests.events.stack import Worker
from tests.factories import TenantFactory, build_course
from tests.live import start_live_gunicorn

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


def test_make_run_delivers_webhooks_within_seconds_without_a_broker(django_db_blocker, tmp_path, receiver):
    tenant = TenantFactory()
    course = build_course(tenant=tenant, modules=1, lessons_per_module=1)
    embedded = {"LMS_CELERY_DIR": str(tmp_path / "celery"), "CELERY_BROKER_URL": ""}
    server = start_live_gunicorn(tmp_path / "gunicorn", django_db_blocker, env=embedded)
    worker = Worker(server=server, workdir=tmp_path, env={**embedded, "LMS_EVENTS_SWEEP_SECONDS": "15"})
    try:
        worker.start()
        token = mint_token(user_id=uuid.uuid4(), tenant_id=tenant.id, roles=["admin"], ttl_seconds=600)
        headers = {"Authorization": f"Bearer {token}", "tenantid": str(tenant.id)}
        created = server.request("POST", "/webhooks", body={"url": receiver.url, "events": ["enrollment.created"]},
                                 headers=headers)
        assert created.status == 201, created.body
        secret = created.json()["result"]["secret"]

        receiver.hold_seconds = 3  # a slow receiver: the request must not wait for it
        asked = time.time()
        enrolled = server.request("POST", "/enrollments", headers=headers,
                                  body={"course_id": str(course.id), "user_id": str(uuid.uuid4())})
        answered = time.time() - asked

        assert enrolled.status == 201, enrolled.body
        assert answered < 2.5, f"the enrollment waited {answered:.1f}s"
        receiver.wait_for(lambda r: len(r.received) == 1, timeout=10, what="the delivery within seconds")
        payload = Webhook(secret).verify(receiver.received[0].body, receiver.received[0].headers)
        assert payload["type"] == "enrollment.created"
        assert payload["data"]["enrollmentId"] == enrolled.json()["result"]["id"]
        assert receiver.received[0].at - asked < 10
        # kombu keeps its exchange bindings in LMS_CELERY_DIR too, not in a control/ folder of the checkout
        assert (tmp_path / "celery" / "control" / "lms.exchange").is_file()
    finally:
        worker.stop()
        server.stop()
