"""The latency benchmark still runs (tiny counts; its numbers are not checked here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.blender import servers
from tests.conftest import missing

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "exec_latency.py"


@pytest.mark.blender
def test_benchmark_runs_end_to_end() -> None:
    reason = servers.availability("background")
    if reason:
        missing(reason)
    done = subprocess.run([sys.executable, str(SCRIPT), "--requests", "20", "--rounds", "2",
                           "--modes", "module,background", "--no-write"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    targets = [row.split("|")[1].strip() for row in rows]
    assert targets == ["target", "floor (stdlib http.server, in-thread)", "blender-http module",
                       "blender-http background"]
