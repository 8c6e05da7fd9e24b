"""How a client that has no key learns what to send: a 401 whose WWW-Authenticate (RFC 6750)
says what is wrong and names the protected-resource metadata (RFC 9728), which is open and
says that API keys go in the Authorization header. MCP clients follow exactly this path."""

from __future__ import annotations

import re

from blender_http_addon.protocol import MCP
from blender_http_gateway.edge.auth import PROTECTED_RESOURCE
from tests.gateway import gateways

CHALLENGE = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def _challenge(value: str) -> dict[str, str]:
    assert value.startswith("Bearer "), value
    return {name: text.replace('\\"', '"') for name, text in CHALLENGE.findall(value)}


def test_a_missing_or_wrong_key_is_a_401_that_says_where_to_read_how(gateway: gateways.Gateway) -> None:
    with gateway.client(key=None) as anonymous:
        missing = anonymous.post(MCP, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        wrong = anonymous.post(MCP, json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                               headers={"Authorization": "Bearer not-the-key-at-all"})
        metadata = anonymous.get(PROTECTED_RESOURCE)
        for_mcp = anonymous.get(PROTECTED_RESOURCE + MCP)
    assert missing.status_code == 401 and wrong.status_code == 401
    said = _challenge(missing.headers["www-authenticate"])
    assert said == {"realm": "blender-http", "error": "invalid_request",
                    "error_description": "missing API key: send 'Authorization: Bearer <key>'",
                    "resource_metadata": gateway.url + PROTECTED_RESOURCE}
    assert _challenge(wrong.headers["www-authenticate"])["error"] == "invalid_token"
    assert missing.json()["error"]["type"] == "Unauthorized"
    assert metadata.status_code == 200 and for_mcp.status_code == 200
    assert metadata.json()["resource"] == gateway.url
    assert for_mcp.json()["resource"] == gateway.url + MCP
    assert for_mcp.json()["bearer_methods_supported"] == ["header"]
    assert "authorization_servers" not in for_mcp.json()  # keys, not OAuth: nothing to send a client to


def test_other_well_known_documents_still_need_a_key(gateway: gateways.Gateway) -> None:
    with gateway.client(key=None) as anonymous:
        assert anonymous.get("/.well-known/oauth-authorization-server").status_code == 401
        assert anonymous.get(PROTECTED_RESOURCE + "/exec").status_code == 401
