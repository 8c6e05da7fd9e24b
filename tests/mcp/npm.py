"""Command-line tools from npm (the MCP Inspector, Claude Code), each pinned and installed
once into a cache folder of its own, which parallel test runs share."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "blender-http-tests"


def install(folder_name: str, packages: list[str], command: str) -> Path | str:
    """The node_modules/.bin folder holding `command` after `npm install packages` into
    CACHE/folder_name, or why there is none."""
    folder = CACHE / folder_name
    bin_dir = folder / "node_modules" / ".bin"
    if (bin_dir / command).exists():
        return bin_dir
    if shutil.which("npm") is None:
        return "no npm on PATH (apt-get install npm)"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:  # parallel test runs install once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (bin_dir / command).exists():
            done = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(folder),
                                   *packages], capture_output=True, text=True, timeout=600)
            if done.returncode != 0:
                return f"npm install failed: {done.stderr[-2000:]}"
    return bin_dir
