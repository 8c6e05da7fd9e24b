"""No Blender that `blender-http mcp --spawn` starts outlives it, whatever moment its client
leaves: the client closes stdin at several points of the start-up (before `initialize` is
answered, while Blender starts, once it serves, in the middle of a call), and afterwards no
process of that run is left, nor any file of it in the temporary folder. `claude mcp list`
does exactly this: it connects, asks and goes."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

from tests.blender import servers
from tests.conftest import missing
from tests.processes import MARKER, marked

pytestmark = [pytest.mark.blender, pytest.mark.timeout(600)]

INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "test", "version": "0"}}}
CALL = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "exec_python", "arguments": {"code": "import time\ntime.sleep(60)"}}}
# Seconds after start at which the client goes; "serving" waits for a first answer from
# Blender, "mid-call" leaves during a long call.
MOMENTS = [0.0, 0.5, 2.0, "serving", "mid-call"]


def _send(proc: subprocess.Popen[bytes], message: dict[str, object]) -> None:
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(message).encode() + b"\n")
    proc.stdin.flush()


@pytest.mark.parametrize("kind", ["module", "background"])
@pytest.mark.parametrize("moment", MOMENTS, ids=str)
def test_no_spawned_blender_outlives_its_client(kind: str, moment: float | str, tmp_path: Path) -> None:
    reason = servers.availability(kind)
    if reason:
        missing(reason)
    marker = uuid.uuid4().hex
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("BLENDER_HTTP_")},
           MARKER: marker, "TMPDIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "blender_http", "mcp", "--spawn", kind],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    assert proc.stdout is not None
    try:
        _send(proc, INIT)
        if isinstance(moment, float):
            time.sleep(moment)
        else:
            proc.stdout.readline()  # initialize's answer
            _send(proc, {"jsonrpc": "2.0", "method": "notifications/initialized"})
            if moment == "serving":
                _send(proc, {**CALL, "params": {"name": "exec_python", "arguments": {"code": "1"}}})
                answer = json.loads(proc.stdout.readline())
                assert answer["result"].get("isError") is not True, answer
            else:
                _send(proc, CALL)
                deadline = time.monotonic() + servers.START_TIMEOUT
                while not any("blender" in " ".join(p.cmdline()) or "serve" in p.cmdline()
                              for p in map(psutil.Process, marked(marker)) if p.pid != proc.pid):
                    assert time.monotonic() < deadline
                    time.sleep(0.2)
                time.sleep(3)  # Blender is up and the call runs
        proc.stdin.close()  # type: ignore[union-attr]
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    deadline = time.monotonic() + 30
    while (left := marked(marker)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in left:  # leave nothing running, then fail
        psutil.Process(pid).kill()
    assert left == [], f"processes left behind: {left}"
    # Nothing but the user's folder of `mcp` folders (blender_http.local.temp), empty.
    left_behind = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert left_behind in ([], [f"blender-http-mcp-{getpass.getuser()}"]), left_behind
