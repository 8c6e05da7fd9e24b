"""The JSON-RPC layer of /mcp without Blender: negotiation, batches, notifications and
malformed input."""

from __future__ import annotations

import json
from typing import Any

from blender_http_addon.mcp import jsonrpc, tools


def _call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": json.dumps({name: arguments})}], "isError": False}


def _handle(message: Any, headers: dict[str, str] | None = None) -> Any:
    body = message if isinstance(message, bytes) else json.dumps(message).encode()
    return jsonrpc.handle(body, headers or {}, _call, server_version="0.1.0")


def _request(method: str, params: Any = None, request_id: Any = 1) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        message["params"] = params
    return message


def test_initialize_answers_the_clients_version_when_spoken() -> None:
    for version in ("2025-03-26", "2025-06-18", "2025-11-25"):
        answer = _handle(_request("initialize", {"protocolVersion": version, "capabilities": {}}))
        assert answer["result"]["protocolVersion"] == version
        assert answer["result"]["capabilities"] == {"tools": {"listChanged": False},
                                                    "resources": {"subscribe": False, "listChanged": False}}


def test_initialize_counters_an_unknown_version_with_the_newest() -> None:
    answer = _handle(_request("initialize", {"protocolVersion": "2099-01-01"}))
    assert answer["result"]["protocolVersion"] == jsonrpc.LATEST


def test_tools_list_is_the_one_definition() -> None:
    typed = _handle(_request("tools/list"), {"MCP-Protocol-Version": "2025-06-18"})["result"]["tools"]
    assert typed == list(tools.TOOLS)
    # before 2025-06-18 (and with no version named) a tool has no outputSchema
    untyped = _handle(_request("tools/list"))["result"]["tools"]
    assert untyped == [{key: value for key, value in tool.items() if key != "outputSchema"}
                       for tool in tools.TOOLS]
    assert untyped != typed


def test_tools_call_reaches_the_tool() -> None:
    answer = _handle(_request("tools/call", {"name": "get_scene", "arguments": {"limit": 3}}))
    assert json.loads(answer["result"]["content"][0]["text"]) == {"get_scene": {"limit": 3}}


def test_notifications_and_responses_get_no_answer() -> None:
    assert _handle({"jsonrpc": "2.0", "method": "notifications/initialized"}) is None
    assert _handle({"jsonrpc": "2.0", "id": 4, "result": {}}) is None


def test_malformed_input_gets_json_rpc_errors() -> None:
    cases = [
        (b"{not json", jsonrpc.PARSE_ERROR),
        ({"id": 1, "method": "ping"}, jsonrpc.INVALID_REQUEST),
        (_request("ping", request_id=None), jsonrpc.INVALID_REQUEST),
        (_request("ping", request_id=[1]), jsonrpc.INVALID_REQUEST),
        ({"jsonrpc": "2.0", "id": 1, "method": 5}, jsonrpc.INVALID_REQUEST),
        (_request("ping", params=[1]), jsonrpc.INVALID_PARAMS),
        (_request("nope"), jsonrpc.METHOD_NOT_FOUND),
        (_request("tools/call", {"name": "rm_rf"}), jsonrpc.INVALID_PARAMS),
        (_request("tools/call", {"name": "get_scene", "arguments": [1]}), jsonrpc.INVALID_PARAMS),
        ("just a string", jsonrpc.INVALID_REQUEST),
    ]
    for message, code in cases:
        assert _handle(message)["error"]["code"] == code, message


def test_batches_only_where_the_version_has_them() -> None:
    batch = [_request("ping", request_id=1), {"jsonrpc": "2.0", "method": "notifications/x"},
             _request("nope", request_id=2)]
    answers = _handle(batch, {"MCP-Protocol-Version": "2025-03-26"})
    assert [a["id"] for a in answers] == [1, 2] and "error" in answers[1]
    refused = _handle(batch, {"MCP-Protocol-Version": "2025-06-18"})
    assert refused["error"]["code"] == jsonrpc.INVALID_REQUEST
    assert _handle([], {"MCP-Protocol-Version": "2025-03-26"})["error"]["code"] == jsonrpc.INVALID_REQUEST


def test_a_tool_that_raises_is_an_internal_error_not_a_crash() -> None:
    def broken(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("bug")

    answer: Any = jsonrpc.handle(json.dumps(_request("tools/call", {"name": "ping_me"})).encode(), {}, broken,
                            server_version="x")
    assert answer["error"]["code"] == jsonrpc.INVALID_PARAMS
    answer = jsonrpc.handle(json.dumps(_request("tools/call", {"name": "get_scene"})).encode(), {}, broken,
                            server_version="x")
    assert answer["error"]["code"] == jsonrpc.INTERNAL_ERROR and "bug" in answer["error"]["message"]


def test_every_tool_is_fully_described() -> None:
    for tool in tools.TOOLS:
        assert tool["title"] and len(tool["description"]) > 40
        hints = tool["annotations"]
        assert {"readOnlyHint", "destructiveHint", "idempotentHint"} <= set(hints)
        for name, prop in tool["inputSchema"]["properties"].items():
            assert prop.get("description"), (tool["name"], name)


def test_a_huge_batch_is_read_no_further_than_its_bound() -> None:
    from blender_http_addon.mcp.jsonrpc import MAX_BATCH

    message = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    # After the bound, garbage that a full read would stumble on: never read.
    body = ("[" + ",".join([json.dumps(message)] * (MAX_BATCH + 1)) + ", {broken").encode()
    answer: Any = jsonrpc.handle(body, {"MCP-Protocol-Version": "2025-03-26"}, lambda *a: {},
                                 server_version="x")
    assert answer["error"]["code"] == jsonrpc.INVALID_REQUEST
    assert f"at most {MAX_BATCH}" in answer["error"]["message"]
    exact = ("[" + ",".join([json.dumps(message)] * MAX_BATCH) + "]").encode()
    answers: Any = jsonrpc.handle(exact, {"MCP-Protocol-Version": "2025-03-26"}, lambda *a: {},
                                  server_version="x")
    assert [a["result"] for a in answers] == [{}] * MAX_BATCH
    for bad in (b"[1,", b"[] x", b"[{}] ]", b"[,]"):
        refused: Any = jsonrpc.handle(bad, {}, lambda *a: {}, server_version="x")
        assert refused["error"]["code"] in (-32700, -32600)
