"""Starting a Blender executable with the server inside it, and stopping it again."""

from __future__ import annotations

import dataclasses
import http.client
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

from . import addon_bundle, discovery, processes, state


class LaunchError(Exception):
    """Blender could not be found, started, or did not answer /health in time."""


@dataclasses.dataclass
class Launched:
    pid: int
    port: int
    url: str
    mode: str
    blender: str
    log: str


def find_blender(explicit: str | None = None) -> str:
    """The Blender executable: the given path, $BLENDER_PATH, `blender` on PATH, then the
    usual install places (see discovery.py)."""
    if explicit and not discovery.is_executable(explicit):
        raise LaunchError(f"{explicit} is not an executable file")
    for path, _source in discovery.candidates(explicit):
        return path
    raise LaunchError("no Blender found: pass --blender PATH or set BLENDER_PATH")


XVFB_RUN = ["xvfb-run", "-a", "-s", "-screen 0 1920x1080x24"]


def display_problem(*, background: bool, xvfb: bool) -> str | None:
    """Why a Blender with a window cannot start here, or None. Linux/BSD only: elsewhere
    the desktop is always there."""
    if background or xvfb or sys.platform in ("darwin", "win32"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return ("no display to open Blender's window on ($DISPLAY and $WAYLAND_DISPLAY are unset): "
            "use `blender-http start --background` for a Blender without a window, or "
            "`blender-http start --xvfb` for one on a virtual display (needs xvfb-run)")


def under_xvfb_run() -> bool:
    """True when this runs inside `xvfb-run`, whose display goes away when we return."""
    return "xvfb-run." in os.environ.get("XAUTHORITY", "")


def launch_script() -> Path:
    """The script Blender runs with --python to bring the server up."""
    return addon_bundle.source_folder() / "launch.py"


def start(*, blender: str, background: bool, env_overrides: dict[str, str],
          blend_file: str | None = None, factory_startup: bool = False,
          timeout: float = 60.0, token: str | None = None, xvfb: bool = False,
          lifeline: bool = False, record: bool = True) -> Launched:
    """Launch Blender detached, wait until /health answers, and record it (with token,
    the one the server was given however it came) for stop() and other commands. lifeline:
    it stops when this process ends (processes.py), for a Blender of this process's own,
    which is then not recorded as one of the user's servers either (record=False)."""
    folder = state.state_dir()
    state.prune_logs()
    tag = uuid.uuid4().hex[:12]
    ready = folder / f".ready-{tag}.json"
    log = folder / f"blender-{tag}.log"
    cmd = [blender]
    if xvfb and not background:
        if shutil.which(XVFB_RUN[0]) is None:
            raise LaunchError("--xvfb needs xvfb-run (Debian/Ubuntu: apt-get install xvfb xauth)")
        # xvfb-run lives as long as Blender, and so does its display; the pid recorded is
        # xvfb-run's, which ends when Blender quits.
        cmd = [*XVFB_RUN, blender]
    if background:
        cmd.append("--background")
    if factory_startup:
        cmd.append("--factory-startup")
    if blend_file:
        cmd.append(blend_file)
    cmd += ["--python", str(launch_script())]
    env = {**os.environ, **env_overrides, "BLENDER_HTTP_READY_FILE": str(ready)}
    with open(log, "wb") as out:
        proc = processes.start_child(cmd, env=env, stdout=out, lifeline=lifeline)
    deadline = time.monotonic() + timeout  # for all of it: ready file, then /health
    try:
        info = _wait_ready(proc, ready, log, deadline, timeout)
        _wait_healthy(info["url"], proc, log, deadline)
    except BaseException:
        processes.kill(proc.pid)
        proc.wait()
        processes.release(proc.pid)
        raise
    launched = Launched(pid=proc.pid, port=int(info["port"]), url=info["url"], mode=info["mode"],
                        blender=blender, log=str(log))
    if record:
        state.save(launched.port, {**dataclasses.asdict(launched), "token": token, "by": "start"})
    return launched


def _wait_ready(proc: subprocess.Popen[bytes], ready: Path, log: Path, deadline: float,
                timeout: float) -> dict[str, str]:
    while time.monotonic() < deadline:
        if ready.exists():
            info: dict[str, str] = json.loads(ready.read_text())
            return info
        if proc.poll() is not None:
            raise LaunchError(f"Blender exited with status {proc.returncode} before the server "
                              f"started:\n{_tail(log)}{_display_hint(log)}")
        time.sleep(0.01)
    raise LaunchError(f"Blender did not start the server within {timeout:g} s:\n{_tail(log)}")


def _display_hint(log: Path) -> str:
    # Blender's own words when it has no display: "GHOST: ... Unable to open a display".
    if "unable to open a display" in _tail(log).lower():
        return ("\nBlender could not open a display: use --background for a Blender without "
                "a window, or --xvfb for one on a virtual display")
    return ""


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, deadline: float) -> None:
    while True:
        try:
            if _call("GET", url, "/health", {}, timeout=2.0) == 200:
                return
        except (OSError, http.client.HTTPException):
            pass
        if proc.poll() is not None:
            raise LaunchError(f"Blender exited with status {proc.returncode}:\n{_tail(log)}")
        if time.monotonic() > deadline:
            raise LaunchError(f"{url}/health did not answer in time:\n{_tail(log)}")
        time.sleep(0.01)


