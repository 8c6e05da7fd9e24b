"""Talking to a server as an agent does: the official MCP Python SDK client."""

from __future__ import annotations

import base64
import contextlib
import json
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

SPEC_TOOLS = {"exec_python", "blender_info", "get_scene", "get_object", "get_context", "screenshot",
              "render", "export_scene", "import_file", "list_files", "read_file", "write_file",
              "submit_job", "get_job", "cancel_job", "search_api", "describe_api", "inspect",
              "checkpoint", "restore_checkpoint", "open_session"}
MODERN = "2026-07-28"


@contextlib.asynccontextmanager
async def http_client(url: str, token: str | None, mode: str = "legacy") -> AsyncIterator[Client]:
    """An SDK client over streamable HTTP to url (…/mcp): "legacy" (initialize, 2025-11-25),
    "auto" (server/discover first, as the SDK does by default) or a version ("2026-07-28")."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with create_mcp_http_client(headers=headers) as http, \
            Client(streamable_http_client(url, http_client=http), mode=mode) as client:
        yield client


def text_of(result: Any) -> Any:
    """The JSON in a tool result's text content."""
    texts = [item.text for item in result.content if item.type == "text"]
    assert texts, result
    return json.loads(texts[-1])


def png_of(result: Any) -> tuple[bytes, tuple[int, int]]:
    """The PNG of a tool result's image content, and its size from the PNG header."""
    images = [item for item in result.content if item.type == "image"]
    assert len(images) == 1 and images[0].mime_type == "image/png", result
    data = base64.b64decode(images[0].data)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return data, (width, height)


def run(main: Callable[[], Awaitable[None]]) -> None:
    """anyio.run(main), raising the first real error out of the SDK's task groups."""
    try:
        anyio.run(main)
    except BaseExceptionGroup as group:
        raise _first(group) from None


def _first(error: BaseException) -> BaseException:
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error
