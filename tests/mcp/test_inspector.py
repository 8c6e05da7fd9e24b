"""The MCP Inspector CLI (npm) lists and calls the add-on's tools over streamable HTTP."""

from __future__ import annotations

import json
from pathlib import Path

from tests.blender import servers
from tests.mcp import inspector
from tests.mcp.conftest import TOKEN
from tests.mcp.sdk import SPEC_TOOLS


def _cli(bin_dir: Path, server: servers.Running, *args: str) -> dict:
    return inspector.call(bin_dir, server.url + "/mcp", TOKEN, *args)


def test_inspector_lists_and_calls_tools(inspector_bin: Path, module_server: servers.Running) -> None:
    listed = _cli(inspector_bin, module_server, "--method", "tools/list")
    assert {tool["name"] for tool in listed["tools"]} == SPEC_TOOLS
    called = _cli(inspector_bin, module_server, "--method", "tools/call", "--tool-name", "exec_python",
                  "--tool-arg", "code=6 * 7")
    assert not called.get("isError") and json.loads(called["content"][0]["text"])["result"] == 42
    found = _cli(inspector_bin, module_server, "--method", "tools/call", "--tool-name", "search_api",
                 "--tool-arg", "query=subdivision modifier")
    assert "SubsurfModifier" in found["content"][0]["text"]
