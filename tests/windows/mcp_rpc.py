"""JSON-RPC calls to a Windows server's /mcp from the Linux side, as the tests make them."""

from __future__ import annotations

from typing import Any

import httpx

MCP_HEADERS = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"}


def rpc(http: httpx.Client, method: str, params: dict[str, Any], id_: int) -> dict[str, Any]:
    """The result of one request; fails the test on an HTTP or JSON-RPC error."""
    answer = http.post("/mcp", json={"jsonrpc": "2.0", "id": id_, "method": method, "params": params},
                       headers=MCP_HEADERS)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    assert body["id"] == id_ and "error" not in body, body
    result: dict[str, Any] = body["result"]
    return result


def open_session(http: httpx.Client) -> set[str]:
    """initialize (the server must name itself), the initialized notification, tools/list:
    the names of the tools listed."""
    opened = rpc(http, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                      "clientInfo": {"name": "windows-test", "version": "0"}}, 1)
    assert opened["serverInfo"]["name"] == "blender-http", opened
    noted = http.post("/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"},
                      headers=MCP_HEADERS)
    assert noted.status_code == 202
    return {tool["name"] for tool in rpc(http, "tools/list", {}, 2)["tools"]}
