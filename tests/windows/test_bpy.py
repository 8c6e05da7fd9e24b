"""The Windows bpy 4.2 wheel under Windows CPython 3.11: it imports, has the default scene,
runs an operator, and Cycles renders a 64x48 PNG (1 sample); and `blender-http serve` there,
a real Windows Blender (module mode), answers a Linux client: /exec, a job and its cancel,
/scene, /render, MCP. Then the Windows CLI stops it by its record in %LOCALAPPDATA% and
nothing of it is left running. One server for the module."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import secrets
import shutil
import struct
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path, PureWindowsPath
from typing import Any

import httpx
import pytest

from tests.windows import wine
from tests.windows.mcp_rpc import open_session, rpc

# The first test to run may set up Wine, the Pythons and their packages (minutes, on a fresh
# machine) before its own work.
pytestmark = [pytest.mark.timeout(1200), pytest.mark.blender]

INSIDE = Path(__file__).resolve().parent / "inside"
START_TIMEOUT = 180.0
WAIT_S = 30.0
# The Windows default state folder (%LOCALAPPDATA%\blender-http), not this run's.
WINDOWS_STATE = {"BLENDER_HTTP_STATE_DIR": "", "BLENDER_HTTP_URL": "", "BLENDER_HTTP_TOKEN": ""}


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", data[:16]
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_bpy_imports_and_cycles_renders(wine_session: wine.Session, tmp_path: Path) -> None:
    bpy = wine_session.bpy()
    out = tmp_path / "render.png"
    probe = [wine.windows_path(INSIDE / "bpy_probe.py"), wine.windows_path(out)]
    done = wine_session.run(wine.BPY_VERSION, probe, path=[bpy], timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["version"].startswith("4.2."), report
    assert report["objects"] == ["Camera", "Cube", "Light"]
    assert report["added"] == "Sphere"
    assert png_size(out.read_bytes()) == (64, 48)


def record_path(session: wine.Session, port: int) -> Path:
    """The record of the server on port in %LOCALAPPDATA%\\blender-http (C:\\users\\NAME\\AppData\\Local)."""
    (found,) = session.drive_c("C:\\users").glob(f"*/AppData/Local/blender-http/server-{port}.json")
    return found


# -- `blender-http serve` in a Windows Blender ---------------------------------------------------

@dataclasses.dataclass
class WindowsBlender:
    process: wine.Process
    url: str
    token: str
    ready: dict[str, Any]
    ready_file: Path

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=120.0, trust_env=False,
                            headers={"Authorization": f"Bearer {self.token}"})

    def log(self) -> str:
        return f"stdout:\n{self.process.stdout_text()}\nstderr:\n{self.process.stderr_text()}"


@pytest.fixture(scope="module")
def windows_blender(wine_session: wine.Session,
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[WindowsBlender]:
    folder = tmp_path_factory.mktemp("windows-blender")
    ready_file, token = folder / "ready.json", secrets.token_hex(16)
    args = ["-m", "blender_http", "serve", "--port", "0", "--token", token, "--log-level", "info",
            "--ready-file", wine.windows_path(ready_file), "--workdir", wine.windows_path(folder / "work")]
    process = wine_session.start(wine.BPY_VERSION, args, path=[wine_session.bpy()], env=WINDOWS_STATE)
    deadline = time.monotonic() + START_TIMEOUT
    while not ready_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.stop()
            pytest.fail(f"`serve` under Windows did not start: rc {process.returncode}\n"
                        f"{process.stdout_text()}\n{process.stderr_text()}", pytrace=False)
        time.sleep(0.1)
    ready = json.loads(ready_file.read_text())
    server = WindowsBlender(process, ready["url"], token, ready, ready_file)
    try:
        yield server
    finally:
        if process.poll() is None:  # test_stop_by_its_record did not run, or failed
            with server.client() as http, contextlib.suppress(httpx.HTTPError):
                http.post("/shutdown", timeout=10)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(30)
        process.stop()


def test_serve_exec_and_the_default_scene(windows_blender: WindowsBlender) -> None:
    assert windows_blender.ready["mode"] == "module" and windows_blender.url.startswith("http://127.0.0.1:")
    code = ("import bpy, sys\nprint('from', sys.platform)\n"
            "[bpy.app.version_string, sorted(o.name for o in bpy.data.objects), bpy.app.background]")
    with windows_blender.client() as http:
        health = http.get("/health").json()
        assert (health["status"], health["mode"]) == ("ok", "module"), health
        assert health["blender"].startswith("4.2."), health
        denied = http.post("/exec", json={"code": "1"}, headers={"Authorization": "Bearer wrong"})
        assert denied.status_code == 401, denied.text
        answer = http.post("/exec", json={"code": code})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["ok"] and body["stdout"] == "from win32\n", body
    version, names, background = body["result"]
    assert version.startswith(health["blender"]) and version.startswith("4.2."), body  # "4.2.23 LTS"
    assert (names, background) == (["Camera", "Cube", "Light"], True), body


def test_serve_cancels_a_job(windows_blender: WindowsBlender) -> None:
    with windows_blender.client() as http:
        submitted = http.post("/jobs", json={"code": "while True:\n    pass"})
        assert submitted.status_code == 202, submitted.text
        job_id = submitted.json()["id"]
        deadline = time.monotonic() + WAIT_S
        while (view := http.get(f"/jobs/{job_id}").json())["status"] != "running":
            assert time.monotonic() < deadline, view
            time.sleep(0.05)
        assert http.get("/health").json()["busy"] is True
        cancelled = http.delete(f"/jobs/{job_id}")
        assert cancelled.status_code == 200, cancelled.text
        view = cancelled.json()
        assert view["status"] == "cancelled" and view["envelope"]["error"]["type"] == "Cancelled", view
        assert http.post("/exec", json={"code": "'next'"}).json()["result"] == "next"


def test_serve_scene(windows_blender: WindowsBlender) -> None:
    with windows_blender.client() as http:
        answer = http.get("/scene")
    assert answer.status_code == 200, answer.text
    scene = answer.json()
    assert (scene["name"], scene["camera"], scene["total"]) == ("Scene", "Camera", 3), scene
    assert [(o["name"], o["type"]) for o in scene["objects"]] == [
        ("Camera", "CAMERA"), ("Cube", "MESH"), ("Light", "LIGHT")], scene
    assert "CYCLES" in scene["render"]["engines"], scene["render"]


def test_serve_renders_with_cycles(windows_blender: WindowsBlender) -> None:
    with windows_blender.client() as http:
        answer = http.post("/render", json={"engine": "CYCLES", "width": 64, "height": 48, "samples": 1})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "image/png" and answer.headers["X-Render-Engine"] == "CYCLES"
    assert png_size(answer.content) == (64, 48)


def test_serve_mcp(windows_blender: WindowsBlender) -> None:
    with windows_blender.client() as http:
        tools = open_session(http)
        assert {"exec_python", "get_scene", "render"} <= tools, tools
        called = rpc(http, "tools/call", {"name": "exec_python", "arguments": {
            "code": "import sys\nprint('hi')\n[sys.platform, bpy.app.version_string[:3]]"}}, 3)
        scene = rpc(http, "tools/call", {"name": "get_scene", "arguments": {"type": "MESH"}}, 4)
    assert called.get("isError") is False, called
    answer = json.loads(called["content"][0]["text"])
    assert (answer["result"], answer["stdout"]) == (["win32", "4.2"], "hi\n"), answer
    assert scene.get("isError") is False, scene
    listing = json.loads(scene["content"][0]["text"])
    assert [o["name"] for o in listing["objects"]] == ["Cube"] and listing["total"] == 1, listing


def test_stop_by_its_record(wine_session: wine.Session, windows_blender: WindowsBlender) -> None:
    """`serve` recorded itself in %LOCALAPPDATA%\\blender-http; the Windows CLI (another
    Python) finds it there by --url, asks it to shut down and waits for its process to end."""
    assert wine_session.prefix is not None
    port = int(windows_blender.url.rsplit(":", 1)[1])
    record_file = record_path(wine_session, port)
    record = json.loads(record_file.read_text())
    assert (record["url"], record["token"], record["by"], record["mode"]) == (
        windows_blender.url, windows_blender.token, "serve", "module"), record
    assert record["pid"] == windows_blender.ready["pid"], (record, windows_blender.ready)
    marker = wine.windows_path(windows_blender.ready_file)
    assert [p for p in wine_session.programs() if marker in p[1]], wine_session.programs()
    done = wine_session.run("3.13", ["-m", "blender_http", "stop", "--url", windows_blender.url],
                            env=WINDOWS_STATE, timeout=90)
    assert done.returncode == 0, (done, windows_blender.log())
    assert done.stdout == f"blender-http: {windows_blender.url} (pid {record['pid']}) shut down\n", done
    try:
        status = windows_blender.process.wait(30)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the Windows Blender still runs after `stop`:\n{windows_blender.log()}", pytrace=False)
    assert status == 0, windows_blender.log()
    assert "blender-http: stopped" in windows_blender.process.stderr_text(), windows_blender.log()
    assert not record_file.exists()
    assert not [p for p in wine_session.programs() if marker in p[1]], wine_session.programs()
    with pytest.raises(httpx.ConnectError):
        httpx.get(windows_blender.url + "/health", timeout=5, trust_env=False)


# -- `blender-http start` of a Windows Blender ---------------------------------------------------

BLENDER_EXE = "C:\\Program Files\\Blender Foundation\\Blender 4.2\\blender.exe"
# blender.exe as `start` runs it, with Blender as a module behind it (bpy.app.background is
# True there, as under --background): launch.py serves as it does in a Blender.
FAKE_BLENDER = """\
import runpy
import sys

