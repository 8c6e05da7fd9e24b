"""The add-on's server run by Windows CPython (inside/serve.py: the service and its blocking
pump, no Blender) answers a Linux httpx client: /exec, /jobs and cancelling them, /files
and Windows' file-name rules, and MCP on /mcp. One server per Python (conftest)."""

from __future__ import annotations

import json
import os
import time
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.windows import wine
from tests.windows.conftest import WindowsServer, WindowsServers
from tests.windows.mcp_rpc import open_session, rpc

# The first test to run may set up Wine, the Pythons and their packages (minutes, on a fresh
# machine) before its own work.
pytestmark = pytest.mark.timeout(1200)

WAIT_S = 30.0
# Long enough to tell "cut short" from "ran to its end" far beyond scheduling noise.
SLEEP_S = 30


def submit(http: httpx.Client, code: str) -> str:
    response = http.post("/jobs", json={"code": code})
    assert response.status_code == 202, response.text
    job_id: str = response.json()["id"]
    assert response.headers["Location"] == f"/jobs/{job_id}"
    return job_id


def wait_for(http: httpx.Client, job_id: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_S
    while True:
        view: dict[str, Any] = http.get(f"/jobs/{job_id}").json()
        if view["status"] == status:
            return view
        assert time.monotonic() < deadline, f"job {job_id} never {status}: {view}"
        time.sleep(0.05)


def test_health_and_the_ready_file(windows_server: WindowsServer) -> None:
    with windows_server.client() as http:
        health = http.get("/health").json()
    assert health["status"] == "ok" and health["mode"] == "module", health
    # The ready file (written atomically by the Windows process) names the same port.
    assert windows_server.ready.get("port") == windows_server.port, windows_server.ready


def test_exec(windows_server: WindowsServer) -> None:
    code = "import os, sys\nprint('on', sys.platform)\n[sys.platform, os.sep, sys.version_info[:2], 6 * 7]"
    with windows_server.client() as http:
        answer = http.post("/exec", json={"code": code})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["ok"] and body["stdout"] == "on win32\n", body
        major, minor = (int(n) for n in windows_server.version.split("."))
        assert body["result"] == ["win32", "\\", [major, minor], 42]
        failed = http.post("/exec", content=b"x = 1\nraise KeyError('nope')")
        assert failed.status_code == 422, failed.text
        assert failed.json()["error"]["type"] == "KeyError"


def test_cancel_stops_a_python_loop(windows_server: WindowsServer) -> None:
    with windows_server.client() as http:
        job_id = submit(http, "n = 0\nwhile True:\n    n += 1")
        wait_for(http, job_id, "running")
        cancelled = http.delete(f"/jobs/{job_id}")
        assert cancelled.status_code == 200, cancelled.text  # stopped within the second it waits
        view = cancelled.json()
        assert view["status"] == "cancelled", view
        assert view["envelope"]["error"]["type"] == "Cancelled"
        assert http.delete(f"/jobs/{job_id}").status_code == 409  # already finished
        assert http.post("/exec", json={"code": "'next'"}).json()["result"] == "next"  # the pump goes on


def test_cancel_waits_for_a_blocking_call_on_windows(windows_servers: WindowsServers) -> None:
    """On Windows no signal reaches one thread: the interrupt is raised at the first bytecode
    after time.sleep returns (jobs/interrupt.py), so the job ends cancelled, after the sleep,
    before the next line. Every Python's server sleeps at once (one wait for all)."""
    started: dict[str, tuple[httpx.Client, str, float]] = {}
    try:
        for version in wine.VERSIONS:
            http = windows_servers[version].client()
            submitted = time.monotonic()
            job_id = submit(http, f"import time\ntime.sleep({SLEEP_S})\nprint('woke')")
            started[version] = (http, job_id, submitted)
            wait_for(http, job_id, "running")
            cancelled = http.delete(f"/jobs/{job_id}")
            assert cancelled.status_code == 202, cancelled.text  # not stopped within a second
            assert http.get(f"/jobs/{job_id}").json()["status"] == "running"
            assert http.get("/health").json()["busy"] is True  # the server answers meanwhile
        for version, (http, job_id, submitted) in started.items():
            view = http.get(f"/jobs/{job_id}", params={"wait": SLEEP_S + WAIT_S}).json()
            ended = time.monotonic() - submitted
            assert view["status"] == "cancelled", (version, view)
            assert view["envelope"]["error"]["type"] == "Cancelled"
            assert "woke" not in view["envelope"]["stdout"]
            assert ended >= SLEEP_S - 1, (version, ended)
    finally:
        for http, _, _ in started.values():
            http.close()


def test_files_put_get_list_delete(windows_server: WindowsServer) -> None:
    data = os.urandom(300_000)
    with windows_server.client() as http:
        created = http.put("/files/models/mesh-é.bin", content=data)
        assert created.status_code == 201, created.text
        assert created.json() == {"path": "models/mesh-é.bin", "size": len(data)}
        # Written by Windows into the work folder, read here through Wine's Z: drive.
        assert (windows_server.workdir / "models" / "mesh-é.bin").read_bytes() == data
        assert http.put("/files/models/mesh-é.bin", content=b"two").status_code == 200
        assert http.get("/files/models/mesh-é.bin").content == b"two"
        listed = [f["path"] for f in http.get("/files").json()["files"]]
        assert "models/mesh-é.bin" in listed, listed
        assert not [p for p in listed if ".upload-" in p]
        assert http.delete("/files/models/mesh-é.bin").status_code == 204
        assert http.get("/files/models/mesh-é.bin").status_code == 404
        assert http.delete("/files/models/mesh-é.bin").status_code == 404


@pytest.mark.parametrize("name", ["CON", "a:b", "x.", "sub/NUL.txt", "com1.log", "x "])
def test_windows_unsafe_names_are_400(windows_server: WindowsServer, name: str) -> None:
    with windows_server.client() as http:
        answer = http.put(f"/files/{quote(name)}", content=b"data")
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["message"]
    assert not (windows_server.workdir / name).exists()


def test_mcp_initialize_list_and_call(windows_server: WindowsServer) -> None:
    with windows_server.client() as http:
        tools = open_session(http)
        assert "exec_python" in tools, tools
        called = rpc(http, "tools/call", {"name": "exec_python",
                                          "arguments": {"code": "import sys\nprint('hi')\nsys.platform"}}, 3)
    assert called.get("isError") is False, called
    answer = json.loads(called["content"][0]["text"])
    assert (answer["result"], answer["stdout"]) == ("win32", "hi\n"), answer
