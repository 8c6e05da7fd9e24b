"""`blender-http mcp` over stdio with the official SDK client: it starts and lists its tools
with no Blender, answers each call with a clear error until one answers, forwards to a
running server, and with --spawn starts a Blender of its own and stops it on exit."""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from blender_http.local.launcher import alive
from tests.blender import servers
from tests.conftest import missing
from tests.mcp.conftest import TOKEN
from tests.mcp.sdk import SPEC_TOOLS, png_of, run, text_of


@contextlib.asynccontextmanager
async def stdio_client(*args: str) -> AsyncIterator[Client]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLENDER_HTTP_")}
    params = StdioServerParameters(command=sys.executable, args=["-m", "blender_http", "mcp", *args], env=env)
    async with Client(params) as client:
        yield client


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_starts_and_lists_tools_without_blender() -> None:
    async def main() -> None:
        started = time.monotonic()
        async with stdio_client("--url", f"http://127.0.0.1:{_closed_port()}") as client:
            assert {tool.name for tool in (await client.list_tools()).tools} == SPEC_TOOLS
            answer = await client.call_tool("get_scene", {})
            assert answer.is_error and "no Blender answers" in text_of(answer)["error"]["message"]
        assert time.monotonic() - started < 60  # a generous bound: it must not wait for a Blender
    run(main)


def test_forwards_to_a_running_server(module_server: servers.Running) -> None:
    async def main() -> None:
        async with stdio_client("--url", module_server.url, "--token", TOKEN) as client:
            made = await client.call_tool("exec_python", {"code": "bpy.ops.mesh.primitive_cube_add()\n"
                                                                  "C.active_object.name = 'ViaStdio'"})
            assert not made.is_error, made
            box = text_of(await client.call_tool("get_object", {"name": "ViaStdio"}))
            assert box["object"]["name"] == "ViaStdio"
            _, size = png_of(await client.call_tool("screenshot", {"max_size": 200}))
            assert max(size) == 200
            found = text_of(await client.call_tool("search_api", {"query": "subdivision modifier"}))
            assert found["results"][0]["name"] == "bpy.types.SubsurfModifier"
            failed = await client.call_tool("exec_python", {"code": "1/0"})
            assert failed.is_error and text_of(failed)["error"]["type"] == "ZeroDivisionError"
            # A string UTF-8 cannot carry (a file name that is not UTF-8) crosses stdio too.
            odd_name = "import os\nos.fsdecode(b'report\\xff.txt')"
            odd = await client.call_tool("exec_python", {"code": odd_name})
            assert not odd.is_error and text_of(odd)["result"] == "report\udcff.txt"
    run(main)


def test_a_wrong_token_is_a_clear_tool_error(module_server: servers.Running) -> None:
    async def main() -> None:
        async with stdio_client("--url", module_server.url, "--token", "wrong") as client:
            answer = await client.call_tool("blender_info", {})
            assert answer.is_error and "401" in text_of(answer)["error"]["message"]
    run(main)


@pytest.mark.blender
def test_spawn_starts_its_own_blender_and_stops_it() -> None:
    reason = servers.availability("module")
    if reason:
        missing(reason)
    pid: dict[str, Any] = {}

    async def main() -> None:
        async with stdio_client("--spawn", "module") as client:
            assert len((await client.list_tools()).tools) == len(SPEC_TOOLS)
            # The first call, made while Blender starts, waits for it: a client that tries
            # once must not be told to come back later.
            answer = await client.call_tool("exec_python", {"code": "import os\nos.getpid()"})
            assert not answer.is_error, text_of(answer)
            pid["blender"] = text_of(answer)["result"]
            assert alive(pid["blender"])
    run(main)
    gone_by = time.monotonic() + 30
    while alive(pid["blender"]) and time.monotonic() < gone_by:
        time.sleep(0.1)
    assert not alive(pid["blender"])