args = sys.argv[1:]
if args == ["--version"]:
    print("Blender 4.2.23 LTS")
    sys.exit(0)
if "--background" not in args or "--python" not in args:
    print("this stand-in runs only --background ... --python SCRIPT", file=sys.stderr)
    sys.exit(2)
import bpy

runpy.run_path(args[args.index("--python") + 1], run_name="__main__")
"""


def test_start_status_exec_stop(wine_session: wine.Session) -> None:
    """`start --background` finds blender.exe in Program Files, launches it detached with its
    log in %LOCALAPPDATA%\\blender-http and records it; `status`, `exec` and `stop` then find
    it by that record alone (no --url, no --token). Blender here is a stand-in exe that runs
    the Windows bpy 4.2 behind launch.py."""
    wine_session.script_exe(BLENDER_EXE, FAKE_BLENDER, version=wine.BPY_VERSION)
    bpy = wine_session.bpy()
    env = {**WINDOWS_STATE, "BLENDER_PATH": ""}

    def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        # bpy's folder on the path of the CLI's Python, and so of the Blender it starts.
        return wine_session.run(wine.BPY_VERSION, ["-m", "blender_http", *args], path=[bpy], env=env,
                                timeout=timeout)

    token = secrets.token_hex(16)
    started = cli("start", "--background", "--port", "0", "--token", token, timeout=START_TIMEOUT)
    stopped: subprocess.CompletedProcess[str] | None = None
    try:
        assert started.returncode == 0, started
        url = started.stdout.strip()
        assert url.startswith("http://127.0.0.1:"), started
        record_file = record_path(wine_session, int(url.rsplit(":", 1)[1]))
        record = json.loads(record_file.read_text())
        assert (record["url"], record["token"], record["by"], record["mode"], record["blender"]) == (
            url, token, "start", "background", BLENDER_EXE), record
        assert started.stderr.strip().endswith(
            f"background Blender (pid {record['pid']}) listening on {url}"), started.stderr
        log = PureWindowsPath(record["log"])  # Blender's output, beside the record
        folder = PureWindowsPath("C:\\", *record_file.parent.relative_to(wine_session.drive_c("C:\\")).parts)
        assert (log.parent, log.name[:8]) == (folder, "blender-"), record
        assert (record_file.parent / log.name).exists(), record

        health = json.loads(cli("status", "--json").stdout)
        assert (health["mode"], health["blender"]) == ("background", "4.2.23"), health
        done = cli("exec", "-c", "import bpy\nsorted(o.name for o in bpy.data.objects)")
        assert (done.returncode, done.stdout) == (0, '["Camera", "Cube", "Light"]\n'), done
        with httpx.Client(base_url=url, trust_env=False) as http:  # the token is required
            assert http.post("/exec", json={"code": "1"}).status_code == 401

        def blender_programs() -> list[tuple[int, str]]:
            return [p for p in wine_session.programs() if "blender.exe" in p[1] or "launch.py" in p[1]]

        assert blender_programs(), wine_session.programs()  # blender.exe, and the Python it runs
        stopped = cli("stop", timeout=90)
        assert stopped.returncode == 0, stopped
        assert stopped.stdout == f"blender-http: {url} (pid {record['pid']}) shut down\n", stopped
        assert not record_file.exists()
        assert not list(record_file.parent.glob("blender-*.log"))  # a clean stop removes its log
        assert not blender_programs(), blender_programs()
    finally:
        if stopped is None:  # the test failed before `stop`: whatever `start` left, if anything
            cli("stop", "--all", timeout=90)
        shutil.rmtree(wine_session.drive_c("C:\\Program Files\\Blender Foundation"), ignore_errors=True)
