"""The servers a benchmark measures, each a process of its own on a free port."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from blender_http.local.launcher import launch_script

XVFB = ["xvfb-run", "-a", "-s", "-screen 0 1280x720x24"]
FLOOR = "floor"
START_TIMEOUT_S = 120.0
# The pid serving each URL this run started, for CPU accounting.
PIDS: dict[str, int] = {}


def blender_command(mode: str, baseline: Path | None = None) -> list[str]:
    """How blender-http starts in mode (module, background or gui); the floor is its own
    script. baseline: a checkout of another version of the project to start instead."""
    if mode == FLOOR:
        return [sys.executable, "-m", "benchmarks.floor"]
    if mode == "module":
        return [sys.executable, "-m", "blender_http", "serve", "--port", "0"]
    script = baseline / "addon_http" / "launch.py" if baseline else launch_script()
    blender = ["blender", "--factory-startup", "--python", str(script)]
    if mode == "background":
        return [blender[0], "--background", *blender[1:]]
    return [*XVFB, *blender]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def server(mode: str, env: dict[str, str] | None = None, baseline: Path | None = None) -> Iterator[str]:
    """Start a target, yield its URL once /health answers, stop it by the pid we started."""
    folder = Path(tempfile.mkdtemp(prefix=f"bench-{mode}-"))
    ready = folder / "ready.json"
    command = blender_command(mode, baseline)
    if mode == FLOOR:
        command.append(str(ready))
    full_env = {**os.environ, "BLENDER_HTTP_PORT": "0", "BLENDER_HTTP_READY_FILE": str(ready),
                "BLENDER_HTTP_WORKDIR": str(folder / "work"), **(env or {})}
    if baseline is not None:
        full_env["PYTHONPATH"] = str(_baseline_packages(baseline, folder))
    proc = subprocess.Popen(command, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    url = None  # set once it answers; the floor has no /shutdown
    try:
        url = wait_ready(proc, ready)
        PIDS[url] = proc.pid
        yield url
    finally:
        stop(proc, None if mode == FLOOR else url)
        shutil.rmtree(folder, ignore_errors=True)


def wait_ready(proc: subprocess.Popen[bytes], ready: Path, timeout: float = START_TIMEOUT_S) -> str:
    """The URL from the ready file, once /health answers 200."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode} before it was ready")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{proc.args!r} not ready within {timeout:g} s")
        if ready.exists():
            try:
                url = str(json.loads(ready.read_text())["url"])
                if get(url, "/health")[0] == 200:
                    return url
            except (ValueError, KeyError, OSError, http.client.HTTPException):
                pass
        time.sleep(0.005)


def stop(proc: subprocess.Popen[bytes], url: str | None) -> None:
    """Ask blender-http to shut down; end the process group we started if it does not."""
    if url is not None and proc.poll() is None:
        with contextlib.suppress(OSError, http.client.HTTPException):
            post(url, "/shutdown", b"")
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def cpu_times(url: str) -> tuple[float, float] | None:
    """User and system CPU seconds so far of the process serving url (Linux), or None."""
    pid = PIDS.get(url)
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, TypeError):
        return None
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def cpu_seconds(url: str) -> float | None:
    """User + system CPU time so far of the process serving url (Linux), or None."""
    times = cpu_times(url)
    return None if times is None else sum(times)


def connection(url: str, timeout: float = 60.0) -> http.client.HTTPConnection:
    host, port = url.removeprefix("http://").split(":")
    return http.client.HTTPConnection(host, int(port), timeout=timeout)


def request(url: str, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """(status, headers by lower-case name, body) of one request on a connection of its own."""
    conn = connection(url)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def get(url: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    status, _, body = request(url, "GET", path, headers=headers)
    return status, body


def post(url: str, path: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    status, _, answer = request(url, "POST", path, body, {"Content-Type": "text/plain", **(headers or {})})
    return status, answer


def gateway_available() -> str | None:
    """Why the gateway cannot be measured here, or None."""
    try:
        import blender_http_gateway.cli  # noqa: F401
    except ImportError as exc:
        return f"the gateway is not installed ({exc})"
    return None


@contextlib.contextmanager
def gateway(backend: str, *args: str, env: dict[str, str] | None = None,
            python: str = sys.executable) -> Iterator[str]:
    """`blender-http gateway` in front of backend, on a free port (env: added to ours, e.g. a
    PYTHONPATH where an older gateway package comes first; python: the interpreter it runs
    on, which must have the gateway installed)."""
    port = free_port()
    with _proxy([python, "-m", "blender_http", "gateway", "--backend", backend,
                 "--port", str(port), *args], port, env) as url:
        yield url


@contextlib.contextmanager
def relay(backend: str) -> Iterator[str]:
    """benchmarks.relay_floor in front of backend, on a free port: the floor of a gateway."""
    port = free_port()
    with _proxy([sys.executable, "-m", "benchmarks.relay_floor", str(port), backend], port) as url:
        yield url


@contextlib.contextmanager
def _proxy(command: list[str], port: int, env: dict[str, str] | None = None) -> Iterator[str]:
    """command, which serves on port in front of a worker; its URL once /health answers
    through it, stopped by the pid started."""
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, env={**os.environ, **(env or {})},
                            cwd=Path(__file__).resolve().parent.parent)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{command[2]} exited with {proc.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{command[2]} not healthy in time")
            with contextlib.suppress(OSError, http.client.HTTPException):
                if get(url, "/health")[0] == 200:
                    break
            time.sleep(0.02)
        PIDS[url] = proc.pid
        yield url
    finally:
        stop(proc, None)


def _baseline_packages(checkout: Path, folder: Path) -> Path:
    """A folder whose blender_http and blender_http_addon are the checkout's: on
    PYTHONPATH they come before the installed (editable) project."""
    packages = folder / "packages"
    packages.mkdir()
    (packages / "blender_http").symlink_to(checkout / "client")
    (packages / "blender_http_addon").symlink_to(checkout / "addon_http")
    return packages
