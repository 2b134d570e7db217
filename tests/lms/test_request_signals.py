"""The request signals of the server's handler (lms.api.handler, issue 15): while request_started and
request_finished have Django's default receivers, the handler does what they do in one call each;
any other receiver list goes through `Signal.send` as before.

The connections are stand-ins (the test's own connection holds its transaction), so what is checked
is what each receiver asks of a connection: the queries log cleared at the start, and
`close_if_unusable_or_obsolete()` (CONN_MAX_AGE, broken connections, the connection check) at the
start and at the finish.
"""

from __future__ import annotations

import asyncio
import io
import sys
import threading
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
from django.core.cache.backends.base import BaseCache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connections
from django.test import override_settings
from django.urls import get_urlconf

from lms.api import handler as handler_module
from lms.api.handler import LmsWSGIHandler

# A path no route takes: a 404 in the JSON envelope, with no query and no token.
PATH = "/no-such-route-for-signals"


class _Connection:
    def __init__(self, events: list, alias: str):
        self.events, self.alias = events, alias
        self.queries_log = self

    def clear(self):
        self.events.append(("clear", self.alias))

    def close_if_unusable_or_obsolete(self):
        self.events.append(("close_if_unusable_or_obsolete", self.alias))


class _Connections:
    """The parts of Django's ConnectionHandler the receivers read: `all()`, and the thread's storage
    (asgiref's thread-critical Local: a threading.local of alias -> connection) that the handler reads."""

    def __init__(self, events: list):
        self.connections = [_Connection(events, "default"), _Connection(events, "other")]
        self.settings = {"default": {}, "unused": {}, "other": {}}
        self._connections = SimpleNamespace(_storage=threading.local())
        for connection in self.connections:
            setattr(self._connections._storage, connection.alias, connection)

    def all(self, initialized_only=False):
        assert initialized_only
        return self.connections


@pytest.fixture
def events(monkeypatch) -> list:
    events: list = []
    stand_ins = _Connections(events)
    monkeypatch.setattr(handler_module, "connections", stand_ins)
    # Django's own receivers, when the handler falls back to Signal.send, see the same stand-ins.
    monkeypatch.setattr("django.db.connections", stand_ins)
    return events


def _environ() -> dict:
    return {
        "REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": PATH, "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1", "SERVER_NAME": "testserver", "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "testserver",
        "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
    }


def _serve(handler, events: list) -> list:
    """The events of the request's start (before the view) and of its finish (the server's close())."""
    answered = {}
    result = handler(_environ(), lambda status, headers, exc_info=None: answered.update(status=status))
    started = list(events)
    events.clear()
    body = b"".join(result)
    assert get_urlconf() is not None  # set for the request, until request_finished
    result.close()
    assert answered["status"].startswith("404") and b"ERR_NOT_FOUND" in body
    assert result.closed and "close" not in vars(result)  # the instance's close() is gone again
    return [started, list(events)]


def test_the_default_receivers_run_as_one_call(events, monkeypatch):
    sent = []
    monkeypatch.setattr(request_started, "send", lambda *a, **k: sent.append("started"))
    monkeypatch.setattr(request_finished, "send", lambda *a, **k: sent.append("finished"))

    started, finished = _serve(LmsWSGIHandler(), events)

    assert sent == []  # neither Signal.send ran
    # reset_queries over every connection, then close_old_connections over every connection.
    assert started == [("clear", "default"), ("clear", "other"),
                       ("close_if_unusable_or_obsolete", "default"), ("close_if_unusable_or_obsolete", "other")]
    assert finished == [("close_if_unusable_or_obsolete", "default"), ("close_if_unusable_or_obsolete", "other")]
    assert get_urlconf() is None  # reset_urlconf


def test_the_same_as_django_s_receivers_through_signal_send(events, monkeypatch):
    monkeypatch.setattr(handler_module._started, "receivers", ())  # never the list: always Signal.send
    monkeypatch.setattr(handler_module._finished, "receivers", ())

    assert _serve(LmsWSGIHandler(), events) == [
        [("clear", "default"), ("clear", "other"),
         ("close_if_unusable_or_obsolete", "default"), ("close_if_unusable_or_obsolete", "other")],
        [("close_if_unusable_or_obsolete", "default"), ("close_if_unusable_or_obsolete", "other")],
    ]
    assert get_urlconf() is None


