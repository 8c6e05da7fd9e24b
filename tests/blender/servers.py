"""Real Blender servers for the tests, one per mode, on free ports."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from blender_http.local.launcher import launch_script

MODES = ("module", "background", "gui")
START_TIMEOUT = 120.0


@dataclasses.dataclass
class Running:
    mode: str
    url: str
    proc: subprocess.Popen[bytes]
    log: Path
    token: str | None = None

    def client(self, timeout: float = 60.0, **kwargs: object) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout, **kwargs)  # type: ignore[arg-type]

    def stop(self) -> int | None:
        """Stop the process this test started (its own process group), return its status."""
        if self.proc.poll() is None:
            try:
                with self.client() as client:
                    client.post("/shutdown", timeout=5.0)
            except httpx.HTTPError:
                pass
            try:
                return self.proc.wait(15 if self.mode != "gui" else 2)
            except subprocess.TimeoutExpired:
                # A GUI Blender keeps running after /shutdown; end the group we started.
                os.killpg(self.proc.pid, signal.SIGTERM)
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait()
        return self.proc.returncode

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def availability(mode: str) -> str | None:
    """Why mode cannot run here, or None."""
    if mode == "module":
        try:
            import bpy  # noqa: F401
        except ImportError:
            return "the bpy module is not installed (pip install -e '.[dev]')"
        return None
    if shutil.which("blender") is None:
        return "no `blender` on PATH (apt-get install blender)"
    if mode == "gui" and shutil.which("xvfb-run") is None:
        return "no xvfb-run (apt-get install xvfb xauth)"
    return None


def command(mode: str, ready: Path) -> list[str]:
    if mode == "module":
        return [sys.executable, "-m", "blender_http", "serve", "--port", "0", "--ready-file", str(ready)]
    blender = ["blender", "--factory-startup"]
    if mode == "background":
        return [*blender[:1], "--background", *blender[1:], "--python", str(launch_script())]
    return ["xvfb-run", "-a", "-s", "-screen 0 1280x720x24", *blender, "--python", str(launch_script())]


def start(mode: str, folder: Path, *, env: dict[str, str] | None = None,
          cmd: list[str] | None = None) -> Running:
    """Start a server in mode (by cmd if given) and wait until /health answers."""
    folder.mkdir(parents=True, exist_ok=True)
    ready = folder / f"ready-{mode}.json"
    log = folder / f"{mode}.log"
    full_env = {**os.environ, "BLENDER_HTTP_PORT": "0", "BLENDER_HTTP_READY_FILE": str(ready),
                **(env or {})}
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd or command(mode, ready), stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, env=full_env, start_new_session=True)
    deadline = time.monotonic() + START_TIMEOUT
    running = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{mode} server exited with {proc.returncode}:\n{log.read_text()}")
        if ready.exists():
            url = json.loads(ready.read_text())["url"]
            running = Running(mode=mode, url=url, proc=proc, log=log,
                              token=full_env.get("BLENDER_HTTP_TOKEN"))
            try:
                if httpx.get(url + "/health", timeout=2.0).status_code == 200:
                    return running
            except httpx.HTTPError:
                pass
        time.sleep(0.05)
    (running or Running(mode, "", proc, log)).stop()
    raise RuntimeError(f"{mode} server did not become healthy:\n{log.read_text()}")
