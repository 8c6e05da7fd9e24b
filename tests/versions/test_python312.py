"""Python 3.12, which has no bpy wheel: the client, the CLI and the gateway install
(`.[gateway]`) and work there against a real module-mode server started from this Python,
while `.[bpy]` and `blender-http serve` say what to do instead. The gateway runs there on
the oldest uvicorn it supports."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from packaging.version import Version

from blender_http.local.embedded import bpy_missing_message
from tests.blender import servers
from tests.conftest import missing
from tests.gateway import gateways
from tests.versions.matrix import CLIENT_ONLY_PYTHON, CLIENT_VENV, OLDEST_UVICORN, ROOT

pytestmark = [pytest.mark.blender, pytest.mark.timeout(300)]
TOKEN = "python-312-token"
API_KEY = "python-312-gateway-key"  # 16 characters at least, as the gateway requires
ADVICE = ("use Python 3.11 or 3.13", "blender-http start --background")
PYTHON = CLIENT_VENV / "bin" / "python"

CLIENT_SCRIPT = """
import sys
from blender_http import Blender, ExecError
url, token = sys.argv[1:3]
assert sys.version_info[:2] == (3, 12), sys.version
with Blender(url, token=token) as blender:
    assert blender.exec("print('hi')\\nlen(D.objects)").result == 3
    try:
        blender.exec("D.objects['nope']")
    except ExecError as exc:
        assert exc.type == "KeyError"
    assert blender.scene()["objects"][1]["name"] == "Cube"
    job = blender.submit("6 * 7")
    assert job.result().result == 42
    print("CLIENT OK", blender.exec("bpy.app.version_string").result)
"""


def python312(*args: str, env: dict[str, str] | None = None,
              timeout: float = 120) -> subprocess.CompletedProcess[str]:
    if not PYTHON.exists():
        missing(f"no Python {CLIENT_ONLY_PYTHON} virtualenv at {CLIENT_VENV}: "
                "run .venv/bin/python -m tests.versions.matrix")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BLENDER_HTTP_")}
    return subprocess.run([str(PYTHON), *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, env={**clean, **(env or {})}, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Running]:
    reason = servers.availability("module")
    if reason:
        missing(reason)
    running = servers.start("module", tmp_path_factory.mktemp("py312-server"),
                            env={"BLENDER_HTTP_TOKEN": TOKEN})
    yield running
    running.stop()


def test_the_client_works_on_python_312(server: servers.Running) -> None:
    done = python312("-c", CLIENT_SCRIPT, server.url, TOKEN)
    assert done.returncode == 0, done.stderr
    assert "CLIENT OK 5." in done.stdout


def test_the_cli_works_on_python_312(server: servers.Running) -> None:
    done = python312("-m", "blender_http", "exec", "--url", server.url, "-c", "6 * 7",
                     env={"BLENDER_HTTP_TOKEN": TOKEN})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("42")


def test_the_gateway_runs_on_python_312(server: servers.Running, tmp_path: Path) -> None:
    if not PYTHON.exists():
        python312()  # fails with the reason
    uvicorn = python312("-c", "import uvicorn; print(uvicorn.__version__)")
    assert Version(uvicorn.stdout.strip()) == Version(OLDEST_UVICORN), uvicorn
    running = gateways.start(tmp_path, "--backend", server.url, key=API_KEY,
                             env={"BLENDER_HTTP_TOKEN": TOKEN},
                             command=(str(PYTHON), "-m", "blender_http", "gateway"), cwd=ROOT)
    try:
        url = running.url
        headers = {"Authorization": f"Bearer {API_KEY}"}
        body = httpx.post(url + "/exec", json={"code": "len(D.objects)"}, headers=headers, timeout=60).json()
        assert body["result"] == 3
        assert httpx.post(url + "/exec", json={"code": "1"}, timeout=60).status_code == 401
        done = python312("-c", CLIENT_SCRIPT, url, API_KEY)  # the 3.12 client through the 3.12 gateway
        assert done.returncode == 0, done.stderr
        assert "CLIENT OK 5." in done.stdout
        # A body too large for the gateway's hot path goes through uvicorn's request cycle.
        big = httpx.post(url + "/exec", json={"code": "len(args['s'])", "args": {"s": "x" * 200_000}},
                         headers=headers, timeout=60).json()
        assert big["result"] == 200_000
    finally:
        running.stop()


def test_serve_without_bpy_says_what_to_do() -> None:
    done = python312("-m", "blender_http", "serve", "--port", "0")
    assert done.returncode != 0
    assert "no bpy wheel for Python 3.12" in done.stderr
    assert all(advice in done.stderr for advice in ADVICE), done.stderr


def test_the_bpy_extra_fails_with_the_advice() -> None:
    done = python312("-m", "pip", "install", "--dry-run", f"{ROOT}[bpy]", timeout=300)
    assert done.returncode != 0
    said = done.stdout + done.stderr
    assert "bpy has no wheel for this Python: use Python 3.11 or 3.13, or blender-http start " \
           "--background with a Blender" in said, said


def test_the_message_names_the_pythons_with_bpy_wheels() -> None:
    assert all(advice in bpy_missing_message((3, 12)) for advice in ADVICE)
    on_311 = bpy_missing_message((3, 11))
    assert "pip install 'blender-http[bpy]'" in on_311 and "blender-http start --background" in on_311
