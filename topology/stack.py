"""The multi-process topology of docs/scaling.md, started on loopback from generated configs.

    client -> nginx :PORTBASE -> gunicorn A :PORTBASE+1 ┐
                              -> gunicorn B :PORTBASE+2 ┴-> PgBouncer :PORTBASE+3 (transaction mode) -> PostgreSQL
                                 Redis (cache, throttle counters, Celery broker)  <- Celery worker

Every config file, log and socket lives in one run directory (a temporary one unless
LMS_TOPOLOGY_DIR names it); nothing touches the system's nginx or PgBouncer configs, and `stop()`
ends every process this module started (by pid). Debian's `nginx` and `pgbouncer` packages are
installed with apt-get when missing and the runner is root.

Environment: LMS_PORTBASE (18900; ports PORTBASE..PORTBASE+4 are taken), LMS_TOPOLOGY_PG (the
PostgreSQL server, postgres://postgres@127.0.0.1:5432), LMS_TOPOLOGY_DATABASE (lms_topology, dropped
and recreated), LMS_TOPOLOGY_REDIS_URL (redis://127.0.0.1:6379/11; that one database is flushed).
"""

from __future__ import annotations

import http.client
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bench.gunicorn_process import GunicornProcess, production_environment

ROOT = Path(__file__).resolve().parent.parent
SBIN = ("/usr/sbin", "/usr/local/sbin", "/sbin")


class TopologyError(RuntimeError):
    """A part of the topology could not be installed or started; the message says what to do."""


def _which(binary: str) -> str | None:
    return shutil.which(binary, path=os.pathsep.join([os.environ.get("PATH", ""), *SBIN]))


def ensure_debian_packages(binaries: dict[str, str]) -> dict[str, str]:
    """{binary: path} for {binary: Debian package}; installs missing packages with apt-get when
    running as root. Raises TopologyError naming the packages otherwise."""
    missing = {binary: package for binary, package in binaries.items() if not _which(binary)}
    if missing and os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"topology: installing {' '.join(missing.values())} with apt-get", flush=True)
        quiet = {"stdout": subprocess.DEVNULL, "env": {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}}
        subprocess.run(["apt-get", "update", "-qq"], check=False, **quiet)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing.values()],
                       check=False, **quiet)
        # Debian starts the packaged services on install; the topology runs its own instances.
        for service in missing.values():
            subprocess.run(["service", service, "stop"], check=False, capture_output=True)
    still = [package for binary, package in binaries.items() if not _which(binary)]
    if still:
        raise TopologyError(f"Install the Debian packages {' '.join(still)} (apt-get install {' '.join(still)}), "
                            "or run `make topology` as root to have them installed.")
    return {binary: _which(binary) for binary in binaries}


@dataclass
class Ports:
    base: int

    @property
    def nginx(self) -> int:
        return self.base

    @property
    def apps(self) -> tuple[int, int]:
        return self.base + 1, self.base + 2

    @property
    def pgbouncer(self) -> int:
        return self.base + 3

    @property
    def single(self) -> int:
        """The single-instance comparison of the bench leg (one gunicorn straight to PostgreSQL)."""
        return self.base + 4


@dataclass
class Settings:
    ports: Ports = field(default_factory=lambda: Ports(int(os.environ.get("LMS_PORTBASE", "18900"))))
    pg_server: str = field(default_factory=lambda: os.environ.get("LMS_TOPOLOGY_PG", "postgres://postgres@127.0.0.1:5432"))
    database: str = field(default_factory=lambda: os.environ.get("LMS_TOPOLOGY_DATABASE", "lms_topology"))
    redis_url: str = field(default_factory=lambda: os.environ.get("LMS_TOPOLOGY_REDIS_URL", "redis://127.0.0.1:6379/11"))
    workers_per_instance: int = 1  # two instances of one worker each: one per core on a 2-core machine
    threads: int = 4
    worker: bool = True  # the Celery worker slot

    @property
    def direct_url(self) -> str:
        return f"{self.pg_server.rstrip('/')}/{self.database}"

    @property
    def pooled_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.ports.pgbouncer}/{self.database}"


