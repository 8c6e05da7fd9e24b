"""docker/liveness.py, the worker's liveness probe, against a real module-mode worker: live
when idle and while one C call holds Python's lock (/health silent, the process on the CPU);
not live once that process is frozen with SIGSTOP, nor when nothing listens."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.blender import servers
from tests.conftest import missing
from tests.docker import dockerfiles

pytestmark = [pytest.mark.blender, pytest.mark.timeout(300)]

SCRIPT = dockerfiles.DOCKER / "liveness.py"
WAIT_S = 60.0


def probe(port: int, ready_file: Path | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLENDER_HTTP_")}
    env["BLENDER_HTTP_PORT"] = str(port)
    if ready_file is not None:
        env["BLENDER_HTTP_READY_FILE"] = str(ready_file)
    return subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True,
                          timeout=30, check=False)


def silent(url: str) -> bool:
    try:
        httpx.get(url + "/health", timeout=0.5)
    except httpx.TimeoutException:
        return True
    return False


def test_live_while_a_call_holds_the_lock_and_not_once_frozen(tmp_path: Path) -> None:
    reason = servers.availability("module")
    if reason:
        missing(reason)
    running = servers.start("module", tmp_path)
    ready_file = tmp_path / "ready-module.json"
    port = int(urlsplit(running.url).port or 0)
    try:
        idle = probe(port, ready_file)
        assert idle.returncode == 0, idle.stderr
        # About 30 s of one C call that never lets go of the lock: /health cannot answer.
        holding = threading.Thread(target=lambda: _post_quietly(running.url, "sum(range(2_000_000_000))"))
        holding.start()
        deadline = time.monotonic() + WAIT_S
        while not silent(running.url):
            assert time.monotonic() < deadline, "the call never held /health"
            time.sleep(0.05)
        busy = probe(port, ready_file)
        assert busy.returncode == 0, busy.stderr
        assert "is working" in busy.stderr, busy.stderr
        # Without the ready file the probe cannot look at the process: silence is not live.
        blind = probe(port, None)
        assert blind.returncode == 1, blind.stderr
        os.kill(running.proc.pid, signal.SIGSTOP)
        frozen = probe(port, ready_file)
        assert frozen.returncode == 1, frozen.stderr
        assert "state T" in frozen.stderr, frozen.stderr
        os.kill(running.proc.pid, signal.SIGKILL)
        running.proc.wait(WAIT_S)
        gone = probe(port, ready_file)
        assert gone.returncode == 1 and "refused" in gone.stderr, gone.stderr
        holding.join(WAIT_S)
    finally:
        if running.proc.poll() is None:
            os.kill(running.proc.pid, signal.SIGKILL)
            running.proc.wait()


def _post_quietly(url: str, code: str) -> None:
    try:
        httpx.post(url + "/exec", content=code, timeout=WAIT_S)
    except httpx.HTTPError:
        pass  # the worker is killed under it
