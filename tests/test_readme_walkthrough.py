"""The README's "API walkthrough" runs as written, from a fresh `make run`.

The `sh` blocks of that section (and the multipart example of "Content catalogue", which uses the
walkthrough's variables) are pasted, in order, into `bash -euo pipefail`, as the README tells a
newcomer to do, against gunicorn started as `make run` starts it: `manage.py migrate`,
`manage.py seed_demo --show-login`, then `gunicorn -c lms/gunicorn.conf.py lms.wsgi`, with none of
the developer's settings. The server gets a fresh SQLite file in a temporary directory (never the
developer's db.sqlite3), and the snippet's own `.venv/bin/python manage.py mint_token` calls reach
the same file through DATABASE_URL, on a port of its own (PORT, which the snippet reads too).

Needs `bash`, `curl` and `jq`, as the README says; without them the test is skipped, except in CI
(CI=true), where it fails.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import sqlite3
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from courses.management.commands.seed_demo import DEMO_TENANT_ID
from viewer.selectors import EXPORT_FIELDS

pytestmark = pytest.mark.live

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
PORTS = range(18500, 18510)
# What a developer's shell may export that would point the server or the snippet elsewhere than
# the fresh database, or change the settings `make run` serves with.
_EXCLUDED_PREFIXES = (
    "LMS_", "GUNICORN_", "WEB_CONCURRENCY", "DATABASE_URL", "CACHE_URL", "XDG_RUNTIME_DIR", "PORT", "BIND_HOST",
    "MEDIA_ROOT", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "DJANGO_",
)
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def _section(markdown: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", markdown, re.S | re.M)
    assert match, f"README.md has no '## {title}' section"
    return match.group(1)


def _sh_blocks(section: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```$", section, re.S | re.M)


def _readme_script() -> str:
    markdown = README.read_text(encoding="utf-8")
    walkthrough = _sh_blocks(_section(markdown, "API walkthrough"))
    assert walkthrough, "the API walkthrough has no ```sh block"
    multipart = [block for block in _sh_blocks(_section(markdown, "Content catalogue")) if "curl" in block]
    assert multipart, "the Content catalogue section lost its multipart curl example"
    return "\n".join(walkthrough + multipart)


def _require_tools() -> None:
    missing = [tool for tool in ("bash", "curl", "jq") if shutil.which(tool) is None]
    if not VENV_PYTHON.exists():
        missing.append(f"{VENV_PYTHON.relative_to(ROOT)} (make install-dev)")
    if not missing:
        return
    message = f"the README walkthrough needs {', '.join(missing)} (apt-get install curl jq / brew install jq)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _free_port() -> int:
    for port in PORTS:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


def _wait_healthy(process: subprocess.Popen, base: str, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer /health within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def make_run(tmp_path):
    """`make run` on a fresh SQLite file: yields (environment for the snippet, seed_demo's output, db path)."""
    _require_tools()
    database = tmp_path / "walkthrough.sqlite3"
    (tmp_path / "home").mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith(_EXCLUDED_PREFIXES)}
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{database}",
            "MEDIA_ROOT": str(tmp_path / "media"),
            "PORT": str(_free_port()),
            "HOME": str(tmp_path / "home"),
            "TMPDIR": str(tmp_path),
            # One worker boots fastest; the walkthrough is sequential.
            "WEB_CONCURRENCY": "1",
        }
    )
    manage = [str(VENV_PYTHON), "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True, timeout=120)
    seeded = subprocess.run(
        [*manage, "seed_demo", "--show-login"], cwd=ROOT, env=env, check=True, timeout=60,
        capture_output=True, text=True,
    ).stdout
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(VENV_PYTHON), "-m", "gunicorn", "-c", "lms/gunicorn.conf.py", "lms.wsgi"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        _wait_healthy(server, f"http://127.0.0.1:{env['PORT']}", log)
        yield env, seeded, database
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def test_every_curl_of_the_walkthrough_stops_on_an_error():
    """Under `set -e` a step stops the script only if its curl fails on a 4xx/5xx."""
    curls = [line for line in _readme_script().splitlines() if re.search(r"(?<![\w-])curl ", line)]
    assert curls
    for line in curls:
        assert "curl -sS --fail-with-body" in line, line


def test_the_walkthrough_uses_the_demo_tenant_of_make_run():
    # The server provisions an unknown tenant on first use, so a wrong id would still pass the
    # walkthrough, in a tenant of its own; the id must be the one seed_demo creates.
    match = re.search(rf'^TENANT="\$\{{LMS_DEFAULT_TENANT:-({_UUID})\}}"$', _readme_script(), re.M)
    assert match, "the walkthrough sets TENANT to the demo tenant's id"
    assert match.group(1) == str(DEMO_TENANT_ID)


def test_the_walkthrough_runs_as_written_against_make_run(make_run, tmp_path):
    env, seeded, database = make_run
    assert f"Tenant:    {DEMO_TENANT_ID}" in seeded, seeded
    script = tmp_path / "walk.sh"
    script.write_text(_readme_script(), encoding="utf-8")

    started = time.monotonic()
    result = subprocess.run(
        ["bash", "-euo", "pipefail", str(script)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    elapsed = time.monotonic() - started

    assert result.returncode == 0, f"the walkthrough failed:\nstdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"
    assert elapsed < 60, f"the walkthrough took {elapsed:.0f} s"
    lines = result.stdout.splitlines()
    # The downloaded CSV: its header, then the walked course completed (status 2, progress 100,
    # one certificate) in the enrolment's own batch.
    assert ",".join(EXPORT_FIELDS) in lines, result.stdout[-2000:]
    assert any(re.fullmatch(rf"({_UUID}),\1,2,100,\d+,\d+,\d+,1", line) for line in lines), result.stdout[-2000:]
    assert "200 image/png" in lines, "the multipart example's cover image is served"

    connection = sqlite3.connect(database)
    try:
        tenants = [row[0] for row in connection.execute("SELECT id FROM lms_tenant")]
    finally:
        connection.close()
    # Everything went to the demo tenant: no other tenant was provisioned on the way.
    assert tenants == [DEMO_TENANT_ID.hex]

    recount = subprocess.run(
        [str(VENV_PYTHON), "manage.py", "recount_tracking", "--dry-run"], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout
    assert "0 with differences" in recount, recount
