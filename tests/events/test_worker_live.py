"""The proofs of DECISIONS §9 with a real Redis broker and real Celery workers (PostgreSQL leg):
requests go to a live gunicorn, workers deliver to a receiver on loopback.

Every request's events are relayed by the worker (kicked through Redis after the commit, or found
by the sweep on beat); nothing here runs a task in the test process.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from standardwebhooks.webhooks import Webhook

from lms.api.authentication import mint_token
from lms.celery import app as celery_app
from lms.events.models import Event, WebhookDelivery, WebhookDeliveryAttempt
from tests.events.receiver import Receiver
from tests.events.stack import QUICK, REDIS_URL, Worker, redis_available, redis_flush
from tests.factories import TenantFactory, build_course
from tests.live import start_live_gunicorn
from viewer.models import Program, ProgramCourse

pytestmark = [pytest.mark.live, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker, tmp_path_factory):
    if not redis_available():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs Redis at {REDIS_URL} for the webhook proofs (.ci/run starts it)")
        pytest.skip(f"needs Redis at {REDIS_URL} (LMS_TEST_REDIS_URL)")
    running = start_live_gunicorn(tmp_path_factory.mktemp("events-gunicorn"), django_db_blocker,
                                  env={"CELERY_BROKER_URL": REDIS_URL, "GUNICORN_THREADS": "8", **QUICK})
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def _tasks_go_to_workers():
    # The suite runs tasks in place; here the test process's own kicks are dropped (memory
    # broker) and the workers' sweep picks their work up, as after a broker outage.
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = True


@pytest.fixture
def start_worker(server, tmp_path):
    redis_flush()
    workers = []

    def start(**kwargs) -> Worker:
        worker = Worker(server=server, workdir=tmp_path, env={"CELERY_BROKER_URL": REDIS_URL},
                        name=f"worker{len(workers) + 1}", **kwargs)
        workers.append(worker)
        return worker.start()

    yield start
    for worker in workers:
        worker.stop()


class Api:
    def __init__(self, server, tenant_id, roles, user_id=None):
        self.server, self.tenant_id = server, tenant_id
        self.user_id = user_id or uuid.uuid4()
        token = mint_token(user_id=self.user_id, tenant_id=tenant_id, roles=roles, ttl_seconds=3600)
        self.headers = {"Authorization": f"Bearer {token}", "tenantid": str(tenant_id)}

    def __call__(self, method, path, body=None, expect=(200, 201, 202)):
        response = self.server.request(method, path, body=body, headers=self.headers)
        assert response.status in expect, (method, path, response.status, response.body[:500])
        return response.json()["result"]


def subscribe(admin: Api, url: str, events=("*",)) -> dict:
    return admin("POST", "/webhooks", {"url": url, "events": list(events)})


def verified(receiver: Receiver, secret: str) -> list[dict]:
    return [Webhook(secret).verify(r.body, r.headers) for r in receiver.received]


def settle(seconds: float = 3.0) -> None:
    """Time for a duplicate, if there were one, to arrive: several sweeps and retries."""
    time.sleep(seconds)


def test_every_catalogue_event_arrives_once_signed_with_its_data(server, start_worker, receiver):
    start_worker()
    tenant = TenantFactory()
    course = build_course(tenant=tenant, modules=1, lessons_per_module=2, certificate_term="COMPLETE_ALL")
    second_course = build_course(tenant=tenant, modules=1, lessons_per_module=1)
    program = Program.objects.create(tenant=tenant, identifier="p", name="P")
    ProgramCourse.objects.create(program=program, course=second_course, ordering=1)
    first, last = course.placements.order_by("ordering").values_list("lesson_id", flat=True)
    admin, learner = Api(server, tenant.id, ["admin"]), Api(server, tenant.id, ["learner"])
    subscription = subscribe(admin, receiver.url)

    enrollment = admin("POST", "/enrollments", {"course_id": str(course.id), "user_id": str(learner.user_id)})
    attempt = learner("POST", "/lessons/tracking", {"lesson_id": str(first), "course_id": str(course.id)})
    learner("PUT", f"/lessons/tracking/{attempt['id']}", {"status": "completed"})
    learner("POST", "/v1/view/end", {"request": {"userId": str(learner.user_id), "contentId": str(last),
                                                 "collectionId": str(course.id), "batchId": str(course.id)}})
    admin("PUT", f"/enrollments/{enrollment['id']}", {"unlimited_plan": True})
    admin("POST", "/v1/program/enrol", {"request": {"programId": str(program.id), "userId": str(learner.user_id)}})
    admin("POST", f"/webhooks/{subscription['id']}/test")

    expected = Counter({"enrollment.created": 2, "lesson.completed": 2, "course.completed": 1,
                        "certificate.issued": 1, "enrollment.updated": 1, "program.enrolled": 1, "webhook.test": 1})
    receiver.wait_for(lambda r: len(r.received) >= sum(expected.values()), timeout=60, what="every event")
    settle()
    payloads = verified(receiver, subscription["secret"])
    assert Counter(p["type"] for p in payloads) == expected
    assert len({p["id"] for p in payloads}) == len(payloads)  # each once
    assert all(p["tenantId"] == str(tenant.id) for p in payloads)
    by_type = {p["type"]: p["data"] for p in payloads}
    lessons = sorted((p["data"]["lessonId"], p["data"]["source"]) for p in payloads if p["type"] == "lesson.completed")
    assert lessons == sorted([(str(first), "tracking"), (str(last), "viewer")])
    assert by_type["course.completed"]["courseId"] == str(course.id)
    assert by_type["certificate.issued"]["userId"] == str(learner.user_id)
    assert by_type["enrollment.updated"]["changes"]["unlimited_plan"] == {"from": False, "to": True}
    assert by_type["program.enrolled"] == {"userId": str(learner.user_id), "programId": str(program.id),
                                           "courseIds": [str(second_course.id)]}
    assert by_type["webhook.test"] == {"webhookId": subscription["id"]}
    # Count events against deliveries: one succeeded delivery each, nothing pending or lost.
    assert Event.objects.count() == WebhookDelivery.objects.filter(status="succeeded").count() == len(payloads)


def test_twenty_concurrent_completions_give_one_course_completed_and_one_certificate(server, start_worker, receiver):
    start_worker()
    tenant = TenantFactory()
    course = build_course(tenant=tenant, modules=1, lessons_per_module=2, certificate_term="COMPLETE_ALL")
    first, last = course.placements.order_by("ordering").values_list("lesson_id", flat=True)
    admin, learner = Api(server, tenant.id, ["admin"]), Api(server, tenant.id, ["learner"])
    subscription = subscribe(admin, receiver.url, events=["lesson.completed", "course.completed", "certificate.issued"])
    admin("POST", "/enrollments", {"course_id": str(course.id), "user_id": str(learner.user_id)})
    learner("POST", "/v1/view/end", {"request": {"userId": str(learner.user_id), "contentId": str(first),
                                                 "collectionId": str(course.id)}})
    attempt = learner("POST", "/lessons/tracking", {"lesson_id": str(last), "course_id": str(course.id)})

    def complete(n: int) -> None:
        # Half through the viewer, half through the attempt API (a 409 is a concurrent completion that lost).
        if n % 2:
            learner("POST", "/v1/view/end", {"request": {"userId": str(learner.user_id), "contentId": str(last),
                                                         "collectionId": str(course.id)}})
        else:
            learner("PUT", f"/lessons/tracking/{attempt['id']}", {"status": "completed"}, expect=(200, 409))

    with ThreadPoolExecutor(20) as pool:
        list(pool.map(complete, range(20)))

    receiver.wait_for(lambda r: len(r.received) >= 4, timeout=60, what="the completions")
    settle()
    kinds = Counter(p["type"] for p in verified(receiver, subscription["secret"]))
    assert kinds == {"lesson.completed": 2, "course.completed": 1, "certificate.issued": 1}


def test_500_twice_then_200_is_delivered_with_the_attempts_recorded(server, start_worker, receiver):
    start_worker()
    receiver.answers = [500, 500]
    admin = Api(server, TenantFactory().id, ["admin"])
    subscription = subscribe(admin, receiver.url, events=["webhook.test"])

    delivery = admin("POST", f"/webhooks/{subscription['id']}/test")

    receiver.wait_for(lambda r: len(r.received) >= 3, timeout=30, what="three attempts")
    settle(2)
    [listed] = admin("GET", f"/webhooks/{subscription['id']}/deliveries")["deliveries"]
    assert (listed["id"], listed["status"], listed["attempts"], listed["lastStatusCode"]) == (
        delivery["id"], "succeeded", 3, 200)
    assert list(WebhookDeliveryAttempt.objects.values_list("number", "status_code")) == [(1, 500), (2, 500), (3, 200)]
    assert len(receiver.received) == 3


def test_a_receiver_that_is_down_gets_the_event_once_it_is_back(server, start_worker):
    start_worker()
    down = Receiver().start()
    port = down.server.server_address[1]
    url = down.url
    down.stop()
    admin = Api(server, TenantFactory().id, ["admin"])
    subscription = subscribe(admin, url, events=["webhook.test"])
    admin("POST", f"/webhooks/{subscription['id']}/test")

    deadline = time.monotonic() + 30
    while not WebhookDelivery.objects.filter(attempts__gte=2).exists():
        assert time.monotonic() < deadline, "no failed attempt recorded while the receiver was down"
        time.sleep(0.2)
    assert WebhookDelivery.objects.get().status == "pending"
    back = Receiver().start(ports=range(port, port + 1))
    try:
        back.wait_for(lambda r: len(r.received) == 1, timeout=30, what="the delivery after the receiver came back")
        settle(2)
        assert len(back.received) == 1
        assert WebhookDelivery.objects.get().status == "succeeded"
    finally:
        back.stop()


def test_a_worker_killed_mid_delivery_leaves_it_to_another_worker(server, start_worker, receiver):
    doomed = start_worker(beat=False)
    admin = Api(server, TenantFactory().id, ["admin"])
    subscription = subscribe(admin, receiver.url)
    receiver.hold_seconds = 8  # the first POST hangs: the worker is mid-delivery when it dies

    admin("POST", f"/webhooks/{subscription['id']}/test")
    receiver.wait_for(lambda r: len(r.received) == 1, timeout=30, what="the first POST")
    doomed.kill()
    start_worker()  # another worker, with the scheduler whose sweep finds the expired lease

    receiver.wait_for(lambda r: len(r.received) >= 2, timeout=40, what="the delivery by the second worker")
    settle(2)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)
    assert receiver.received[0].headers["webhook-id"] == receiver.received[1].headers["webhook-id"]
    # Nothing lost: every event has its delivery, and every delivery succeeded.
    assert Event.objects.count() == WebhookDelivery.objects.filter(status="succeeded").count() == 1


def test_a_tenants_events_never_reach_another_tenants_subscription(server, start_worker, receiver):
    start_worker()
    other_receiver = Receiver().start()
    try:
        home, away = TenantFactory(), TenantFactory()
        course = build_course(tenant=home, modules=1, lessons_per_module=1)
        home_admin, away_admin = Api(server, home.id, ["admin"]), Api(server, away.id, ["admin"])
        home_hook = subscribe(home_admin, receiver.url)
        away_hook = subscribe(away_admin, other_receiver.url)

        home_admin("POST", "/enrollments", {"course_id": str(course.id), "user_id": str(uuid.uuid4())})
        away_admin("POST", f"/webhooks/{away_hook['id']}/test")

        receiver.wait_for(lambda r: len(r.received) == 1, timeout=30, what="the home tenant's event")
        other_receiver.wait_for(lambda r: len(r.received) == 1, timeout=30, what="the other tenant's test")
        settle(2)
        assert [p["type"] for p in verified(receiver, home_hook["secret"])] == ["enrollment.created"]
        assert [p["type"] for p in verified(other_receiver, away_hook["secret"])] == ["webhook.test"]
    finally:
        other_receiver.stop()