def _call(method: str, url: str, path: str, headers: dict[str, str], timeout: float) -> int:
    """The status of one request to a server we started. http.client, not httpx: it is
    ours to reach directly (never through a proxy from the environment), and `start`
    should not wait for a client library to import."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        conn.request(method, path, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def stop(record: dict[str, object], timeout: float = 30.0) -> str:
    """Ask the server to shut down (it finishes the running job; a Blender that `start`
    launched then quits, a GUI one too), then make sure the process is gone: SIGTERM, and
    SIGKILL (Windows: TerminateProcess) as the last resort. Returns how it ended."""
    pid, port = int(record["pid"]), int(record["port"])  # type: ignore[call-overload]
    if not alive(pid):
        state.remove(port)
        return "was already gone (its record is removed)"
    how = "shut down"
    try:
        _call("POST", str(record["url"]), "/shutdown", _auth(record.get("token")), timeout=5.0)
    except (OSError, http.client.HTTPException):
        how = "terminated"
    if not _wait_gone(pid, timeout):
        how = "terminated"
        processes.terminate(pid)
        if not _wait_gone(pid, 5.0):
            how = "killed"
            processes.kill(pid)
            _wait_gone(pid, 5.0)
    processes.release(pid)
    state.remove(port)
    if how == "shut down":
        state.remove_log(record)  # else kept, to read why it did not stop (see prune_logs)
    return how


def stop_url(url: str, token: str | None, timeout: float = 30.0) -> str:
    """Shut down a server no record names (a Blender the user opened, its add-on started
    from the panel): its process is not ours to end. Returns what became of it."""
    try:
        mode = _health_mode(url)
        status = _call("POST", url, "/shutdown", _auth(token), timeout=5.0)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise LaunchError(f"cannot reach {url}: {exc}") from exc
    if status != 202:
        raise LaunchError(f"{url}/shutdown answered {status}"
                          + (" (give the token with --token or BLENDER_HTTP_TOKEN)" if status == 401 else ""))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _call("GET", url, "/health", {}, timeout=2.0)
        except (OSError, http.client.HTTPException):
            break
        time.sleep(0.05)
    if mode == "gui":
        return "server stopped; Blender keeps running (it was not launched by `blender-http start`)"
    return "shut down (the process exits)"


def _health_mode(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=5.0)
    try:
        conn.request("GET", "/health")
        return str(json.loads(conn.getresponse().read()).get("mode", ""))
    finally:
        conn.close()


def _auth(token: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


alive = processes.alive


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
