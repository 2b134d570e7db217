"""One gunicorn started the production way, `gunicorn -c lms/gunicorn.conf.py lms.wsgi`, on loopback
(or another WSGI app under the same configuration: the benchmark's bare `wsgi-hello` ceiling).

Shared by the benchmark (bench/server.py), the suite's live server (tests/live.py) and the
reliability proofs (tests/reliability/live.py); each builds its own environment and picks its own port.
"""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONF = ROOT / "lms" / "gunicorn.conf.py"


def production_environment(*, database_url: str, secret_key: str, jwt_secret: str) -> dict[str, str]:
    """This process's environment with production settings (what a deployment runs) on loopback over plain HTTP.

    The caller's LMS_*/GUNICORN_* variables are dropped, so that only what is set here configures the server.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LMS_", "GUNICORN_", "WEB_CONCURRENCY"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "lms.settings",
        "LMS_ENV": "production",
        "DEBUG": "false",
        # A client on loopback speaks plain HTTP; production's redirect to HTTPS would answer every request.
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECRET_KEY": secret_key,
        "LMS_JWT_SECRET": jwt_secret,
        "DATABASE_URL": database_url,
        "CONN_MAX_AGE": "600",
    })
    return env


class GunicornNotReady(RuntimeError):
    """gunicorn exited, or did not answer /health in time; the process has been stopped."""


class GunicornProcess:
    """A gunicorn master and its workers on 127.0.0.1:`port`, output appended to `log_path`.

    Use as a context manager, or call start() and stop().
    """

    def __init__(self, *, env: Mapping[str, str], port: int, log_path: Path, app: str = "lms.wsgi"):
        self.app = app
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.env = {**env, "BIND_HOST": "127.0.0.1", "PORT": str(port)}
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self, *, timeout: float = 60.0, ready: Callable[[], bool] | None = None):
        """Starts gunicorn and returns once /health answers 200 and `ready()`, if given, is true.

        Raises GunicornNotReady (after stopping the process) if it exits or is not ready within `timeout`.
        """
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), self.app],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )
        try:
            self._wait_ready(timeout, ready)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def worker_pids(self) -> list[int]:
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return []
        return [int(c) for c in children]

    def _health_ok(self) -> bool:
        # http.client, not urllib: a proxy named in the environment must not stand between us and loopback.
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            connection.request("GET", "/health")
            return connection.getresponse().status == 200
        except (OSError, http.client.HTTPException):
            return False
        finally:
            connection.close()

    def _wait_ready(self, timeout: float, ready: Callable[[], bool] | None) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise GunicornNotReady(f"gunicorn exited with {self.process.returncode}; see {self.log_path}")
            if self._health_ok() and (ready is None or ready()):
                return
            time.sleep(0.2)
        raise GunicornNotReady(f"gunicorn was not ready within {timeout:.0f}s; see {self.log_path}")
