"""A scratch PostgreSQL database and a gunicorn serving it, for the proofs that need real HTTP.

Used by `python -m tests.reliability.fuzz` and by test_pg_fault.py. Each proof owns one database,
named by the caller, which it drops and recreates: nothing else on the server is touched.
(tests/live.py holds the suite's own live-server fixture; the two could share one later.)
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/"
# The ports the proofs may bind; the first free one is taken.
PORTS = range(int(os.environ.get("LMS_PROOF_PORT", 18400)), int(os.environ.get("LMS_PROOF_PORT", 18400)) + 10)


def database_url(name: str, server_url: str | None = None) -> str:
    """`name` on the PostgreSQL server of `server_url` (default: DATABASE_URL's server, else localhost)."""
    base = server_url or os.environ.get("DATABASE_URL") or DEFAULT_SERVER
    parts = urlsplit(base)
    if not parts.scheme.startswith("postgres"):
        parts = urlsplit(DEFAULT_SERVER)
    return urlunsplit(("postgres", parts.netloc, f"/{name}", "", ""))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def admin_connection(url: str):
    """An autocommit connection to the server's `postgres` database (to create, drop, lock out)."""
    import psycopg

    parts = urlsplit(url)
    conninfo = urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))
    return psycopg.connect(conninfo, autocommit=True, connect_timeout=5)


def recreate_database(url: str) -> None:
    """Drops (terminating only its own sessions) and creates the database named in `url`."""
    from psycopg import sql

    name = database_name(url)
    with admin_connection(url) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(url: str) -> None:
    from psycopg import sql

    with admin_connection(url) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database_name(url))))


def service_environment(*, database_url: str) -> dict[str, str]:
    """Production settings (what a deployment runs), on loopback over plain HTTP."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LMS_", "GUNICORN_", "WEB_CONCURRENCY"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "lms.settings",
        "LMS_ENV": "production",
        "DEBUG": "false",
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "LMS_JWT_SECRET": secrets.token_urlsafe(40),
        "DATABASE_URL": database_url,
        "CONN_MAX_AGE": "600",
        "PYTHONPATH": str(ROOT),
    })
    return env


def manage(env: dict[str, str], *args: str) -> str:
    """Runs `manage.py <args>` against the environment's database; returns stdout, raises on failure."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def seed(env: dict[str, str]) -> dict:
    """Seeds the fixture tenant (tests/reliability/seed.py) in its own process; returns its ids and tokens."""
    result = subprocess.run(
        [sys.executable, "-m", "tests.reliability.seed"], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"seeding failed:\n{result.stdout}\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def free_port() -> int:
    for port in PORTS:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            # As gunicorn binds: a port whose last connections are in TIME_WAIT is free.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"No free port in {PORTS.start}..{PORTS.stop - 1}; set LMS_PROOF_PORT.")


class LiveServer:
    """gunicorn with lms/gunicorn.conf.py, as production runs it; use as a context manager."""

    def __init__(self, *, env: dict[str, str], log_path: Path, workers: int = 2, threads: int = 4,
                 access_log: bool = False):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = dict(env)
        self.env.update({
            "BIND_HOST": "127.0.0.1",
            "PORT": str(self.port),
            "WEB_CONCURRENCY": str(workers),
            "GUNICORN_THREADS": str(threads),
            "GUNICORN_ACCESS_LOG": "1" if access_log else "0",
        })
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> LiveServer:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            # No control socket: by default every gunicorn on the host would share ~/.gunicorn/gunicorn.ctl.
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "lms" / "gunicorn.conf.py"),
                 "--no-control-socket", "lms.wsgi"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer /health within {timeout:.0f}s; see {self.log_path}")
