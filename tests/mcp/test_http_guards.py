"""/mcp behind the same token, Host and Origin rules as every route; malformed JSON-RPC
gets a JSON-RPC error and the server stays up."""

from __future__ import annotations

import httpx

from tests.blender import servers
from tests.mcp.conftest import TOKEN

INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "test", "version": "0"}}}
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_token_host_and_origin(module_server: servers.Running) -> None:
    url = module_server.url + "/mcp"
    assert httpx.post(url, json=INIT).status_code == 401
    assert httpx.post(url, json=INIT, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert httpx.post(url, json=INIT, headers={**AUTH, "Origin": "https://evil.example"}).status_code == 403
    assert httpx.post(url, json=INIT, headers={**AUTH, "Host": "evil.example"}).status_code == 403
    assert httpx.post(url, json=INIT, headers=AUTH).status_code == 200


def test_get_is_not_allowed(module_server: servers.Running) -> None:
    response = httpx.get(module_server.url + "/mcp", headers=AUTH)
    assert response.status_code == 405 and "POST" in response.headers["Allow"]


def test_malformed_json_rpc_gets_errors_and_the_server_stays_up(module_server: servers.Running) -> None:
    url = module_server.url + "/mcp"
    headers = {**AUTH, "Content-Type": "application/json"}
    for body, code in [(b"{", -32700), (b"[]", -32600), (b'{"id": 1}', -32600),
                       (b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": 1}}',
                        -32602),
                       (b'{"jsonrpc": "2.0", "id": 1, "method": "prompts/list"}', -32601),
                       (b"\xff\xfe", -32700), (b'"' + b"[" * 100000 + b'"', -32600),
                       (b"[" * 100000, -32700)]:
        response = httpx.post(url, content=body, headers=headers)
        assert response.status_code == 200, body[:40]
        assert response.json()["error"]["code"] == code, body[:40]
    notification = httpx.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"},
                              headers=AUTH)
    assert notification.status_code == 202 and notification.content == b""
    assert httpx.post(url, content=b"x", headers={**AUTH, "Content-Type": "text/plain"}).status_code == 415
    assert httpx.post(url, json=INIT, headers=AUTH).json()["result"]["serverInfo"]["name"] == "blender-http"
