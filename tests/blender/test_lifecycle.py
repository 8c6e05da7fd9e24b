"""Starting, stopping and refusing to start: each test runs a Blender of its own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from blender_http.local import launcher
from tests.blender import servers
from tests.conftest import missing

HEADLESS = ("module", "background")


def _own_server(mode: str, tmp_path: Path, **env: str) -> servers.Running:
    reason = servers.availability(mode)
    if reason:
        missing(reason)
    return servers.start(mode, tmp_path, env=env)


@pytest.fixture
def own(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[servers.Running]:
    running = _own_server(request.param, tmp_path)
    yield running
    running.stop()


@pytest.mark.parametrize("own", HEADLESS, indirect=True)
def test_shutdown_finishes_the_running_job_and_exits_0(own: servers.Running) -> None:
    answers: dict[str, httpx.Response] = {}

    def call(name: str, code: str) -> None:
        with own.client() as c:
            answers[name] = c.post("/exec", content=code.encode())

    running = threading.Thread(target=call, args=("running", "import time\ntime.sleep(1.5)\n'done'"))
    running.start()
    with own.client() as c:
        _wait_busy(c)
        queued = threading.Thread(target=call, args=("queued", "'never'"))
        queued.start()
        _wait_queued(c)
        assert c.post("/shutdown").status_code == 202
        refused = c.post("/exec", content=b"1")
        assert refused.status_code == 503
    running.join(30)
    queued.join(30)
    assert answers["running"].status_code == 200
    assert answers["running"].json()["result"] == "done"
    assert answers["queued"].status_code == 503
    assert answers["queued"].json()["error"]["type"] == "Unavailable"
    assert own.proc.wait(30) == 0


@pytest.mark.parametrize("own", HEADLESS, indirect=True)
def test_sigterm_is_graceful(own: servers.Running) -> None:
    answers: dict[str, httpx.Response] = {}

    def call() -> None:
        with own.client() as c:
            answers["running"] = c.post("/exec", content=b"import time\ntime.sleep(1.0)\n'done'")

    worker = threading.Thread(target=call)
    worker.start()
    with own.client() as c:
        _wait_busy(c)
    own.proc.send_signal(signal.SIGTERM)
    worker.join(30)
    assert answers["running"].json()["result"] == "done"
    assert own.proc.wait(30) == 0


@pytest.mark.parametrize("mode", HEADLESS)
def test_token_protects_everything_but_health(mode: str, tmp_path: Path) -> None:
    running = _own_server(mode, tmp_path, BLENDER_HTTP_TOKEN="s3cret-token")
    try:
        with httpx.Client(base_url=running.url) as anonymous:
            assert anonymous.get("/health").status_code == 200
            refused = anonymous.post("/exec", content=b"1")
            assert refused.status_code == 401
            assert refused.json()["error"]["type"] == "Unauthorized"
            wrong = anonymous.post("/exec", content=b"1", headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
        with running.client() as authorised:
            assert authorised.post("/exec", content=b"len(D.objects)").json()["result"] == 3
    finally:
        running.stop()
    assert "s3cret-token" not in running.log_text()


def test_non_loopback_bind_without_token_refuses_to_start(tmp_path: Path) -> None:
    for mode in HEADLESS:
        reason = servers.availability(mode)
        if reason:
            missing(reason)
        ready = tmp_path / f"{mode}.json"
        env = {**os.environ, "BLENDER_HTTP_HOST": "0.0.0.0", "BLENDER_HTTP_PORT": "0"}
        env.pop("BLENDER_HTTP_TOKEN", None)
        done = subprocess.run(servers.command(mode, ready), env=env, capture_output=True, timeout=120)
        output = (done.stdout + done.stderr).decode(errors="replace")
        assert done.returncode == 2, output
        assert "without a token" in output
        assert not ready.exists()


def test_cli_start_background_and_stop(tmp_path: Path) -> None:
    reason = servers.availability("background")
    if reason:
        missing(reason)
    env = {**os.environ, "BLENDER_HTTP_STATE_DIR": str(tmp_path / "state")}
    cli = [sys.executable, "-m", "blender_http"]
    started = subprocess.run([*cli, "start", "--background", "--factory-startup", "--port", "0"],
                             env=env, capture_output=True, text=True, timeout=180)
    assert started.returncode == 0, started.stderr
    url = started.stdout.strip().splitlines()[-1]
    records = [json.loads(p.read_text()) for p in (tmp_path / "state").glob("server-*.json")]
    assert len(records) == 1 and records[0]["url"] == url
    pid = records[0]["pid"]
    try:
        body = httpx.post(url + "/exec", content=b"import bpy; len(bpy.data.objects)").json()
        assert body["result"] == 3
        assert httpx.get(url + "/health").json()["mode"] == "background"
        stopped = subprocess.run([*cli, "stop"], env=env, capture_output=True, text=True, timeout=60)
        assert stopped.returncode == 0, stopped.stderr
        assert "shut down" in stopped.stdout
        assert not launcher.alive(pid)
        assert not list((tmp_path / "state").glob("server-*.json"))
        assert not list((tmp_path / "state").glob("*.log"))  # removed with its server
    finally:
        if launcher.alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_cli_start_records_a_token_read_from_a_file(tmp_path: Path) -> None:
    """A token from BLENDER_HTTP_TOKEN_FILE (a container secret) is recorded like one given
    directly, so status and a graceful stop can authenticate."""
    reason = servers.availability("background")
    if reason:
        missing(reason)
    (tmp_path / "token").write_text("from-the-file\n")
    env = {**os.environ, "BLENDER_HTTP_STATE_DIR": str(tmp_path / "state"),
           "BLENDER_HTTP_TOKEN_FILE": str(tmp_path / "token")}
    env.pop("BLENDER_HTTP_TOKEN", None)
    cli = [sys.executable, "-m", "blender_http"]
    started = subprocess.run([*cli, "start", "--background", "--factory-startup", "--port", "0"],
                             env=env, capture_output=True, text=True, timeout=180)
    assert started.returncode == 0, started.stderr
    url = started.stdout.strip().splitlines()[-1]
    pid = json.loads(next((tmp_path / "state").glob("server-*.json")).read_text())["pid"]
    try:
        assert httpx.post(url + "/exec", content=b"1").status_code == 401
        headers = {"Authorization": "Bearer from-the-file"}
        assert httpx.post(url + "/exec", content=b"1", headers=headers).json()["result"] == 1
        status = subprocess.run([*cli, "status"], env=env, capture_output=True, text=True, timeout=60)
        assert status.returncode == 0, status.stderr
        stopped = subprocess.run([*cli, "stop"], env=env, capture_output=True, text=True, timeout=60)
        assert stopped.returncode == 0, stopped.stderr
        assert "shut down" in stopped.stdout  # through /shutdown, not a signal
        assert not launcher.alive(pid)
    finally:
        if launcher.alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_cli_stop_without_a_server_exits_3(tmp_path: Path) -> None:
    env = {**os.environ, "BLENDER_HTTP_STATE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "blender_http", "stop"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 3
    assert "no server" in done.stderr


def test_gui_addon_is_enabled_and_unregister_stops_the_server(tmp_path: Path) -> None:
    running = _own_server("gui", tmp_path)
    try:
        with running.client() as c:
            probe = (
                "import addon_utils\n"
                "(bpy.app.background, 'blender_http_addon' in C.preferences.addons,\n"
                " hasattr(bpy.types, 'BLENDER_HTTP_PT_panel'), bpy.ops.blender_http.stop.poll(),\n"
                " C.window is not None)"
            )
            assert c.post("/exec", content=probe.encode()).json()["result"] == [False, True, True, True, True]
            job = c.post("/jobs", json={"code": "import addon_utils\n"
                                                "addon_utils.disable('blender_http_addon')"})
            assert job.status_code == 202
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(running.url + "/health", timeout=1.0)
            except httpx.TransportError:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the server still answers after the add-on was disabled")
        assert running.proc.poll() is None  # Blender itself keeps running
    finally:
        running.stop()


def _wait_busy(client: httpx.Client) -> None:
    deadline = time.monotonic() + 30
    while not client.get("/health").json()["busy"]:
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.01)


def _wait_queued(client: httpx.Client) -> None:
    deadline = time.monotonic() + 30
    while client.get("/health").json()["queued"] < 1:
        assert time.monotonic() < deadline, "the job was never queued"
        time.sleep(0.01)


def test_gui_pump_keeps_the_loop_awake_only_while_jobs_come(tmp_path: Path) -> None:
    running = _own_server("gui", tmp_path)
    state = "import blender_http_addon.gui as gui\ngui._running[1].awake"
    try:
        with running.client() as c:
            c.post("/exec", content=b"1")
            assert c.post("/exec", content=state.encode()).json()["result"] is True
            # Past the linger time the loop may sleep again. Each look is itself a job (and
            # wakes the loop after it), so looks are spaced well past the linger time; a
            # busy machine may need a few before the pump's timer gets its turn.
            for _ in range(20):
                time.sleep(1.0)
                if c.post("/exec", content=state.encode()).json()["result"] is False:
                    break
            else:
                pytest.fail("the pump kept the event loop awake with no jobs coming")
            # Loading a file replaces windows: the pump lets go of its timer and keeps serving.
            assert c.post("/exec", content=b"bpy.ops.wm.read_homefile()").json()["ok"]
            assert c.post("/exec", content=b"len(D.objects)").json()["result"] == 3
            assert c.post("/exec", content=state.encode()).json()["result"] is True
    finally:
        running.stop()
