"""Least privilege (SPEC 3.10): BLENDER_HTTP_MCP_READ_ONLY leaves out the tools that run
code or change the scene, BLENDER_HTTP_MCP_TOOLS / _EXCLUDE_TOOLS filter further, against
a real module-mode Blender; `blender-http mcp --read-only --tools --exclude-tools` does the
same on the stdio server."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from click.testing import CliRunner

from blender_http.cli.main import main
from blender_http_addon.mcp import tools
from tests.blender import servers
from tests.conftest import missing
from tests.mcp.conftest import TOKEN
from tests.mcp.sdk import SPEC_TOOLS, http_client, run, text_of
from tests.mcp.test_stdio import stdio_client

WRITING = {"exec_python", "write_file", "import_file", "submit_job", "restore_checkpoint"}


@pytest.fixture(scope="module")
def read_only_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Running]:
    reason = servers.availability("module")
    if reason:
        missing(reason)
    running = servers.start("module", tmp_path_factory.mktemp("mcp-read-only"),
                            env={"BLENDER_HTTP_TOKEN": TOKEN, "BLENDER_HTTP_MCP_READ_ONLY": "1",
                                 "BLENDER_HTTP_MCP_EXCLUDE_TOOLS": "render, screenshot"})
    yield running
    running.stop()


@pytest.mark.blender
def test_read_only_hides_and_refuses_the_writing_tools(read_only_server: servers.Running) -> None:
    async def main_() -> None:
        async with http_client(read_only_server.url + "/mcp", TOKEN) as client:
            listed = {tool.name for tool in (await client.list_tools()).tools}
            assert listed == SPEC_TOOLS - WRITING - {"render", "screenshot"}
            refused = await client.call_tool("exec_python", {"code": "1 + 1"})
            assert refused.is_error
            error = text_of(refused)["error"]
            assert error["type"] == "Forbidden" and "read-only" in error["message"]
            excluded = await client.call_tool("render", {})
            assert excluded.is_error and "leaves it out" in text_of(excluded)["error"]["message"]
            info = await client.call_tool("blender_info", {})
            assert not info.is_error and text_of(info)["mode"] == "module"
    run(main_)


@pytest.mark.blender
def test_a_raw_tools_call_of_a_hidden_tool_gets_the_refusal(read_only_server: servers.Running) -> None:
    message = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
               "params": {"name": "exec_python", "arguments": {"code": "import os\nos.getpid()"}}}
    answer = httpx.post(read_only_server.url + "/mcp", json=message,
                        headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30).json()
    result = answer["result"]
    assert result["isError"] is True
    assert "exec_python is not offered" in json.loads(result["content"][0]["text"])["error"]["message"]


def test_the_stdio_server_honours_read_only_and_filters(module_server: servers.Running) -> None:
    async def main_() -> None:
        async with stdio_client("--url", module_server.url, "--token", TOKEN, "--read-only",
                                "--exclude-tools", "render") as client:
            listed = {tool.name for tool in (await client.list_tools()).tools}
            assert listed == SPEC_TOOLS - WRITING - {"render"}
            refused = await client.call_tool("exec_python", {"code": "1 + 1"})
            assert refused.is_error and "read-only" in text_of(refused)["error"]["message"]
            scene = await client.call_tool("get_scene", {"limit": 1})
            assert not scene.is_error and text_of(scene)["total"] >= 1
        async with stdio_client("--url", module_server.url, "--token", TOKEN,
                                "--tools", "blender_info,exec_python") as client:
            listed = {tool.name for tool in (await client.list_tools()).tools}
            assert listed == {"blender_info", "exec_python"}
            assert text_of(await client.call_tool("exec_python", {"code": "6 * 7"}))["result"] == 42
            other = await client.call_tool("get_scene", {})
            assert other.is_error and "offers only" in text_of(other)["error"]["message"]
    run(main_)


def test_unknown_tool_names_are_refused_at_start() -> None:
    result = CliRunner().invoke(main, ["mcp", "--exclude-tools", "exec_python,rm_rf"])
    assert result.exit_code == 2 and "--exclude-tools: no MCP tool is named rm_rf" in result.output


def test_selection() -> None:
    everything = tools.Selection()
    assert everything.tools == tools.TOOLS
    read_only = tools.Selection(read_only=True)
    assert {tool["name"] for tool in read_only.tools} == set(tools.NAMES) - WRITING
    assert "restore_checkpoint" in tools.READ_ONLY_LEFT_OUT
    both = tools.Selection(read_only=True, only=("exec_python", "get_scene"), exclude=("get_scene",))
    assert both.tools == ()
    assert "read-only" in (both.refusal("exec_python") or "")
    with pytest.raises(ValueError, match="BLENDER_HTTP_MCP_TOOLS: no MCP tool is named nope"):
        tools.choose(False, ("nope",), ())


def test_every_description_is_short() -> None:
    for tool in tools.TOOLS:
        assert len(tool["description"].encode()) < tools.MAX_DESCRIPTION_BYTES, tool["name"]
        assert tool["inputSchema"]["properties"]["max_chars"]["maximum"] == tools.MAX_MAX_CHARS
