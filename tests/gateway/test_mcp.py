"""/mcp: an MCP client session (streamable HTTP, the official SDK) lists the tools and calls them."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

from tests.gateway import gateways
from tests.gateway.conftest import KEY


async def _session_run(url: str, key: str,
                       calls: list[tuple[str, dict[str, Any]]]) -> tuple[list[str], list[Any]]:
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx2.AsyncClient(headers=headers, timeout=60.0) as http, \
            streamable_http_client(url + "/mcp/", http_client=http) as (read, write), \
            ClientSession(read, write) as session:
        await session.initialize()
        tools = sorted(tool.name for tool in (await session.list_tools()).tools)
        results = [await session.call_tool(name, arguments) for name, arguments in calls]
    return tools, results


def _structured(result: Any) -> dict[str, Any]:
    assert not result.is_error, result
    return dict(result.structured_content)


def test_mcp_lists_tools_and_runs_code(gateway: gateways.Gateway) -> None:
    tools, (executed, failed, scene, submitted) = asyncio.run(_session_run(gateway.url, KEY, [
        ("exec_python", {"code": "print('from mcp')\nargs['n'] ** 2", "args": {"n": 12}}),
        ("exec_python", {"code": "1 / 0"}),
        ("get_scene", {"limit": 5}),
        ("submit_job", {"code": "'later'"}),
    ]))
    assert tools == ["cancel_job", "exec_python", "get_job", "get_object", "get_scene", "render",
                     "submit_job"]
    envelope = _structured(executed)
    assert (envelope["ok"], envelope["result"], envelope["stdout"]) == (True, 144, "from mcp\n")
    assert failed.is_error
    assert "ZeroDivisionError" in failed.content[0].text
    assert _structured(scene)["ok"] is True
    job = _structured(submitted)["id"]

    _, (polled,) = asyncio.run(_session_run(gateway.url, KEY, [("get_job", {"job_id": job, "wait": 10})]))
    finished = _structured(polled)
    assert (finished["status"], finished["envelope"]["result"]) == ("succeeded", "later")


def test_mcp_render_returns_a_png(gateway: gateways.Gateway) -> None:
    _, (image,) = asyncio.run(_session_run(gateway.url, KEY, [
        ("render", {"engine": "BLENDER_WORKBENCH", "width": 32, "height": 24})]))
    assert not image.is_error, image
    assert image.content[0].type == "image"
    assert image.content[0].mime_type == "image/png"


def test_mcp_needs_an_api_key(gateway: gateways.Gateway) -> None:
    with pytest.raises(Exception):  # noqa: B017 - the SDK wraps the 401 in its own error types
        asyncio.run(_session_run(gateway.url, "wrong-key", []))
    answer = httpx2.post(gateway.url + "/mcp/", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                         headers={"Accept": "application/json, text/event-stream"})
    assert answer.status_code == 401
