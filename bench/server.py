"""The service under test, started the production way: gunicorn with lms/gunicorn.conf.py,
production settings, PostgreSQL with persistent connections, bound to loopback only."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from pathlib import Path

from bench.gunicorn_process import GunicornProcess, production_environment


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def service_environment(*, database_url: str, secret_key: str, jwt_secret: str) -> dict[str, str]:
    """Production settings on loopback (see production_environment) with the bench floors on."""
    env = production_environment(database_url=database_url, secret_key=secret_key, jwt_secret=jwt_secret)
    env["LMS_BENCH_ENDPOINTS"] = "true"
    return env


class Server(GunicornProcess):
    """The benchmark's gunicorn on a free port; ready once all its workers are up. Use as a context manager."""

    def __init__(self, *, env: dict[str, str], workers: int, threads: int, log_path: Path, app: str = "lms.wsgi"):
        super().__init__(
            env={
                **env,
                "WEB_CONCURRENCY": str(workers),
                "GUNICORN_THREADS": str(threads),
                # An access line per request would measure the log pipe, not the service.
                "GUNICORN_ACCESS_LOG": "0",
            },
            port=free_port(),
            log_path=log_path,
            app=app,
        )
        self.workers = workers

    def __enter__(self) -> Server:
        # /health answers as soon as one worker is up; a measurement needs all of them.
        return self.start(ready=lambda: len(self.worker_pids()) >= self.workers)


def request(base_url: str, method: str, path: str, *, headers: dict[str, str], body: dict | None = None,
            timeout: float = 30, response_headers: dict[str, str] | None = None) -> tuple[int, dict | None, bytes]:
    """One HTTP request to a path (or an absolute URL): (status, parsed JSON or None, raw body); the
    answer's headers are copied into `response_headers` when the caller passes a dict."""
    data = json.dumps(body).encode() if body is not None else None
    url = path if path.startswith(("http://", "https://")) else f"{base_url}{path}"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            status, raw, answered = response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        status, raw, answered = error.code, error.read(), error.headers
    if response_headers is not None:
        response_headers.update(answered.items())
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
