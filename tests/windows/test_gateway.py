"""The gateway run by Windows CPython 3.11 (`python -m blender_http_gateway`, the `[gateway]`
extra's win_amd64 wheels: wine.Session.gateway) in front of a real Linux Blender (module
mode, with a token), with an API key, answers a Linux httpx client: /health, /exec, /files
and Windows' file-name rules (in the worker's words). Stopped, nothing of it is left."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from blender_http_addon.protocol import file_path_problem
from tests.blender import servers
from tests.windows import wine

# The first test to run may set up Wine, the Pythons and their packages (minutes, on a fresh
# machine) before its own work.
pytestmark = pytest.mark.timeout(1200)

START_TIMEOUT = 120.0
# uvicorn's line once it listens; with --port 0 it names the port it was given.
LISTENING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")


def start_gateway(session: wine.Session, backend: servers.Running, key: str,
                  folder: Path) -> tuple[wine.Process, int]:
    try:
        path = session.gateway()
    except (wine.SetupFailed, subprocess.SubprocessError, OSError) as exc:
        pytest.fail(f"the gateway's packages for Windows could not be set up: {exc}", pytrace=False)
    for name in ("BLENDER_HTTP_TOKEN_FILE", "BLENDER_HTTP_API_KEYS_FILE", "BLENDER_HTTP_GATEWAY_CONFIG"):
        assert name not in os.environ, f"{name} is set here and would reach the Windows gateway"
    env = {"BLENDER_HTTP_API_KEYS": key, "BLENDER_HTTP_TOKEN": backend.token or ""}
    process = session.start(wine.GATEWAY_VERSION,
                            ["-m", "blender_http_gateway", "--backend", backend.url,
                             "--host", "127.0.0.1", "--port", "0"], env=env, path=path, cwd=folder)
    deadline = time.monotonic() + START_TIMEOUT
    while not (found := LISTENING.search(process.stderr_text())):
        if process.poll() is not None or time.monotonic() > deadline:
            process.stop()
            pytest.fail(f"the Windows gateway did not start: rc {process.returncode}\n"
                        f"{process.stdout_text()}\n{process.stderr_text()}", pytrace=False)
        time.sleep(0.1)
    return process, int(found.group(1))


def test_gateway_on_windows_in_front_of_a_linux_worker(wine_session: wine.Session,
                                                       linux_server: servers.Running,
                                                       tmp_path: Path) -> None:
    key = secrets.token_urlsafe(32)
    # The gateway forwards /mcp and imports no MCP SDK; `blender-http mcp` (same extra) does,
    # and on Windows its stdio server needs pywin32 (wine.Session.gateway adds it).
    probe = wine_session.run(wine.GATEWAY_VERSION, ["-c", "import mcp.server.stdio, mcp.server.lowlevel, "
                                                    "win32job; print('imported')"],
                             path=wine_session.gateway())
    assert (probe.returncode, probe.stdout) == (0, "imported\n"), probe
    started = time.monotonic()
    process, port = start_gateway(wine_session, linux_server, key, tmp_path)
    print(f"the Windows gateway listened after {time.monotonic() - started:.1f} s")
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, timeout=60.0, trust_env=False) as anyone:
            health = anyone.get("/health")
            assert health.status_code == 200, health.text
            assert health.json()["status"] == "ok", health.json()
            refused = anyone.post("/exec", json={"code": "6 * 7"})
            assert refused.status_code == 401, refused.text
        with httpx.Client(base_url=url, timeout=60.0, trust_env=False,
                          headers={"Authorization": f"Bearer {key}"}) as http:
            answer = http.post("/exec", json={"code": "import sys\nprint(sys.platform)\n6 * 7"})
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert (body["ok"], body["result"], body["stdout"]) == (True, 42, "linux\n"), body
            for name in ("CON", "a:b", "x."):
                words = file_path_problem(name)
                assert words is not None, name
                bad = http.put(f"/files/{quote(name)}", content=b"data")
                assert bad.status_code == 400, (name, bad.text)
                assert bad.json()["error"]["message"] == words, (name, bad.json())
            data = os.urandom(100_000)
            name = f"windows-gateway-{secrets.token_hex(4)}.bin"
            created = http.put(f"/files/{name}", content=data)
            assert created.status_code == 201, created.text
            assert created.json() == {"path": name, "size": len(data)}
            assert http.get(f"/files/{name}").content == data
            assert http.delete(f"/files/{name}").status_code == 204
    except BaseException:
        process.stop()
        print(process.stderr_text())
        raise
    # Stopped (the Windows process terminated): nothing of it runs, nothing listens.
    process.stop()
    assert process.returncode is not None
    left = [command for _, command in wine_session.programs() if "blender_http_gateway" in command]
    assert not left, left
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/health", timeout=5.0, trust_env=False)
