"""PostgreSQL goes away under write load and comes back (issue 10, "PostgreSQL fault").

A live gunicorn (production settings, persistent connections) serves its own scratch database.
Several threads write as fast as they can: attempt updates (`PUT /lessons/tracking/:id`) and view
updates (`POST /v1/view/update`), each with a rising value. Then the database becomes unavailable
for about two seconds and available again. Asserted:

- every answer of the whole run is a 2xx or a 503 envelope with `Retry-After`: no 500, no HTML,
  no dropped connection, and the outage produced 503s;
- afterwards the same server processes serve 2xx again, without a restart;
- every write acknowledged with a 2xx is in the database: each attempt's stored position and each
  view's stored progress is at least the highest value a 2xx acknowledged.

The outage is database-scoped by default (`ALTER DATABASE ... ALLOW_CONNECTIONS false` and
terminating that database's backends only), because the PostgreSQL server may be shared.
`LMS_FAULT_RESTART_CLUSTER=1` restarts the whole cluster with `pg_ctlcluster` instead: for CI
machines whose PostgreSQL belongs to the CI run alone. `LMS_FAULT_CLUSTER=<version>/<name>` names that
cluster (default: the newest version's `main`), so a private cluster on its own port (DATABASE_URL
pointing at it) can be restarted on a shared machine; `LMS_FAULT_STOP_MODE=immediate` makes the stop a
crash (backends killed without a checkpoint, crash recovery at the start) instead of a fast shutdown.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest
from psycopg import sql

from tests.reliability import live

pytestmark = pytest.mark.postgres

OUTAGE_SECONDS = 2.0
LOAD_BEFORE_SECONDS = 1.5
LOAD_AFTER_SECONDS = 2.0


@dataclass
class Answer:
    kind: str  # "attempt" or "view"
    key: str  # attempt id, or "learner/lesson"
    value: int
    started: float
    finished: float
    status: int | None  # None: the connection dropped
    content_type: str = ""
    retry_after: str | None = None
    err: str | None = None
    error: str = ""


def _fault_database_url() -> str:
    base = live.database_name(os.environ.get("DATABASE_URL", "postgres:///lms"))
    return live.database_url(f"{base}_fault")


@pytest.fixture(scope="module")
def fault_service(tmp_path_factory):
    url = _fault_database_url()
    live.recreate_database(url)
    env = live.service_environment(database_url=url)
    live.manage(env, "migrate", "--noinput")
    fixture = live.seed({**env, "SEED_LEARNERS": "4"})
    log_path = Path(tmp_path_factory.mktemp("fault")) / "gunicorn.log"
    try:
        with live.LiveServer(env=env, log_path=log_path, workers=2, threads=4) as server:
            yield server, fixture, url
    finally:
        live.drop_database(url)


def _call(server, method: str, path: str, body: dict, token: str, tenant_id: str) -> tuple:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request(method, path, body=json.dumps(body), headers={
            "Authorization": f"Bearer {token}", "tenantid": tenant_id, "Content-Type": "application/json",
        })
        response = connection.getresponse()
        raw = response.read()
        return response.status, response.getheader("Content-Type") or "", response.getheader("Retry-After"), raw
    finally:
        connection.close()


def _writer(server, fixture, index: int, stop: threading.Event, answers: list[Answer], first: int = 0) -> None:
    token = fixture["learner_tokens"][index]
    attempt_id = fixture["attempt_ids"][index]
    learner_id = fixture["learner_ids"][index]
    lessons = fixture["lesson_ids"]
    n = first  # positions only rise: a later run starts above the earlier ones
    while not stop.is_set():
        n += 1
        lesson = lessons[n % len(lessons)]
        progress = min(1 + n // len(lessons), 99)  # below 100: an update never completes the view
        for kind, key, value, method, path, body in (
            ("attempt", attempt_id, n, "PUT", f"/lessons/tracking/{attempt_id}",
             {"current_position": n, "total_content": 1_000_000, "time_spent": n}),
            ("view", f"{learner_id}/{lesson}", progress, "POST", "/v1/view/update",
             {"request": {"contentId": lesson, "collectionId": fixture["course_id"], "progress": progress}}),
        ):
            started = time.monotonic()
            try:
                status, content_type, retry_after, raw = _call(server, method, path, body, token, fixture["tenant_id"])
            except (OSError, http.client.HTTPException) as error:
                answers.append(Answer(kind, key, value, started, time.monotonic(), None, error=repr(error)))
                continue
            err = None
            if content_type.startswith("application/json"):
                try:
                    err = json.loads(raw)["params"]["err"]
                except (ValueError, KeyError, TypeError):
                    err = "unparseable"
            answers.append(Answer(kind, key, value, started, time.monotonic(), status, content_type, retry_after, err,
                                  error=raw[:200].decode(errors="replace") if status >= 300 else ""))


def _restarted_cluster() -> tuple[str, str]:
    """(version, name) of the cluster LMS_FAULT_RESTART_CLUSTER restarts: LMS_FAULT_CLUSTER, else <newest>/main."""
    named = os.environ.get("LMS_FAULT_CLUSTER")
    if named:
        version, _, name = named.partition("/")
        return version, name or "main"
    return sorted(os.listdir("/etc/postgresql"))[-1], "main"


def _first_accepted_connection(url: str, *, timeout: float) -> float:
    """Connects every 20 ms until the database accepts; returns that moment on the monotonic clock."""
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg.connect(url.replace("postgres://", "postgresql://", 1), connect_timeout=2).close()
            return time.monotonic()
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _database_outage(url: str) -> tuple[float, float, float]:
    """Makes the database unavailable for OUTAGE_SECONDS.

    Returns (start, end, accepting) on the monotonic clock: the outage asserted "all 503", and the
    moment the database accepts connections again (from which the service has one second to recover).
    """
    if os.environ.get("LMS_FAULT_RESTART_CLUSTER") == "1":
        version, cluster = _restarted_cluster()
        mode = os.environ.get("LMS_FAULT_STOP_MODE", "fast")
        # The outage is the time the cluster is surely down: from the stop's return (a fast shutdown
        # still serves while it winds down) to the start's call (it accepts connections before returning).
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, cluster, "stop", "-m", mode],
                       check=True, timeout=60)
        start = time.monotonic()
        time.sleep(OUTAGE_SECONDS)
        end = time.monotonic()
        # pg_ctlcluster returns seconds after the server accepts (longer after a crash's recovery):
        # the moment it accepts is taken by connecting meanwhile.
        starting = subprocess.Popen(["pg_ctlcluster", "--skip-systemctl-redirect", version, cluster, "start"])
        accepting = _first_accepted_connection(url, timeout=60)
        assert starting.wait(timeout=60) == 0, "pg_ctlcluster start failed"
        return start, end, accepting
    name = sql.Identifier(live.database_name(url))
    with live.admin_connection(url) as admin:
        admin.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(name))
        try:
            start = time.monotonic()
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [live.database_name(url)],
            )
            time.sleep(OUTAGE_SECONDS)
        finally:
            admin.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS true").format(name))
        end = time.monotonic()
        return start, end, end


def _stored(url: str, fixture) -> tuple[dict, dict]:
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://", 1), connect_timeout=10) as conn:
        attempts = dict(conn.execute(
            "SELECT id::text, current_position FROM tracking_lessonattempt WHERE id = ANY(%s::uuid[])",
            [fixture["attempt_ids"]],
        ).fetchall())
        views = {f"{user}/{content}": progress for user, content, progress in conn.execute(
            "SELECT user_id::text, content_id::text, progress FROM tracking_contentconsumption "
            "WHERE collection_id = %s::uuid", [fixture["course_id"]],
        ).fetchall()}
    return attempts, views


def test_acknowledged_writes_survive_a_database_outage_and_every_answer_is_an_envelope(fault_service):
    server, fixture, url = fault_service
    stop = threading.Event()
    answers: list[Answer] = []
    threads = [
        threading.Thread(target=_writer, args=(server, fixture, i, stop, answers), daemon=True)
        for i in range(len(fixture["attempt_ids"]))
    ]
    for thread in threads:
        thread.start()
    time.sleep(LOAD_BEFORE_SECONDS)
    outage_start, outage_end, accepting = _database_outage(url)
    time.sleep(LOAD_AFTER_SECONDS)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)

    statuses = Counter(a.status for a in answers)
    print(f"\nfault: {len(answers)} answers {dict(statuses)}; outage {outage_end - outage_start:.1f}s")
    bad = [a for a in answers if not (a.status is not None and (200 <= a.status < 300 or a.status == 503))]
    assert not bad, f"answers other than 2xx/503: {bad[:5]}"
    unavailable = [a for a in answers if a.status == 503]
    assert unavailable, "the outage produced no 503: it did not reach the service"
    for answer in unavailable:
        assert answer.content_type.startswith("application/json"), answer
        assert answer.err == "ERR_UNAVAILABLE", answer
        assert answer.retry_after and answer.retry_after.isdigit(), answer
    # Within the outage itself nothing can have been written: every answer is the 503.
    inside = [a for a in answers if a.started > outage_start + 0.5 and a.finished < outage_end - 0.1]
    assert inside and all(a.status == 503 for a in inside), Counter(a.status for a in inside)
    recovered = [a for a in answers if a.started > outage_end + 1.0 and a.status is not None and a.status < 300]
    assert len({a.kind for a in recovered}) == 2, "the service did not serve both writes again after the outage"
    # Stale connections are found before their first query (lms.db's connection check), so once the
    # database accepts again the service needs no more than one second to answer 2xx throughout.
    late_errors = [a for a in answers if a.started > accepting + 1.0 and not (a.status and a.status < 300)]
    last_error = max((a.finished for a in answers if not (a.status and a.status < 300)), default=accepting)
    print(f"fault: last non-2xx answer {last_error - accepting:+.2f}s from the database accepting again "
          f"(the outage's end {outage_end - accepting:+.2f}s); {len(late_errors)} non-2xx started later than 1 s after it")
    assert not late_errors, f"non-2xx answers more than 1 s after the database accepted again: {late_errors[:5]}"

    acknowledged: dict[tuple[str, str], int] = defaultdict(int)
    for answer in answers:
        if answer.status is not None and answer.status < 300:
            acknowledged[(answer.kind, answer.key)] = max(acknowledged[(answer.kind, answer.key)], answer.value)
    attempts, views = _stored(url, fixture)
    lost = {
        key: (value, (attempts if kind == "attempt" else views).get(key))
        for (kind, key), value in acknowledged.items()
        if (attempts if kind == "attempt" else views).get(key, -1) < value
    }
    print(f"fault: {sum(1 for a in answers if a.status and a.status < 300)} acknowledged writes over "
          f"{len(acknowledged)} rows; {len(unavailable)} answered 503; lost: {len(lost)}")
    assert not lost, f"acknowledged writes missing from the database (acknowledged, stored): {lost}"


def _load(server, fixture, seconds: float, *, first: int) -> list[Answer]:
    """The writers of the first test, for `seconds`, with no outage, counting from `first`."""
    stop = threading.Event()
    answers: list[Answer] = []
    threads = [
        threading.Thread(target=_writer, args=(server, fixture, i, stop, answers, first), daemon=True)
        for i in range(len(fixture["attempt_ids"]))
    ]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def test_connections_idle_through_an_outage_serve_the_first_requests_after_it(fault_service):
    """The connection check's own proof: connections left idle while the database went away and came
    back are found dead before their first query. Without a check each of them answers one 503 after
    the database is back (the first test cannot show that: its load reaches every connection while
    the database is down, which closes them)."""
    server, fixture, url = fault_service
    warm = _load(server, fixture, 1.0, first=100_000)
    assert warm and all(a.status is not None and a.status < 300 for a in warm), [a for a in warm if a.status != 200][:3]
    _database_outage(url)
    after = _load(server, fixture, 1.0, first=200_000)
    print(f"\nfault, idle through the outage: {len(after)} answers after it {dict(Counter(a.status for a in after))}")
    assert after and all(a.status is not None and a.status < 300 for a in after), [
        a for a in after if not (a.status and a.status < 300)
    ][:5]