def _unprivileged_user() -> str | None:
    """nginx workers and PgBouncer refuse root (or should not have it): the user they switch to."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise TopologyError("Running as root, but neither a postgres nor a nobody user exists to run PgBouncer as.")


def pgbouncer_config(settings: Settings, run_dir: Path) -> str:
    pg = urlsplit(settings.pg_server)
    # timezone=UTC: Django sets the session time zone when the server's differs, and a session SET
    # must not be needed behind a transaction pooler (the next transaction may get another server).
    return f"""\
[databases]
{settings.database} = host={pg.hostname or '127.0.0.1'} port={pg.port or 5432} dbname={settings.database} user={pg.username or 'postgres'} timezone=UTC

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {settings.ports.pgbouncer}
unix_socket_dir =
auth_type = trust
auth_file = {run_dir / 'pgbouncer-users.txt'}
pool_mode = transaction
; Server connections per database: 2 instances x {settings.workers_per_instance} worker x {settings.threads} threads
; (+ the Celery worker) share them; a client waits for one only while another is inside a transaction.
default_pool_size = 8
reserve_pool_size = 2
max_client_conn = 200
server_reset_query =
ignore_startup_parameters = extra_float_digits,options
logfile = {run_dir / 'pgbouncer.log'}
log_connections = 0
log_disconnections = 0
"""


def nginx_config(settings: Settings, run_dir: Path) -> str:
    user = _unprivileged_user()
    app_a, app_b = settings.ports.apps
    temp = run_dir / "nginx-temp"
    return f"""\
