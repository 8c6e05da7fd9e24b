"""The MCP Inspector CLI from npm, with a Node of its own (it needs Node >= 22; the `node`
package on npm brings one), installed once, pinned, into a cache folder."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.mcp import npm

NODE = "node@22.23.3"
INSPECTOR = "@modelcontextprotocol/inspector@2.12.0"
FOLDER = npm.CACHE / "inspector-2.12.0-node-22.23.3"


def install() -> Path | str:
    """The folder with node_modules/.bin holding node and mcp-inspector, or why not."""
    found = npm.install(FOLDER.name, [NODE, INSPECTOR], "mcp-inspector")
    if isinstance(found, Path) and not (found / "node").exists():
        return f"npm installed no node into {found}"
    return found


def run(bin_dir: Path, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    """mcp-inspector --cli with args, on the pinned Node."""
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
           "MCP_CATALOG_PATH": str(FOLDER / "catalog.json")}
    return subprocess.run([str(bin_dir / "mcp-inspector"), "--cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def call(bin_dir: Path, url: str, token: str, *args: str) -> dict:
    """The JSON that `mcp-inspector --cli` prints for one request to the MCP endpoint at url
    (streamable HTTP, the token as bearer); a failed run fails the test with its output."""
    done = run(bin_dir, url, "--transport", "http", "--header", f"Authorization: Bearer {token}", *args)
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    return dict(json.loads(done.stdout))
