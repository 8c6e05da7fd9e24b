"""The benchmark suite still runs end to end (tiny counts; its numbers are not checked here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.blender import servers
from tests.conftest import missing

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.blender
def test_every_section_runs_and_reports_its_targets() -> None:
    reason = servers.availability("background") or servers.availability("module")
    if reason:
        missing(reason)
    done = subprocess.run([sys.executable, "-m", "benchmarks.run", "--quick", "--no-write",
                           "--modes", "module,background"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    headings = [line[3:] for line in done.stdout.splitlines() if line.startswith("## ")]
    assert headings == ["Targets", "Exec round trip", "Throughput", "Cancel latency",
                        "Mesh vertices to numpy", "Data into Blender", "Start-up to healthy",
                        "Small jobs: server against cold Blender runs"]
    targets = [line.split("|")[1].strip() for line in done.stdout.split("## Targets")[1].split("## ")[0]
               .splitlines() if line.startswith("| ") and not line.startswith("| target")]
    for expected in ("exec p50, module", "exec p50, background", "8-client throughput, module",
                     "cancel, module", "10,000 vertices as numpy, module",
                     "10,000 vertices in as multipart .npy, background", "`start --background` healthy",
                     "gateway, added at p50"):
        assert expected in targets
    # Every way of fetching vertices either measured or said why not; the exec paths must work.
    section = done.stdout.split("## Mesh vertices to numpy")[1].split("## ")[0]
    assert "exec, binary (octet-stream) | not available" not in section
    assert "exec, JSON lists | not available" not in section


def test_the_gateways_own_steps_are_measured_on_answers_it_got_right() -> None:
    # The measured gateway answers every request (a wrong answer stops the run with its
    # text), and the figure is the time of those answers.
    done = subprocess.run([sys.executable, "-m", "benchmarks.gateway_steps", "--quick"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    row = next(line for line in done.stdout.splitlines() if line.startswith("| gateway |"))
    assert 0 < float(row.split("|")[2]) < 10_000


@pytest.mark.blender
def test_the_gateway_is_measured_beside_the_worker_and_on_another_interpreter() -> None:
    reason = servers.availability("module")
    if reason:
        missing(reason)
    done = subprocess.run([sys.executable, "-m", "benchmarks.gateway", "--quick",
                           "--gateway-python", sys.executable],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line.split("|")[1].strip() for line in done.stdout.splitlines() if line.startswith("| ")]
    assert rows[1:] == ["worker, direct", "relay floor (bytes only)", "gateway",
                        f"gateway on {sys.executable}"]
    said = next(line for line in done.stdout.splitlines() if line.startswith("the gateway runs on "))
    assert said.count(sys.executable) == 2, said
