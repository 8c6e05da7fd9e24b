"""`blender-http mcp` (stdio) passes progress on and cancels upstream: a call with a progress
token hears the server's notifications/progress, and a call its client cancels ends its
Blender job `cancelled`."""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.shared.exceptions import MCPError

from tests.blender import servers
from tests.mcp.conftest import TOKEN
from tests.mcp.sdk import run, text_of
from tests.mcp.test_progress_cancel import AUTH, LONG, SHORT, find_job


@contextlib.asynccontextmanager
async def stdio_client(url: str) -> AsyncIterator[Client]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLENDER_HTTP_")}
    params = StdioServerParameters(command=sys.executable, env=env,
                                   args=["-m", "blender_http", "mcp", "--url", url, "--token", TOKEN])
    async with Client(params) as client:
        yield client


def test_progress_crosses_stdio(module_server: servers.Running) -> None:
    heard: list[tuple[float, str]] = []

    async def note(progress: float, total: float | None, message: str | None) -> None:
        heard.append((progress, (message or "").rsplit(" (", 1)[0]))

    async def main() -> None:
        async with stdio_client(module_server.url) as client:
            result = await client.call_tool("exec_python", {"code": SHORT}, progress_callback=note)
            assert text_of(result)["result"] == "done"

    run(main)
    texts = [text for _, text in heard]
    assert texts[0] == "started" and texts[-1] == "code: succeeded" and "code: running" in texts, heard
    assert [value for value, _ in heard] == sorted(value for value, _ in heard)


def test_a_call_cancelled_over_stdio_ends_its_job_cancelled(module_server: servers.Running) -> None:
    session = f"stdio-cancel-{secrets.token_hex(4)}"
    states: list[dict[str, Any]] = []

    async def main() -> None:
        async with stdio_client(module_server.url) as client:
            with pytest.raises(MCPError):  # the SDK gives up after its timeout and cancels
                await client.call_tool("exec_python", {"code": LONG, "session": session},
                                       read_timeout_seconds=1.5)
            async with httpx.AsyncClient(headers=AUTH, trust_env=False, timeout=30) as http:
                job = await find_job(http, module_server.url, session)
                states.append((await http.get(f"{module_server.url}/jobs/{job}", params={"wait": 10})).json())

    run(main)
    assert states[0]["status"] == "cancelled", states
