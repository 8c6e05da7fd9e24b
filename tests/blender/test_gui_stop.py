"""`blender-http start` and `stop` with a desktop Blender: the one `start` launched quits on
`stop` (through /shutdown, no signal); one whose server the user started keeps running with
its server stopped; a recorded Blender that is already gone is reported as such."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from blender_http.local import launcher
from tests.blender import servers
from tests.conftest import missing

pytestmark = [pytest.mark.blender, pytest.mark.timeout(300)]

CLI = [sys.executable, "-m", "blender_http"]


@pytest.fixture
def display() -> Iterator[str]:
    """A virtual display of this test's own, alive until the test ends (xvfb-run's would be
    torn down as soon as `start` returns)."""
    reason = servers.availability("gui")
    if reason:
        missing(reason)
    read, write = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x720x24",
                             "-nolisten", "tcp"], pass_fds=(write,), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    yield f":{number}"
    xvfb.terminate()
    xvfb.wait()


@pytest.fixture
def env(tmp_path: Path, display: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLENDER_HTTP_")}
    return {**env, "DISPLAY": display, "BLENDER_HTTP_STATE_DIR": str(tmp_path / "state")}


def _start_gui(env: dict[str, str]) -> tuple[str, int]:
    started = subprocess.run([*CLI, "start", "--factory-startup", "--port", "0"], env=env,
                             capture_output=True, text=True, timeout=180)
    assert started.returncode == 0, started.stderr
    url = started.stdout.strip().splitlines()[-1]
    [record] = [json.loads(p.read_text()) for p in Path(env["BLENDER_HTTP_STATE_DIR"]).glob("server-*.json")]
    return url, int(record["pid"])


def test_stop_quits_a_gui_blender_that_start_launched(env: dict[str, str]) -> None:
    url, pid = _start_gui(env)
    try:
        assert httpx.get(url + "/health").json()["mode"] == "gui"
        stopped = subprocess.run([*CLI, "stop", "--timeout", "25"], env=env, capture_output=True,
                                 text=True, timeout=60)
        assert stopped.returncode == 0, stopped.stderr
        assert "shut down" in stopped.stdout, stopped.stdout  # it quit; no SIGTERM was needed
        assert not launcher.alive(pid)
    finally:
        if launcher.alive(pid):
            os.killpg(pid, signal.SIGKILL)


def test_a_server_the_user_started_stops_and_blender_keeps_running(env: dict[str, str],
                                                                   tmp_path: Path) -> None:
    url, pid = _start_gui(env)
    new_url = tmp_path / "url"
    try:
        # What the panel's Stop and Start do: the new server is the user's, not `start`'s.
        code = ("from blender_http_addon import gui\ngui.stop_server()\n"
                "s = gui.start_server(gui.config_from_preferences())\n"
                f"open({str(new_url)!r}, 'w').write(s.url)")
        assert httpx.post(url + "/jobs", json={"code": code}).status_code == 202
        deadline = time.monotonic() + 60
        while not (new_url.exists() and new_url.read_text()):
            assert time.monotonic() < deadline, "the server was not restarted"
            time.sleep(0.05)
        user_url = new_url.read_text()
        drawn = tmp_path / "drawn"
        assert httpx.post(user_url + "/exec", json={"code": SIDEBAR_LOG, "args": {"log": str(drawn)}},
                          timeout=60).json()["result"] == "watching"
        _wait_for_line(drawn, "running")
        stopped = subprocess.run([*CLI, "stop", "--url", user_url], env=env, capture_output=True,
                                 text=True, timeout=60)
        assert stopped.returncode == 0, stopped.stderr
        assert "Blender keeps running" in stopped.stdout
        with pytest.raises(httpx.TransportError):
            httpx.get(user_url + "/health", timeout=2.0)
        assert launcher.alive(pid)
        # The sidebar was redrawn by the stop itself (nothing else moves under Xvfb), and what
        # it drew then says Stopped: no stale "Stop Server" until the mouse passes over it.
        _wait_for_line(drawn, "stopped")
    finally:
        os.killpg(pid, signal.SIGKILL)


# Logs what the 3D view's sidebar (the panel's region) would show each time it is drawn.
SIDEBAR_LOG = """
from blender_http_addon import gui

