"""A live gunicorn for tests whose bug would live outside DRF: middleware (CSRF), gunicorn settings,
real HTTP for the fuzzer and the access matrix.

Use it by importing the fixture into the test module, and mark the tests `live` (they run in the
normal suite, on both databases; the mark only names them, `-m "not live"` leaves them out) and
`django_db` (pytest-django creates the test database only for a session that has such a test):

    from tests.live import live_gunicorn, live_tenant  # noqa: F401  (pytest fixtures)

    pytestmark = [pytest.mark.live, pytest.mark.django_db]

    def test_unknown_path(live_gunicorn):
        response = live_gunicorn.request("POST", "/nope")
        assert response.status == 404 and response.json()["params"]["err"] == "ERR_NOT_FOUND"

The server is the production entry point, `gunicorn -c lms/gunicorn.conf.py lms.wsgi`, with one
worker on a free port in 18100-18109 (bench/gunicorn_process.py starts and stops it), on the test
database:

- PostgreSQL: the test database pytest-django created. Rows committed by a test marked
  `django_db(transaction=True)` are visible to the server, and the server's writes to the test.
- SQLite: the test database lives in the test process's memory, which the server cannot open. The
  server gets a file database instead, a copy of the migrated test schema taken at start; create
  its data through the API.

On both, `live_gunicorn.connect()` opens a DB-API connection to the server's database, for
checking rows afterwards. Tokens minted in the test (`lms.api.authentication.mint_token`) are
valid on the server: it gets the test's JWT secret. `start_live_gunicorn()` starts another
instance with settings of its own (environment variables), e.g. low rate limits. `live_tenant` is a
fresh tenant id for one test, whose rows the server's database forgets afterwards.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import sqlite3
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest

from bench.gunicorn_process import GunicornNotReady, GunicornProcess

PORTS = range(18100, 18110)
# Variables of the test process that would point the server elsewhere than the test database.
_INHERITED_EXCLUDED = ("LMS_", "GUNICORN_", "WEB_CONCURRENCY", "DATABASE_URL", "CACHE_URL", "XDG_RUNTIME_DIR")


@dataclass
class LiveResponse:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def json(self):
        return json.loads(self.body)


@dataclass
class LiveServer:
    """One gunicorn master and its worker, serving `base_url`."""

    database_url: str
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    gunicorn: GunicornProcess | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def home(self) -> Path:
        """The server's $HOME, where gunicorn would put a shared control socket."""
        return self.workdir / "home"

    def request(self, method: str, path: str, *, body=None, headers: dict[str, str] | None = None) -> LiveResponse:
        """One HTTP request; a dict or list body is sent as JSON, bytes as they are."""
        headers = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return LiveResponse(status=response.status, headers=response.headers, body=response.read())
        finally:
            connection.close()

    def connect(self):
        """A DB-API connection to the server's database (close it when done)."""
        if self.database_url.startswith("sqlite:///"):
            return sqlite3.connect(self.database_url.removeprefix("sqlite:///"), timeout=20)
        import psycopg

        return psycopg.connect(self.database_url.replace("postgres://", "postgresql://", 1), autocommit=True)

    def forget_tenant(self, tenant_id) -> None:
        """Deletes every row of one tenant from the server's database, in one transaction.

        On PostgreSQL the server's writes are committed to the shared test database and outlive
        the test; a live test that makes a tenant's rows removes them, so no later test sees them.
        """
        from django.apps import apps

        tables = [
            model._meta.db_table
            for model in apps.get_models()
            if any(f.column == "tenant_id" for f in model._meta.concrete_fields) and model._meta.managed
        ]
        sqlite = self.database_url.startswith("sqlite")
        placeholder = "?" if sqlite else "%s"
        # SQLite keeps a UUID as 32 hex digits; PostgreSQL reads that form as a uuid too.
        key = str(tenant_id).replace("-", "")
        connection = self.connect()
        try:
            with connection if sqlite else connection.transaction():
                cursor = connection.cursor()
                # PostgreSQL checks Django's foreign keys at commit (DEFERRABLE), so the order is free.
                for table in [*tables, "lms_tenant"]:
                    column = "id" if table == "lms_tenant" else "tenant_id"
                    cursor.execute(f'DELETE FROM "{table}" WHERE "{column}" = {placeholder}', [key])
        finally:
            connection.close()

    def start(self, timeout: float = 90.0) -> LiveServer:
        (self.workdir / "media").mkdir(parents=True, exist_ok=True)
        self.home.mkdir(parents=True, exist_ok=True)
        for port in PORTS:
            if not _port_is_free(port):
                continue
            self.port = port
            self.gunicorn = GunicornProcess(
                env=self._environment(), port=port, log_path=self.workdir / f"gunicorn-{port}.log"
            )
            try:
                self.gunicorn.start(timeout=timeout)
            except GunicornNotReady:
                continue  # lost the port to another process between the check and the bind
            return self
        raise RuntimeError(f"no live gunicorn could start on ports {PORTS.start}-{PORTS.stop - 1}; see {self.workdir}")

    def stop(self) -> None:
        if self.gunicorn is not None:
            self.gunicorn.stop()

    def _environment(self) -> dict[str, str]:
        from django.conf import settings

        env = {key: value for key, value in os.environ.items() if not key.startswith(_INHERITED_EXCLUDED)}
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "lms.settings",
                "LMS_ENV": "development",
                "DEBUG": "false",
                "SECRET_KEY": settings.SECRET_KEY,
                "LMS_JWT_SECRET": settings.LMS_JWT_SECRET,
                "DATABASE_URL": self.database_url,
                "CONN_MAX_AGE": "0",  # the test database is dropped at the end; hold no connection
                "MEDIA_ROOT": str(self.workdir / "media"),
                "HOME": str(self.home),
                "WEB_CONCURRENCY": "1",
                "GUNICORN_THREADS": "4",
                "GUNICORN_ACCESS_LOG": "0",
            }
        )
        env.update(self.env)
        return env


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def server_database_url(workdir: Path) -> str:
    """The URL under which a server process reaches the test database (see the module docstring).

    Call it with database access unblocked, after pytest-django created the test database.
    """
    from django.db import connection

    db = connection.settings_dict
    test_database = db["NAME"].startswith("test_") if connection.vendor == "postgresql" else connection.is_in_memory_db()
    if not test_database:
        # pytest-django creates the test database only for a session with a django_db test in it.
        raise RuntimeError(
            f"{db['NAME']} is not a test database: mark the live tests `django_db` so that pytest-django creates it."
        )
    if connection.vendor == "postgresql":
        credentials = quote(db["USER"] or "", safe="")
        if db.get("PASSWORD"):
            credentials += ":" + quote(db["PASSWORD"], safe="")
        host = f"{credentials}@" if credentials else ""
        return f"postgres://{host}{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"
    if connection.vendor == "sqlite":
        copy = workdir / "live.sqlite3"
        copy.unlink(missing_ok=True)
        connection.ensure_connection()
        # A dump through the test's own connection, not sqlite3's backup(): inside a test's
        # transaction the shared in-memory database is locked, and backup() waits for ever.
        target = sqlite3.connect(copy)
        try:
            target.executescript("\n".join(connection.connection.iterdump()))
        finally:
            target.close()
        return f"sqlite:///{copy}"
    raise RuntimeError(f"no live server for the {connection.vendor} backend")


def start_live_gunicorn(workdir: Path, django_db_blocker, env: dict[str, str] | None = None) -> LiveServer:
    """Starts a live gunicorn on the test database with extra environment; the caller stops it."""
    workdir.mkdir(parents=True, exist_ok=True)
    with django_db_blocker.unblock():
        database_url = server_database_url(workdir)
    return LiveServer(database_url=database_url, workdir=workdir, env=dict(env or {})).start()


@pytest.fixture(scope="session")
def live_gunicorn(django_db_setup, django_db_blocker, tmp_path_factory):
    """The session's live gunicorn (see the module docstring); stopped when the session ends."""
    server = start_live_gunicorn(tmp_path_factory.mktemp("live-gunicorn"), django_db_blocker)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def live_tenant(live_gunicorn):
    """A fresh tenant id, provisioned by the server on first use, and its rows removed afterwards."""
    tenant_id = uuid.uuid4()
    yield tenant_id
    live_gunicorn.forget_tenant(tenant_id)
