"""Real Celery workers for the events proofs: `python -m lms.worker` (the command `make run` and
`make worker` start) as a subprocess on the test database, beside a live gunicorn (tests/live.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.live import LiveServer

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("LMS_TEST_REDIS_URL", "redis://127.0.0.1:6379/5")

# Short waits, so that retries, leases and the sweep play out within seconds.
QUICK = {
    "LMS_EVENTS_SWEEP_SECONDS": "1",
    "LMS_WEBHOOK_RETRY_SCHEDULE": "1,1,1,1,1,1,1,1,1,1",
    "LMS_WEBHOOK_LEASE_SECONDS": "4",
    "LMS_WEBHOOK_TIMEOUT_SECONDS": "10",
}


def redis_available() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:  # noqa: BLE001 -- any failure means no Redis to test against
        return False


def redis_flush() -> None:
    """Empties this suite's Redis database (number 5), so no message of an earlier test is left."""
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


@dataclass
class Worker:
    """One `python -m lms.worker` process group; `beat=False` leaves the scheduler out."""

    server: LiveServer
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    beat: bool = True
    name: str = "worker"
    process: subprocess.Popen | None = None

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def start(self, timeout: float = 60.0) -> Worker:
        env = {**self.server._environment(), **QUICK, **self.env}
        env["CELERY_BEAT_SCHEDULE_FILENAME"] = str(self.workdir / f"{self.name}-beat-schedule")
        command = [sys.executable, "-m", "lms.worker", f"--hostname={self.name}@%h"]
        if not self.beat:
            command = [sys.executable, "-c", "import sys; from lms import worker; "
                       "worker.EMBEDDED_ARGUMENTS.remove('--beat'); worker.main(sys.argv[1:])", *command[3:]]
        log = open(self.log_path, "ab")  # noqa: SIM115 -- kept open for the process's life
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the worker exited; see {self.log_path}:\n{self.log_path.read_text()[-3000:]}")
            if b" ready." in self.log_path.read_bytes():
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the worker was not ready within {timeout}s; see {self.log_path}")

    def kill(self) -> None:
        """SIGKILL to the whole group: no goodbye, no acknowledgement, no cleanup."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.kill()
