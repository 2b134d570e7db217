"""`python -m bench.relay_throughput [--events N] [--broker URL]`: webhook deliveries per second of one
worker (`python -m lms.worker`, its default 4 threads) to a receiver on loopback that answers 204 at once.

It writes N events for one tenant with one subscription to the database named by DATABASE_URL
(migrated first), starts the worker, queues the relay and times until every delivery succeeded,
then removes its rows. The figure goes into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class _Receiver(BaseHTTPRequestHandler):
    count = 0

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        _Receiver.count += 1
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--broker", default=os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/5"))
    parser.add_argument("--port", type=int, default=18303)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lms.settings")
    os.environ["CELERY_BROKER_URL"] = args.broker
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from lms.celery import send_task
    from lms.events.models import Event, WebhookDelivery, WebhookSubscription
    from lms.events.signing import secret_generate
    from lms.models import Tenant

    call_command("migrate", verbosity=0)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    tenant = Tenant.objects.create(name="relay-throughput")
    WebhookSubscription.objects.create(tenant=tenant, url=f"http://127.0.0.1:{args.port}/hook", events=["*"],
                                       secret=secret_generate())
    now = timezone.now()
    Event.objects.bulk_create([
        Event(tenant=tenant, type="enrollment.created", data={"n": n}, created_at=now) for n in range(args.events)
    ])
    log = ROOT / "bench" / "results" / "tmp" / "relay-worker.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "LMS_EVENTS_SWEEP_SECONDS": "3600"}  # only the kick relays: the sweep stays out
    worker = subprocess.Popen([sys.executable, "-m", "lms.worker", "--loglevel=WARNING"], cwd=ROOT, env=env,
                              stdout=open(log, "ab"), stderr=subprocess.STDOUT, start_new_session=True)
    try:
        time.sleep(8)  # the worker's start-up is not part of the figure
        started = time.monotonic()
        send_task("lms.events.relay")
        deliveries = WebhookDelivery.objects.filter(subscription__tenant=tenant)
        while deliveries.filter(status="succeeded").count() < args.events:
            if time.monotonic() - started > 600:
                print("gave up after 600 s", file=sys.stderr)
                return 1
            time.sleep(0.2)
        elapsed = time.monotonic() - started
        print(f"{args.events} events relayed and delivered in {elapsed:.1f} s by one worker "
              f"(4 threads): {args.events / elapsed:.0f} deliveries/s; receiver got {_Receiver.count}")
        return 0
    finally:
        os.killpg(worker.pid, 15)
        worker.wait(30)
        server.shutdown()
        WebhookDelivery.objects.filter(tenant=tenant).delete()
        Event.objects.filter(tenant=tenant).delete()
        WebhookSubscription.objects.filter(tenant=tenant).delete()
        tenant.delete()


if __name__ == "__main__":
    sys.exit(main())
