"""A Blender of its own for `blender-http mcp --spawn`: started in the background while
the stdio server already answers, stopped (by its pid) when the server exits, and bound by
a lifeline (processes.py) to end with it whenever it exits, even while still starting.
Nothing of it stays in the temporary folder: the module-mode child's ready file, log and
temporary folder (temp.private_temp) live in a folder removed on exit, after the log's
tail went to stderr if it did not shut down cleanly (stderr is the MCP client's log, never
the wire)."""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from . import launcher, processes, temp

START_TIMEOUT_S = 180.0
LOG_TAIL_CHARS = 2000


@dataclasses.dataclass
class Spawned:
    url: str
    token: str
    record: dict[str, Any]


class Spawn:
    """One `--spawn`: start() (on a thread of its own: it takes seconds) and close() (on
    exit, whether start() got through, failed or still runs)."""

    def __init__(self, kind: str, blender: str | None = None) -> None:
        self.kind, self.blender = kind, blender
        # Made here, not in start(): close() removes it even while start() still runs. One
        # left by a `blender-http mcp` killed outright goes when the next one starts.
        self.folder = temp.own_folder("mcp") if kind == "module" else None
        self.spawned: Spawned | None = None

    def start(self) -> Spawned:
        """Start a module-mode (bpy in a child Python) or background Blender on a free
        port, with a fresh token; wait until it answers. Raises launcher.LaunchError."""
        token = secrets.token_urlsafe(24)
        env = {"BLENDER_HTTP_PORT": "0", "BLENDER_HTTP_TOKEN": token, "BLENDER_HTTP_HOST": "127.0.0.1"}
        if self.folder is None:
            launched = launcher.start(blender=launcher.find_blender(self.blender), background=True,
                                      env_overrides=env, factory_startup=True, timeout=START_TIMEOUT_S,
                                      token=token, lifeline=True, record=False)
            self.spawned = Spawned(launched.url, token, {**dataclasses.asdict(launched), "token": token})
        else:
            self.spawned = _module(self.folder, env, token)
        return self.spawned

    def close(self) -> None:
        """Stop the Blender if it runs, then remove the folder."""
        if self.spawned is not None:
            how = launcher.stop(self.spawned.record, timeout=10.0)
            if how != "shut down" and self.folder is not None:
                print(f"blender-http: the spawned Blender {how}; the end of its log:\n"
                      f"{_log_tail(self.folder)}", file=sys.stderr)
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


def _module(folder: Path, env: dict[str, str], token: str) -> Spawned:
    ready = folder / "ready.json"
    cmd = [sys.executable, "-m", "blender_http", "serve", "--no-record", "--ready-file", str(ready)]
    with open(folder / "blender.log", "wb") as out:  # never our stdout: that is the MCP wire
        proc = processes.start_child(cmd, env={**os.environ, **env, **temp.private_temp(folder / "tmp")},
                                     stdout=out)
    deadline = time.monotonic() + START_TIMEOUT_S
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            processes.release(proc.pid)
            raise launcher.LaunchError(f"the module-mode Blender did not start:\n{_log_tail(folder)}")
        time.sleep(0.05)
    info = json.loads(ready.read_text())
    record = {"pid": proc.pid, "port": int(info["port"]), "url": info["url"], "token": token}
    return Spawned(info["url"], token, record)


def _log_tail(folder: Path) -> str:
    try:
        return (folder / "blender.log").read_text(errors="replace")[-LOG_TAIL_CHARS:]
    except OSError:
        return "(no log)"
