"""Protocol 2026-07-28 in the JSON-RPC layer, without Blender: server/discover, requests
with no initialize, the _meta envelope and the routing headers checked in the spec's order,
resultType on every result, a deterministic tools/list with cache hints, and the handshake
revisions answered as before."""

from __future__ import annotations

import json
from typing import Any

from blender_http_addon.mcp import jsonrpc, modern, tools

VERSION = "2026-07-28"
META = {"io.modelcontextprotocol/protocolVersion": VERSION, "io.modelcontextprotocol/clientCapabilities": {}}


def _call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": json.dumps({name: arguments})}], "isError": False}


def _request(method: str, params: dict[str, Any] | None = None, meta: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None) -> Any:
    message = {"jsonrpc": "2.0", "id": 9, "method": method,
               "params": {**(params or {}), "_meta": META if meta is None else meta}}
    sent = {"MCP-Protocol-Version": VERSION, "Mcp-Method": method}
    if method == "tools/call":
        sent["Mcp-Name"] = (params or {}).get("name", "")
    return jsonrpc.handle(json.dumps(message).encode(), {**sent, **(headers or {})}, _call,
                          server_version="1.2.3")


def test_discover_names_every_version_with_cache_hints() -> None:
    result = _request("server/discover")["result"]
    assert result["supportedVersions"] == ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", VERSION]
    assert result["serverInfo"] == {"name": "blender-http", "title": "Blender", "version": "1.2.3"}
    assert result["capabilities"] == {"tools": {"listChanged": False},
                                      "resources": {"subscribe": False, "listChanged": False}}
    assert result["resultType"] == "complete"
    assert (result["ttlMs"], result["cacheScope"]) == (modern.CACHE_TTL_MS, "private")


def test_requests_need_no_initialize_and_every_result_says_its_type() -> None:
    listed = _request("tools/list")["result"]
    assert [tool["name"] for tool in listed["tools"]] == list(tools.NAMES)
    assert listed["resultType"] == "complete" and listed["ttlMs"] == modern.CACHE_TTL_MS
    assert _request("tools/list") == _request("tools/list")  # deterministic, so a cache may keep it
    called = _request("tools/call", {"name": "get_scene", "arguments": {"limit": 3}})["result"]
    assert called == {**_call("get_scene", {"limit": 3}), "resultType": "complete"}


def test_initialize_belongs_to_the_handshake_revisions() -> None:
    refused = _request("initialize", {"protocolVersion": VERSION})
    assert refused["error"]["code"] == jsonrpc.METHOD_NOT_FOUND
    assert modern.http_status(refused) == 404
    old: Any = jsonrpc.handle(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                                     "params": {"protocolVersion": VERSION}}).encode(), {}, _call,
                         server_version="1.2.3")
    assert old["result"]["protocolVersion"] == "2025-11-25"  # countered with the newest handshake one
    assert "resultType" not in old["result"]


def test_the_envelope_is_checked_in_the_specs_order() -> None:
    missing = _request("tools/list", meta={"io.modelcontextprotocol/protocolVersion": VERSION})
    assert missing["error"]["code"] == jsonrpc.INVALID_PARAMS
    assert "clientCapabilities" in missing["error"]["message"]
    assert modern.http_status(missing) == 400
    # The headers before the version: a client that disagrees with itself is told so.
    other = {**META, "io.modelcontextprotocol/protocolVersion": "2099-01-01"}
    mismatch = _request("tools/list", meta=other)
    assert mismatch["error"]["code"] == jsonrpc.HEADER_MISMATCH
    unsupported = _request("tools/list", meta=other, headers={"MCP-Protocol-Version": "2099-01-01"})
    assert unsupported["error"]["code"] == jsonrpc.UNSUPPORTED_PROTOCOL_VERSION
    assert unsupported["error"]["data"] == {"supported": list(modern.ALL_VERSIONS), "requested": "2099-01-01"}
    assert modern.http_status(unsupported) == 400


def test_the_routing_headers_must_match_the_body() -> None:
    method = _request("tools/list", headers={"Mcp-Method": "tools/call"})
    assert method["error"]["code"] == jsonrpc.HEADER_MISMATCH and "Mcp-Method" in method["error"]["message"]
    absent: Any = jsonrpc.handle(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list",
                                        "params": {"_meta": META}}).encode(),
                            {"MCP-Protocol-Version": VERSION}, _call, server_version="1")
    assert absent["error"]["code"] == jsonrpc.HEADER_MISMATCH
    name = _request("tools/call", {"name": "get_scene", "arguments": {}}, headers={"Mcp-Name": "exec_python"})
    assert name["error"]["code"] == jsonrpc.HEADER_MISMATCH and "Mcp-Name" in name["error"]["message"]
    # A name that is no header-safe text travels base64-wrapped.
    wrapped = _request("tools/call", {"name": "get_scene", "arguments": {}},
                       headers={"Mcp-Name": "=?base64?Z2V0X3NjZW5l?="})
    assert wrapped["result"]["resultType"] == "complete"


def test_resource_results_carry_their_freshness() -> None:
    templates = jsonrpc.handle(json.dumps({"jsonrpc": "2.0", "id": 2, "method": "resources/templates/list",
                                           "params": {"_meta": META}}).encode(),
                               {"MCP-Protocol-Version": VERSION, "Mcp-Method": "resources/templates/list"},
                               _call, server_version="1", files=None)
    # No work folder here: the refusal is the resources module's, in the 2026-07-28 shape.
    assert isinstance(templates, dict) and templates["error"]["code"] == jsonrpc.METHOD_NOT_FOUND
    assert modern.cache_hints("resources/list") == {"ttlMs": 0, "cacheScope": "private"}
    assert modern.cache_hints("resources/templates/list")["ttlMs"] == modern.CACHE_TTL_MS
    assert modern.cache_hints("tools/call") == {}


def test_a_handshake_request_answers_as_before() -> None:
    answer: Any = jsonrpc.handle(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).encode(),
                            {"MCP-Protocol-Version": "2025-11-25"}, _call, server_version="1")
    assert "resultType" not in answer["result"] and "ttlMs" not in answer["result"]


def test_every_tool_takes_a_session_handle() -> None:
    for tool in tools.TOOLS:
        session = tool["inputSchema"]["properties"]["session"]
        assert session["type"] == "string" and "open_session" in session["description"], tool["name"]
    for name in ("exec_python", "submit_job"):  # there it names an exec session, checked as one
        assert tools.BY_NAME[name]["inputSchema"]["properties"]["session"]["pattern"] == tools.SESSION_PATTERN
    assert tools.BY_NAME["open_session"]["annotations"]["readOnlyHint"] is True
