"""The one way every harness starts gunicorn (bench/gunicorn_process.py): ready means ready, and a
server that cannot get ready is never left running."""

from __future__ import annotations

import os

import pytest

from bench.gunicorn_process import GunicornNotReady, GunicornProcess
from bench.server import free_port

pytestmark = pytest.mark.live


@pytest.fixture
def env(tmp_path):
    """Development settings on a scratch SQLite file: enough for /health, nothing shared with the suite."""
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("LMS_", "GUNICORN_", "WEB_CONCURRENCY", "DATABASE_URL", "CACHE_URL", "XDG_RUNTIME_DIR"))
    }
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "lms.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "HOME": str(tmp_path),
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "1",
        "GUNICORN_ACCESS_LOG": "0",
    }


def test_start_waits_for_health_and_the_extra_condition_and_stop_ends_it(env, tmp_path):
    server = GunicornProcess(env=env, port=free_port(), log_path=tmp_path / "logs" / "gunicorn.log")
    server.start(ready=lambda: len(server.worker_pids()) >= 2)
    try:
        assert server._health_ok()
        assert len(server.worker_pids()) == 2
    finally:
        server.stop()
    assert server.process.poll() is not None
    assert (tmp_path / "logs" / "gunicorn.log").read_text().count("Booting worker") == 2


def test_a_server_that_never_gets_ready_is_stopped(env, tmp_path):
    server = GunicornProcess(env=env, port=free_port(), log_path=tmp_path / "gunicorn.log")
    with pytest.raises(GunicornNotReady, match="not ready within 3s"):
        server.start(timeout=3, ready=lambda: False)
    assert server.process.poll() is not None


def test_a_server_that_exits_is_reported_at_once(env, tmp_path):
    env["GUNICORN_THREADS"] = "not a number"  # lms/gunicorn.conf.py fails to load: the master exits
    server = GunicornProcess(env=env, port=free_port(), log_path=tmp_path / "gunicorn.log")
    with pytest.raises(GunicornNotReady, match="exited with"):
        server.start(timeout=60)
