"""The service under test, started the production way: gunicorn with lms/gunicorn.conf.py,
production settings, PostgreSQL with persistent connections, bound to loopback only."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def service_environment(*, database_url: str, secret_key: str, jwt_secret: str) -> dict[str, str]:
    """Production settings with the bench floors on; TLS redirect off because wrk speaks plain HTTP on loopback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LMS_", "GUNICORN_", "WEB_CONCURRENCY"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "lms.settings",
        "LMS_ENV": "production",
        "DEBUG": "false",
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECRET_KEY": secret_key,
        "LMS_JWT_SECRET": jwt_secret,
        "LMS_BENCH_ENDPOINTS": "true",
        "DATABASE_URL": database_url,
        "CONN_MAX_AGE": "600",
    })
    return env


class Server:
    """A gunicorn master and its workers; use as a context manager."""

    def __init__(self, *, env: dict[str, str], workers: int, threads: int, log_path: Path):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = dict(env)
        self.env.update({
            "BIND_HOST": "127.0.0.1",
            "PORT": str(self.port),
            "WEB_CONCURRENCY": str(workers),
            "GUNICORN_THREADS": str(threads),
            # An access line per request would measure the log pipe, not the service.
            "GUNICORN_ACCESS_LOG": "0",
        })
        self.workers = workers
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "lms" / "gunicorn.conf.py"), "lms.wsgi"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        self._wait_ready()
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
                    if response.status == 200 and len(self.worker_pids()) >= self.workers:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer /health within {timeout:.0f}s; see {self.log_path}")

    def worker_pids(self) -> list[int]:
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return []
        return [int(c) for c in children]


def request(base_url: str, method: str, path: str, *, headers: dict[str, str], body: dict | None = None,
            timeout: float = 30) -> tuple[int, dict | None, bytes]:
    """One HTTP request to a path (or an absolute URL): (status, parsed JSON or None, raw body)."""
    data = json.dumps(body).encode() if body is not None else None
    url = path if path.startswith(("http://", "https://")) else f"{base_url}{path}"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    return status, parsed, raw


def memory_status(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM (peak) of a process, in kB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


def reset_peak_rss(pid: int) -> bool:
    """Resets VmHWM to the current RSS (Linux `clear_refs` 5); False where unsupported."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False
