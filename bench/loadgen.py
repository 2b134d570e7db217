"""Driving load with wrk (Debian package `wrk`) and reading its done() JSON line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from bench.scenarios import WRK_DIR

CONNECTIONS = 16


class HarnessError(RuntimeError):
    """The harness itself cannot run (as opposed to a scenario doing badly)."""


def ensure_wrk() -> str:
    """The wrk binary; installs the Debian package when missing and we may (root with apt-get)."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk is missing; installing the Debian package `wrk` with apt-get.", flush=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, stdout=subprocess.DEVNULL)
        if not shutil.which("wrk"):
            subprocess.run(["apt-get", "update", "-qq"], check=False, stdout=subprocess.DEVNULL)
            subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, stdout=subprocess.DEVNULL)
        found = shutil.which("wrk")
        if found:
            return found
    raise HarnessError(
        "wrk is not installed. Install it with `sudo apt-get install wrk` (Debian/Ubuntu) or "
        "`brew install wrk` (macOS), then run the benchmark again."
    )


def run_wrk(*, wrk: str, script: Path, base_url: str, data_path: Path, duration: float, threads: int,
            connections: int = CONNECTIONS) -> dict:
    """One fixed-duration wrk run; returns req/s, latency percentiles (ms) and status counts."""
    env = dict(os.environ, BENCH_DATA=str(data_path), BENCH_WRK_DIR=str(WRK_DIR), BENCH_THREADS=str(threads))
    seconds = max(1, round(duration))
    command = [wrk, "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s",
               "-s", str(script), base_url]
    try:
        completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 60)
    except subprocess.TimeoutExpired as error:
        raise HarnessError(f"wrk did not finish: {' '.join(command)}") from error
    line = next((x for x in completed.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if completed.returncode != 0 or line is None:
        raise HarnessError(
            f"wrk failed (exit {completed.returncode}) for {script.name}:\n{completed.stdout}\n{completed.stderr}"
        )
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    seconds_run = raw["duration_us"] / 1e6 or 1.0
    # wrk's own count of answers >= 400 (the scripts keep no per-status count; see common.lua).
    failed = raw["errors"]["status"]
    ok = raw["requests"] - failed
    socket_errors = sum(v for k, v in raw["errors"].items() if k != "status")
    latency = raw["latency_us"]
    return {
        "requests": raw["requests"],
        "rps": round(raw["requests"] / seconds_run, 1),
        "ok_rps": round(ok / seconds_run, 1),
        "p50_ms": round(latency["p50"] / 1000, 2),
        "p90_ms": round(latency["p90"] / 1000, 2),
        "p99_ms": round(latency["p99"] / 1000, 2),
        "max_ms": round(latency["max"] / 1000, 2),
        "non_2xx": failed,
        "socket_errors": socket_errors,
    }
