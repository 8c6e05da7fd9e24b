"""The MCP Inspector CLI from npm, with a Node of its own (it needs Node >= 22; the `node`
package on npm brings one), installed once, pinned, into a cache folder."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

NODE = "node@22.23.3"
INSPECTOR = "@modelcontextprotocol/inspector@2.12.0"
FOLDER = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "blender-http-tests" / \
    "inspector-2.12.0-node-22.23.3"


def install() -> Path | str:
    """The folder with node_modules/.bin holding node and mcp-inspector, or why not."""
    bin_dir = FOLDER / "node_modules" / ".bin"
    if (bin_dir / "mcp-inspector").exists() and (bin_dir / "node").exists():
        return bin_dir
    if shutil.which("npm") is None:
        return "no npm on PATH (apt-get install npm)"
    FOLDER.mkdir(parents=True, exist_ok=True)
    with open(FOLDER / ".lock", "w") as lock:  # parallel test runs install once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (bin_dir / "mcp-inspector").exists():
            done = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(FOLDER),
                                   NODE, INSPECTOR], capture_output=True, text=True, timeout=600)
            if done.returncode != 0:
                return f"npm install failed: {done.stderr[-2000:]}"
    return bin_dir


def run(bin_dir: Path, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    """mcp-inspector --cli with args, on the pinned Node."""
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
           "MCP_CATALOG_PATH": str(FOLDER / "catalog.json")}
    return subprocess.run([str(bin_dir / "mcp-inspector"), "--cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)