def drawn():
    with open(args['log'], 'a') as log:
        log.write(('stopped' if gui.current() is None else 'running') + '\\n')

bpy.types.SpaceView3D.draw_handler_add(drawn, (), 'UI', 'POST_PIXEL')
for area in bpy.context.window.screen.areas:
    if area.type == 'VIEW_3D':
        area.spaces.active.show_region_ui = True
        area.tag_redraw()
'watching'
"""


def _wait_for_line(path: Path, line: str) -> None:
    deadline = time.monotonic() + 30
    while not (path.exists() and line in path.read_text().split()):
        assert time.monotonic() < deadline, f"the sidebar was never drawn {line}"
        time.sleep(0.05)


def test_stop_of_a_recorded_server_whose_process_is_gone(env: dict[str, str]) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    folder = Path(env["BLENDER_HTTP_STATE_DIR"])
    folder.mkdir(parents=True)
    (folder / "server-9.json").write_text(json.dumps(
        {"pid": gone.pid, "port": 9, "url": "http://127.0.0.1:9", "by": "start"}))
    stopped = subprocess.run([*CLI, "stop"], env=env, capture_output=True, text=True, timeout=60)
    assert stopped.returncode == 0, stopped.stderr
    assert "already gone" in stopped.stdout
    assert not list(folder.glob("server-*.json"))


def test_a_gui_start_returns_once_a_job_would_run_at_once(env: dict[str, str]) -> None:
    """Ready means the event loop runs the pump: the first job does not wait for Blender to
    finish starting (it waited 1.6-1.9 s when /health alone said ready). The 1 s bound is
    the issue's robustness promise, generous against the few ms a job waits normally."""
    url, pid = _start_gui(env)
    try:
        job = httpx.post(url + "/jobs", json={"code": "1"}).json()
        view = httpx.get(f"{url}/jobs/{job['id']}", params={"wait": 60}, timeout=70).json()
        assert view["status"] == "succeeded"
        assert view["started_at"] - view["created_at"] < 1.0, view
    finally:
        os.killpg(pid, signal.SIGKILL)


def _no_display(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY")}


def test_start_without_a_display_says_what_to_do(tmp_path: Path) -> None:
    env = _no_display({**os.environ, "BLENDER_HTTP_STATE_DIR": str(tmp_path)})
    done = subprocess.run([*CLI, "start", "--port", "0"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 3
    assert "no display" in done.stderr and "--background" in done.stderr and "--xvfb" in done.stderr


def test_start_under_xvfb_run_is_warned_about(env: dict[str, str]) -> None:
    env = {**env, "XAUTHORITY": "/tmp/xvfb-run.AbC123/Xauthority"}  # what xvfb-run sets
    done = subprocess.run([*CLI, "start", "--blender", "/no/such/blender"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert "xvfb-run ends its display" in done.stderr and "--xvfb" in done.stderr


def test_start_xvfb_keeps_a_display_for_the_blender_it_launches(env: dict[str, str]) -> None:
    env = _no_display(env)
    started = subprocess.run([*CLI, "start", "--xvfb", "--factory-startup", "--port", "0"], env=env,
                             capture_output=True, text=True, timeout=180)
    assert started.returncode == 0, started.stderr
    url = started.stdout.strip().splitlines()[-1]
    [record] = [json.loads(p.read_text()) for p in Path(env["BLENDER_HTTP_STATE_DIR"]).glob("server-*.json")]
    try:
        assert httpx.post(url + "/exec", content=b"C.window is not None").json()["result"] is True
        stopped = subprocess.run([*CLI, "stop"], env=env, capture_output=True, text=True, timeout=60)
        assert "shut down" in stopped.stdout, stopped.stderr
        assert not launcher.alive(record["pid"])
    finally:
        if launcher.alive(record["pid"]):
            os.killpg(record["pid"], signal.SIGKILL)
