"""A Blender of its own for `blender-http mcp --spawn`: started in the background while
the stdio server already answers, stopped (by its pid) when the server exits, and bound by
a lifeline (processes.py) to end with it whenever it exits, even while still starting."""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import launcher, processes

START_TIMEOUT_S = 180.0


@dataclasses.dataclass
class Spawned:
    url: str
    token: str
    record: dict[str, Any]

    def stop(self) -> None:
        launcher.stop(self.record, timeout=10.0)


def spawn(kind: str, blender: str | None = None) -> Spawned:
    """Start a module-mode (bpy in a child Python) or background Blender on a free port,
    with a fresh token; wait until it answers. Raises launcher.LaunchError."""
    token = secrets.token_urlsafe(24)
    env = {"BLENDER_HTTP_PORT": "0", "BLENDER_HTTP_TOKEN": token, "BLENDER_HTTP_HOST": "127.0.0.1"}
    if kind == "background":
        launched = launcher.start(blender=launcher.find_blender(blender), background=True,
                                  env_overrides=env, factory_startup=True, timeout=START_TIMEOUT_S,
                                  token=token, lifeline=True, record=False)
        record = {**dataclasses.asdict(launched), "token": token}
        return Spawned(launched.url, token, record)
    return _module(env, token)


def _module(env: dict[str, str], token: str) -> Spawned:
    folder = Path(tempfile.mkdtemp(prefix="blender-http-mcp-"))
    ready, log = folder / "ready.json", folder / "blender.log"
    cmd = [sys.executable, "-m", "blender_http", "serve", "--no-record", "--ready-file", str(ready)]
    with open(log, "wb") as out:  # never our stdout: that is the MCP wire
        proc = processes.start_child(cmd, env={**os.environ, **env}, stdout=out)
    deadline = time.monotonic() + START_TIMEOUT_S
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            processes.release(proc.pid)
            tail = log.read_text(errors="replace")[-2000:]
            raise launcher.LaunchError(f"the module-mode Blender did not start:\n{tail}")
        time.sleep(0.05)
    info = json.loads(ready.read_text())
    record = {"pid": proc.pid, "port": int(info["port"]), "url": info["url"], "token": token}
    return Spawned(info["url"], token, record)