daemon off;
worker_processes 1;
pid {run_dir / 'nginx.pid'};
error_log {run_dir / 'nginx-error.log'} warn;
{f'user {user};' if user else ''}
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    client_max_body_size 12m;

    upstream lms {{
        # No stickiness: any instance serves any request (docs/scaling.md). A refused connection
        # marks an instance down for fail_timeout; nginx then sends everything to the other.
        server 127.0.0.1:{app_a} max_fails=1 fail_timeout=10s;
        server 127.0.0.1:{app_b} max_fails=1 fail_timeout=10s;
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{settings.ports.nginx};
        location / {{
            proxy_pass http://lms;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Request-Id $request_id;
            proxy_connect_timeout 1s;
            proxy_read_timeout 30s;
            # Another instance retries a request that could not reach one (refused, reset before an
            # answer, 502/503/504). Without `non_idempotent`, nginx never resends a POST, PUT or
            # PATCH once it was sent: the dead instance may have committed it, and a resend would
            # apply it twice. Such a request answers 502, and the client retries it (the writes
            # are idempotent upserts, or say 409).
            proxy_next_upstream error timeout http_502 http_503 http_504;
            proxy_next_upstream_tries 2;
            proxy_next_upstream_timeout 5s;
        }}
    }}
}}
"""


class Process:
    """A child process with its output in the run directory; stopped by its own pid only."""

    def __init__(self, name: str, command: list[str], *, log_path: Path, env: dict | None = None):
        self.name = name
        with log_path.open("ab") as log:
            self.popen = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                          start_new_session=True)
        self.log_path = log_path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 15) -> None:
        if not self.alive():
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            # The process group is this child's own (start_new_session): its workers go with it.
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)


def _wait_for_port(port: int, *, process: Process, timeout: float = 20) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive():
            raise TopologyError(f"{process.name} exited; see {process.log_path}")
        with socket.socket() as probe:
            probe.settimeout(0.5)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TopologyError(f"{process.name} did not listen on {port} within {timeout:.0f}s; see {process.log_path}")


def _free_ports(ports: Ports) -> None:
    import socket

    for port in range(ports.base, ports.base + 5):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                raise TopologyError(f"Port {port} is taken; set LMS_PORTBASE to a free range of 5 ports.")


class Topology:
    """Starts the parts in dependency order; `stop()` (or leaving the `with`) ends them all."""

    def __init__(self, settings: Settings | None = None, *, run_dir: Path | None = None):
        self.settings = settings or Settings()
        named = os.environ.get("LMS_TOPOLOGY_DIR")
        self.run_dir = run_dir or (Path(named) if named else Path(tempfile.mkdtemp(prefix="lms-topology-")))
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.secret_key = secrets.token_urlsafe(50)
        self.jwt_secret = secrets.token_urlsafe(40)
        self.processes: dict[str, Process] = {}
        self.apps: list[GunicornProcess] = []
        self.single: GunicornProcess | None = None

    # ------------------------------------------------------------------ environment

    def app_environment(self, *, database_url: str | None = None, workers: int | None = None) -> dict[str, str]:
        settings = self.settings
        env = production_environment(database_url=database_url or settings.pooled_url,
                                     secret_key=self.secret_key, jwt_secret=self.jwt_secret)
        env.update({
            "CACHE_URL": settings.redis_url,
            "CELERY_BROKER_URL": settings.redis_url,
            "WEB_CONCURRENCY": str(workers or settings.workers_per_instance),
            "GUNICORN_THREADS": str(settings.threads),
            "GUNICORN_ACCESS_LOG": "0",
            "LMS_BENCH_ENDPOINTS": "true",
            "CONN_MAX_AGE": "600",
        })
        if (database_url or settings.pooled_url) == settings.pooled_url:
            # PgBouncer 1.18 (Debian 12) in transaction mode keeps no prepared statements: client-side
            # binding (no psycopg prepares) and no named cursors (lms/settings.py, docs/scaling.md).
            env["DB_TRANSACTION_POOLER"] = "true"
            env["DB_SERVER_SIDE_BINDING"] = "false"
        return env

    def manage(self, *args: str, database_url: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        env = self.app_environment(database_url=database_url or self.settings.direct_url)
        env["LMS_ENV"] = "development"  # management commands need no production hardening
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=check,
                              capture_output=True, text=True)

    # ------------------------------------------------------------------ parts

    def prepare_database(self) -> None:
        import psycopg
        from psycopg import sql

        settings = self.settings
        admin_url = f"{settings.pg_server.rstrip('/')}/postgres".replace("postgres://", "postgresql://", 1)
        try:
            with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(settings.database)))
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(settings.database)))
        except psycopg.OperationalError as error:
            raise TopologyError(f"PostgreSQL does not answer at {settings.pg_server}: {error}") from error
        migrated = self.manage("migrate", "--noinput", check=False)
        if migrated.returncode != 0:
            raise TopologyError(f"migrate failed:\n{migrated.stdout}\n{migrated.stderr}")

    def seed(self) -> None:
        """Bench's smoke data and the tokens of the proofs (topology/seed.py); sets `workload`."""
        directory = self.run_dir / "workload"
        directory.mkdir(exist_ok=True)
        env = self.app_environment(database_url=self.settings.direct_url)
        env["LMS_ENV"] = "development"
        done = subprocess.run([sys.executable, "-m", "topology.seed", str(directory)], cwd=ROOT, env=env,
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise TopologyError(f"seeding failed:\n{done.stdout}\n{done.stderr}")
        self.workload_dir = directory
        self.workload = json.loads((directory / "workload.json").read_text())

    def flush_redis(self) -> None:
        import redis

        try:
            redis.Redis.from_url(self.settings.redis_url, socket_timeout=3).flushdb()
        except redis.RedisError as error:
            raise TopologyError(f"Redis does not answer at {self.settings.redis_url}: {error}") from error

    def start_pgbouncer(self, binary: str) -> None:
        (self.run_dir / "pgbouncer-users.txt").write_text('"postgres" ""\n')
        config = self.run_dir / "pgbouncer.ini"
        config.write_text(pgbouncer_config(self.settings, self.run_dir))
        command = [binary, str(config)]
        user = _unprivileged_user()
        if user:
            # PgBouncer refuses to run as root; it reads its files and writes its log as `user`.
            os.chmod(self.run_dir, 0o755)
            for path in (config, self.run_dir / "pgbouncer-users.txt"):
                os.chmod(path, 0o644)
            log = self.run_dir / "pgbouncer.log"
            log.touch()
            shutil.chown(log, user)
            command = [binary, "-u", user, str(config)]
        process = Process("pgbouncer", command, log_path=self.run_dir / "pgbouncer.out")
        self.processes["pgbouncer"] = process
        _wait_for_port(self.settings.ports.pgbouncer, process=process)

    def start_apps(self) -> None:
        for index, port in enumerate(self.settings.ports.apps):
            app = GunicornProcess(env=self.app_environment(), port=port,
                                  log_path=self.run_dir / f"gunicorn-{'ab'[index]}.log")
            self.apps.append(app)
            app.start(ready=lambda a=app: len(a.worker_pids()) >= self.settings.workers_per_instance)

    def start_nginx(self, binary: str) -> None:
        (self.run_dir / "nginx-temp").mkdir(exist_ok=True)
        user = _unprivileged_user()
        if user:
            shutil.chown(self.run_dir / "nginx-temp", user)
        config = self.run_dir / "nginx.conf"
        config.write_text(nginx_config(self.settings, self.run_dir))
        process = Process("nginx", [binary, "-p", str(self.run_dir), "-c", str(config)],
                          log_path=self.run_dir / "nginx.out")
        self.processes["nginx"] = process
        _wait_for_port(self.settings.ports.nginx, process=process)

    def start_worker(self) -> bool:
        """The Celery worker slot: one worker on the Redis broker, when the app has Celery."""
        if not (ROOT / "lms" / "celery.py").exists():
            return False
        env = self.app_environment()
        process = Process(
            "celery worker",
            [sys.executable, "-m", "celery", "-A", "lms", "worker", "--queues=lms,webhooks", "--pool=threads",
             "--concurrency=2", "--without-gossip", "--without-mingle", "--loglevel=INFO",
             f"--hostname=topology@{self.settings.ports.base}"],
            log_path=self.run_dir / "celery-worker.log", env=env,
        )
        self.processes["worker"] = process
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if not process.alive():
                raise TopologyError(f"the Celery worker exited; see {process.log_path}")
            if b" ready." in process.log_path.read_bytes():
                return True
            time.sleep(0.3)
        raise TopologyError(f"the Celery worker was not ready within 60s; see {process.log_path}")

    def start_single(self) -> GunicornProcess:
        """One gunicorn with all the workers, straight to PostgreSQL: the single-instance comparison."""
        workers = self.settings.workers_per_instance * len(self.settings.ports.apps)
        self.single = GunicornProcess(
            env=self.app_environment(database_url=self.settings.direct_url, workers=workers),
            port=self.settings.ports.single, log_path=self.run_dir / "gunicorn-single.log",
        )
        return self.single.start(ready=lambda: len(self.single.worker_pids()) >= workers)

    # ------------------------------------------------------------------ whole

    def start(self) -> Topology:
        binaries = ensure_debian_packages({"nginx": "nginx", "pgbouncer": "pgbouncer"})
        _free_ports(self.settings.ports)
        try:
            self.prepare_database()
            self.seed()
            self.flush_redis()
            self.start_pgbouncer(binaries["pgbouncer"])
            self.start_apps()
            self.start_nginx(binaries["nginx"])
            if self.settings.worker:
                self.worker_started = self.start_worker()
        except BaseException:
            self.stop()
            raise
        self.describe()
        return self

    def stop(self) -> None:
        for name in ("nginx", "worker"):
            if name in self.processes:
                self.processes[name].stop()
        for app in [*self.apps, *([self.single] if self.single else [])]:
            app.stop()
        if "pgbouncer" in self.processes:
            self.processes["pgbouncer"].stop()

    def __enter__(self) -> Topology:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.ports.nginx}"

    def describe(self) -> None:
        parts = {
            "nginx": self.url, "apps": [a.base_url for a in self.apps],
            "pgbouncer": self.settings.pooled_url, "postgres": self.settings.direct_url,
            "redis": self.settings.redis_url,
            "celery worker": "running" if "worker" in self.processes else "slot left empty (no lms/celery.py)",
            "run dir": str(self.run_dir),
        }
        print("topology: " + json.dumps(parts, indent=2), flush=True)


def get(url: str, path: str, *, headers: dict[str, str] | None = None, timeout: float = 10) -> int:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request("GET", path, headers=headers or {})
        return connection.getresponse().status
    finally:
        connection.close()
