"""gateway/workers/progress.py without Blender: a real process's state and CPU time from
/proc, and how long a silent process has made no progress."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from blender_http_gateway.workers.progress import Sample, Stall, sample

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux's")


def test_a_spinning_process_uses_cpu_and_a_stopped_one_is_not_runnable() -> None:
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        first = sample(spinner.pid)
        assert first is not None and first.runnable
        deadline = time.monotonic() + 30
        while (now := sample(spinner.pid)) is not None and now.cpu <= first.cpu:
            assert time.monotonic() < deadline, "the spinner never used CPU time"
            time.sleep(0.05)
        os.kill(spinner.pid, signal.SIGSTOP)
        deadline = time.monotonic() + 30
        while (stopped := sample(spinner.pid)) is not None and stopped.runnable:
            assert time.monotonic() < deadline, "never seen stopped"
            time.sleep(0.01)
        assert stopped is not None and stopped.state == "T"
    finally:
        spinner.kill()
        spinner.wait()
    assert sample(spinner.pid) is None  # reaped: no such process


def test_a_process_name_with_parentheses_and_spaces_is_read(tmp_path: Path) -> None:
    # The command name (the program file's name) is field 2 of /proc/PID/stat; the fields
    # after it follow its last ')'.
    program = tmp_path / "a) b (c"
    program.symlink_to(shutil.which("sleep") or "/bin/sleep")
    named = subprocess.Popen([str(program), "30"])
    try:
        deadline = time.monotonic() + 30
        while (found := sample(named.pid)) is None or found.state not in "S":
            assert time.monotonic() < deadline, found
            time.sleep(0.01)
        assert found.cpu >= 0
    finally:
        named.kill()
        named.wait()


def test_the_stall_counts_from_the_last_cpu_tick_and_a_stop_counts_at_once() -> None:
    stall = Stall()
    assert stall.seconds(100.0, Sample("R", 1.0)) == 0.0
    assert stall.seconds(104.0, Sample("R", 1.0)) == 4.0   # no CPU used: stalled
    assert stall.seconds(105.0, Sample("R", 1.5)) == 0.0   # it worked: counted again from here
    assert stall.seconds(108.0, Sample("T", 1.5)) == 3.0   # stopped: since its last progress
    stall.reset()
    assert stall.seconds(200.0, Sample("T", 1.5)) == 0.0   # first seen stopped: counted from now
    assert stall.seconds(203.0, Sample("T", 1.5)) == 3.0
