"""The connection check of lms.db.backends.postgresql (issue 15, "The connection check").

Django asks `is_usable()` before each request's first query (CONN_HEALTH_CHECKS). The check polls
the idle connection's socket instead of sending `SELECT 1`. These tests kill this test's own
backend with `pg_terminate_backend` from a second connection (nothing else on the server is
touched) and follow the requests that come next.

The test client disconnects Django's `close_old_connections` from the request signals, so the tests
call it where the WSGI handler would: at the start and end of each request.
"""

from __future__ import annotations

import select
import socket
import struct
import threading

import psycopg
import pytest
from django.db import close_old_connections, connection, connections
from django.db.backends.postgresql import base as django_postgresql

from lms.db.backends.postgresql import base as lms_postgresql
from tests.factories import CourseFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
PROXY_PORTS = range(20240, 20250)


def _second_connection() -> psycopg.Connection:
    """A connection of its own to the test database, outside Django."""
    settings = connection.settings_dict
    return psycopg.connect(
        host=settings["HOST"] or None, port=settings["PORT"] or None, user=settings["USER"] or None,
        password=settings["PASSWORD"] or None, dbname=settings["NAME"], autocommit=True, connect_timeout=5,
    )


def _backend_pid() -> int:
    return connection.connection.info.backend_pid


def _terminate(pid: int) -> None:
    """Ends one backend, as a fast shutdown does (a FATAL notice, then the socket closes), and waits until it has."""
    with _second_connection() as other:
        assert other.execute("SELECT pg_terminate_backend(%s, 5000)", [pid]).fetchone()[0]


def _get_courses(client):
    close_old_connections()  # the WSGI handler's request_started
    try:
        return client.get("/courses")
    finally:
        close_old_connections()  # and its request_finished


@pytest.fixture
def learner(learner_client, tenant):
    CourseFactory(tenant=tenant)
    return learner_client


@pytest.fixture
def no_round_trip(monkeypatch):
    """Django's own check (`SELECT 1`) fails the test if it is called."""

    def select_one(self):
        raise AssertionError("the connection check sent SELECT 1")

    monkeypatch.setattr(django_postgresql.DatabaseWrapper, "is_usable", select_one)


def test_postgresql_runs_the_lms_backend_with_health_checks_on():
    assert isinstance(connections["default"], lms_postgresql.DatabaseWrapper)
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True


def test_a_live_idle_connection_is_usable_without_a_round_trip(no_round_trip):
    connection.ensure_connection()
    pid = _backend_pid()
    assert connection.is_usable()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] == pid  # still the same connection


def test_a_terminated_backend_is_unusable_and_the_next_request_connects_afresh(learner):
    assert _get_courses(learner).status_code == 200
    pid = _backend_pid()
    _terminate(pid)

    assert not connection.is_usable()
    response = _get_courses(learner)
    assert response.status_code == 200, response.content
    assert response.json()["result"]["count"] == 1
    assert _backend_pid() != pid


class _CrashableProxy:
    """A TCP relay to PostgreSQL for one connection; `crash()` drops both sides as a dying server does.

    A killed backend or a crashed server sends no FATAL notice: its socket just closes (a FIN, or a
    reset when data was unread). Killing a backend of the shared server would make it restart every
    backend, so the crash happens here, between this connection and its backend.
    """

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        for port in PROXY_PORTS:
            try:
                self.listener.bind(("127.0.0.1", port))
                break
            except OSError:
                continue
        else:
            raise RuntimeError(f"no free port in {PROXY_PORTS}")
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.pumps: list[threading.Thread] = []
        self.crashed = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        client, _ = self.listener.accept()
        server = socket.create_connection(self.upstream)
        self.sockets = [client, server]
        for source, target in ((client, server), (server, client)):
            source.settimeout(0.02)  # so that a pump notices `crash()` and lets go of its socket
            pump = threading.Thread(target=self._pump, args=(source, target), daemon=True)
            self.pumps.append(pump)
            pump.start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        while not self.crashed.is_set():
            try:
                data = source.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            target.sendall(data)

    def crash(self, *, reset: bool) -> None:
        self.crashed.set()
        for pump in self.pumps:
            pump.join(timeout=5)
        client, server = self.sockets
        if reset:  # closing with a zero linger sends a reset instead of the end of stream
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        for sock in (client, server, self.listener):
            sock.close()


@pytest.mark.parametrize("reset", [False, True], ids=["closed", "reset"])
def test_a_connection_whose_server_crashed_is_unusable(reset):
    """No notice before the end: the readable socket sends the check to `SELECT 1`, which fails at once."""
    settings = connection.settings_dict
    proxy = _CrashableProxy((settings["HOST"] or "127.0.0.1", int(settings["PORT"] or 5432)))
    through_proxy = lms_postgresql.DatabaseWrapper(
        {**settings, "HOST": "127.0.0.1", "PORT": str(proxy.port)}, alias="through_proxy"
    )
    through_proxy.ensure_connection()
    try:
        with through_proxy.cursor() as cursor:
            cursor.execute("SELECT 1")
        assert through_proxy.is_usable()

        proxy.crash(reset=reset)
        poller = select.poll()
        poller.register(through_proxy.connection.pgconn.socket, select.POLLIN)
        assert poller.poll(5000), "the crash did not reach this end of the socket"
        assert not through_proxy.is_usable()
    finally:
        through_proxy.close()


def test_the_server_gone_between_the_check_and_the_query_answers_503_and_the_next_request_recovers(
    learner, monkeypatch
):
    assert _get_courses(learner).status_code == 200
    pid = _backend_pid()
    check = lms_postgresql.DatabaseWrapper.is_usable
    checks = []

    def check_then_lose_the_server(self):
        usable = check(self)
        if not checks:
            _terminate(pid)
        checks.append(usable)
        return usable

    monkeypatch.setattr(lms_postgresql.DatabaseWrapper, "is_usable", check_then_lose_the_server)
    response = _get_courses(learner)

    assert checks[0] is True  # the check passed, then the server went away
    assert response.status_code == 503, response.content
    assert response.json()["params"]["err"] == "ERR_UNAVAILABLE"
    assert response["Retry-After"].isdigit()
    assert connection.connection is None  # the end of the request closed the broken connection
    response = _get_courses(learner)
    assert response.status_code == 200, response.content
    assert _backend_pid() != pid


def test_harmless_data_waiting_on_the_socket_keeps_the_connection():
    """A NOTIFY makes the socket readable too: the check then asks the server, and keeps the connection."""
    with connection.cursor() as cursor:
        cursor.execute("LISTEN lms_connection_check")
    pid = _backend_pid()
    with _second_connection() as other:
        other.execute("NOTIFY lms_connection_check")
    poller = select.poll()
    poller.register(connection.connection.pgconn.socket, select.POLLIN)
    assert poller.poll(5000), "the notification did not arrive"

    assert connection.is_usable()
    with connection.cursor() as cursor:
        cursor.execute("UNLISTEN *")
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] == pid


def test_a_connection_inside_a_transaction_is_asked_with_a_statement(monkeypatch):
    """Only a statement tells whether a transaction is still good; Django's SELECT 1 answers there."""
    asked = []
    monkeypatch.setattr(django_postgresql.DatabaseWrapper, "is_usable", lambda self: asked.append(1) or True)
    connection.ensure_connection()
    connection.connection.execute("BEGIN")
    try:
        assert connection.is_usable()
        assert asked == [1]
    finally:
        connection.connection.execute("ROLLBACK")