@contextmanager
def _receiver_changed(receiver, *, connected: bool):
    """`receiver` connected to (or disconnected from) both request signals for the block, then restored."""
    for signal in (request_started, request_finished):
        (signal.connect if connected else signal.disconnect)(receiver)
    try:
        yield
    finally:
        for signal in (request_started, request_finished):
            (signal.disconnect if connected else signal.connect)(receiver)


def test_another_receiver_is_called_as_before(events):
    def project_receiver(sender, **kwargs):
        events.append(("project", kwargs["signal"] is request_started, sender))

    with _receiver_changed(project_receiver, connected=True):
        started, finished = _serve(LmsWSGIHandler(), events)

    assert started[-1] == ("project", True, LmsWSGIHandler)
    # Signal.send calls Django's receivers in their list's order, which a test that reconnected
    # close_old_connections (the test client does) leaves changed: each runs once, in either order.
    assert sorted(started[:-1]) == [("clear", "default"), ("clear", "other"),
                                    ("close_if_unusable_or_obsolete", "default"),
                                    ("close_if_unusable_or_obsolete", "other")]
    assert finished[-1] == ("project", False, LmsWSGIHandler)
    # And once it is gone, the shortcut again (the same answer).
    assert _serve(LmsWSGIHandler(), events)[1] == [
        ("close_if_unusable_or_obsolete", "default"), ("close_if_unusable_or_obsolete", "other")]


def test_a_disconnected_close_old_connections_stays_disconnected(events):
    """As Django's test client and the header tests do: then no connection is closed."""
    with _receiver_changed(close_old_connections, connected=False):
        started, finished = _serve(LmsWSGIHandler(), events)

    assert started == [("clear", "default"), ("clear", "other")]
    assert finished == []


class _ClosingCache(BaseCache):
    closed = 0

    def __init__(self, *args, **kwargs):
        super().__init__({})

    def close(self, **kwargs):
        type(self).closed += 1


def test_a_cache_whose_close_does_something_is_closed(events, settings):
    assert handler_module._caches_need_closing() is False  # LocMemCache's close() is BaseCache's no-op
    with override_settings(CACHES={**settings.CACHES, "closing": {
        "BACKEND": f"{__name__}._ClosingCache",
    }}):
        from django.core.cache import caches

        caches["closing"]  # initialized in this thread: close_caches closes only those
        assert handler_module._caches_need_closing() is True
        before = _ClosingCache.closed
        _serve(LmsWSGIHandler(), events)
        assert _ClosingCache.closed == before + 1
    assert handler_module._caches_need_closing() is False


def test_the_initialized_connections_are_django_s(db):
    """`_initialized_connections` answers what `connections.all(initialized_only=True)` does: in this
    thread, in a thread that opened none, and inside an event loop (where Django's own call answers)."""
    connections["default"]
    answers = [(handler_module._initialized_connections(), connections.all(initialized_only=True))]
    thread = threading.Thread(
        target=lambda: answers.append((handler_module._initialized_connections(), connections.all(initialized_only=True))))
    thread.start()
    thread.join()

    async def in_a_loop():
        answers.append((handler_module._initialized_connections(), connections.all(initialized_only=True)))

    asyncio.run(in_a_loop())
    assert answers[0][0] == answers[0][1] == [connections["default"]]
    assert answers[1] == ([], [])
    assert answers[2][0] == answers[2][1]


def test_the_default_receivers_in_another_order_still_run_as_one_call(events, monkeypatch):
    """Disconnected and connected again, close_old_connections comes last: the same receivers."""
    request_finished.disconnect(close_old_connections)
    request_finished.connect(close_old_connections)
    sent = []
    monkeypatch.setattr(request_finished, "send", lambda *a, **k: sent.append("finished"))

    assert _serve(LmsWSGIHandler(), events)[1] == [
        ("close_if_unusable_or_obsolete", "default"), ("close_if_unusable_or_obsolete", "other")]
    assert sent == []
