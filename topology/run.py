"""`python -m topology.run`: starts the topology (topology/stack.py) and runs its proofs
(tests/topology), then stops every process it started. Exit status: pytest's.

`make topology` runs this; CI runs it as a smoke (.ci/run). LMS_TOPOLOGY_BENCH_SECONDS (2) and
LMS_TOPOLOGY_KILL_SECONDS (6) bound the load; the run directory (configs, logs, bench.md) is
printed and kept.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    os.environ["LMS_TOPOLOGY"] = "1"
    os.chdir(ROOT)
    return pytest.main(["-s", "-p", "no:cacheprovider", str(ROOT / "tests" / "topology"), *argv])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
