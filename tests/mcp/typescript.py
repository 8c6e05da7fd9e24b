"""The official TypeScript MCP SDK from npm, with a Node of its own (the `node` package on
npm brings one), installed once, pinned, into a cache folder; `run` drives a small client
script (typescript_client.mjs) with it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.mcp import npm
from tests.mcp.inspector import NODE

SDK = "@modelcontextprotocol/sdk@1.32.2"
FOLDER = npm.CACHE / "mcp-sdk-1.32.2-node-22.23.3"
SCRIPT = Path(__file__).with_name("typescript_client.mjs")


def install() -> Path | str:
    """The folder with node_modules/.bin holding node, the SDK beside it; or why not."""
    found = npm.install(FOLDER.name, [NODE, SDK], "node")
    if isinstance(found, Path) and not (FOLDER / "node_modules" / "@modelcontextprotocol" / "sdk").is_dir():
        return f"npm installed no {SDK} into {FOLDER}"
    return found


def run(bin_dir: Path, url: str, token: str, calls: list[dict[str, Any]], timeout: float = 120.0) -> Any:
    """What the script printed (JSON): the protocol version, the tool names and each call's
    result, after connecting to url with the SDK's Client over streamable HTTP."""
    # Beside node_modules: an ES module finds its imports from where it lies.
    script = FOLDER / SCRIPT.name
    script.write_text(SCRIPT.read_text())
    done = subprocess.run([str(bin_dir / "node"), str(script), url, token, json.dumps(calls)],
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)
