"""A scratch PostgreSQL database and a gunicorn serving it, for the proofs that need real HTTP.

Used by `python -m tests.reliability.fuzz` and by test_pg_fault.py. Each proof owns one database,
named by the caller, which it drops and recreates: nothing else on the server is touched.
Starting and stopping gunicorn is bench/gunicorn_process.py's, as for tests/live.py and the benchmark.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.gunicorn_process import GunicornProcess, production_environment

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
    """Production settings (what a deployment runs), on loopback over plain HTTP, with fresh secrets."""
    env = production_environment(
        database_url=database_url, secret_key=secrets.token_urlsafe(50), jwt_secret=secrets.token_urlsafe(40)
    )
    env["PYTHONPATH"] = str(ROOT)
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


class LiveServer(GunicornProcess):
    """gunicorn with lms/gunicorn.conf.py, as production runs it, on a free port of PORTS; use as a context manager."""

    def __init__(self, *, env: dict[str, str], log_path: Path, workers: int = 2, threads: int = 4,
                 access_log: bool = False):
        super().__init__(
            env={
                **env,
                "WEB_CONCURRENCY": str(workers),
                "GUNICORN_THREADS": str(threads),
                "GUNICORN_ACCESS_LOG": "1" if access_log else "0",
            },
            port=free_port(),
            log_path=log_path,
        )
