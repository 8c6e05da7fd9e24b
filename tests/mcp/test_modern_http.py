"""Protocol 2026-07-28 on a real add-on's /mcp: the SDK's default client discovers it and
speaks it; the transport's errors carry their HTTP status (400 for the envelope and the
headers, 404 for an unknown method), a posted notification is 202, and the handshake
revisions keep their answers."""

from __future__ import annotations

from typing import Any

import httpx

from tests.blender import servers
from tests.mcp.conftest import TOKEN
from tests.mcp.sdk import MODERN, SPEC_TOOLS, http_client, run, text_of

META = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}


def _post(server: servers.Running, method: str, params: dict[str, Any] | None = None,
          **headers: str) -> httpx.Response:
    sent = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json",
            "MCP-Protocol-Version": MODERN, "Mcp-Method": method, **headers}
    body = {"jsonrpc": "2.0", "id": 4, "method": method, "params": {"_meta": META, **(params or {})}}
    return httpx.post(server.url + "/mcp", json=body, headers=sent, trust_env=False, timeout=60)


def test_the_sdks_default_client_speaks_2026(module_server: servers.Running) -> None:
    async def main() -> None:
        async with http_client(module_server.url + "/mcp", TOKEN, "auto") as client:
            assert client.protocol_version == MODERN
            assert {tool.name for tool in (await client.list_tools()).tools} == SPEC_TOOLS
            assert text_of(await client.call_tool("exec_python", {"code": "6 * 7"}))["result"] == 42
    run(main)


def test_errors_carry_their_http_status(module_server: servers.Running) -> None:
    found = _post(module_server, "tools/call", {"name": "get_scene", "arguments": {"limit": 1}},
                  **{"Mcp-Name": "get_scene"})
    assert found.status_code == 200 and found.json()["result"]["resultType"] == "complete"
    mismatch = _post(module_server, "tools/call", {"name": "get_scene", "arguments": {}},
                     **{"Mcp-Name": "exec_python"})
    assert mismatch.status_code == 400 and mismatch.json()["error"]["code"] == -32020
    # The same from a client that takes a stream: an error before the call is plain JSON.
    streamed = _post(module_server, "tools/call", {"name": "get_scene", "arguments": {}},
                     **{"Mcp-Name": "exec_python", "Accept": "application/json, text/event-stream"})
    assert streamed.status_code == 400 and streamed.headers["content-type"] == "application/json"
    unknown = _post(module_server, "resources/templates/list-nothing")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == -32601
    newer = _post(module_server, "tools/list", None, **{"MCP-Protocol-Version": "2027-01-01"})
    assert newer.status_code == 400
    assert newer.json()["error"]["data"]["supported"][-1] == MODERN
    note = httpx.post(module_server.url + "/mcp", json={"jsonrpc": "2.0", "method": "notifications/cancelled",
                                                        "params": {"requestId": 4}},
                      headers={"Authorization": f"Bearer {TOKEN}", "MCP-Protocol-Version": MODERN},
                      trust_env=False)
    assert note.status_code == 202


def test_a_discover_answer_is_the_same_every_time(module_server: servers.Running) -> None:
    first, second = (_post(module_server, "server/discover").json()["result"] for _ in range(2))
    assert first == second and first["supportedVersions"][-1] == MODERN
    assert first["resultType"] == "complete" and first["ttlMs"] > 0 and first["cacheScope"] == "private"
    # The work folder changes at any time: its listing is stale at once.
    listing = _post(module_server, "resources/list").json()["result"]
    assert isinstance(listing["resources"], list)
    assert (listing["ttlMs"], listing["resultType"]) == (0, "complete")
