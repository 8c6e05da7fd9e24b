"""MCP 2026-07-28, the stateless revision: no `initialize`; each request carries its
protocol version and client capabilities in `params._meta`, names its method (and tool)
in the Mcp-Method / Mcp-Name headers, and every result says `resultType`.

`envelope` checks a request in the spec's order (the envelope's keys, then the headers
against the body, then the version) and answers the version, or raises the RpcError the
spec names. Errors of a 2026-07-28 request come with an HTTP status (`http_status`);
older revisions answer every JSON-RPC error with 200, as they always did here.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

from ..protocol import MCP_METHOD_HEADER, MCP_NAME_HEADER, MCP_VERSION_HEADER
from .errors import (
    HEADER_MISMATCH,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    UNSUPPORTED_PROTOCOL_VERSION,
    RpcError,
)

HANDSHAKE_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
MODERN_VERSIONS = ("2026-07-28",)
ALL_VERSIONS = HANDSHAKE_VERSIONS + MODERN_VERSIONS

PROTOCOL_VERSION_KEY = "io.modelcontextprotocol/protocolVersion"
CLIENT_CAPABILITIES_KEY = "io.modelcontextprotocol/clientCapabilities"
VERSION_HEADER, METHOD_HEADER, NAME_HEADER = MCP_VERSION_HEADER, MCP_METHOD_HEADER, MCP_NAME_HEADER
# Methods whose params name a thing that Mcp-Name repeats.
NAMED_BY = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}

# Cache hints of the cacheable results: how long each stays fresh. The tool list and the
# resource template are fixed while the server runs; the work folder's files change at any
# time (0: stale at once). The set of tools offered depends on the server's (or, through a
# gateway, the key's) settings: "private", so a shared cache never hands one caller's
# answer to another.
CACHE_TTL_MS = 5 * 60 * 1000
CACHE_TTLS = {"server/discover": CACHE_TTL_MS, "tools/list": CACHE_TTL_MS, "prompts/list": CACHE_TTL_MS,
              "resources/templates/list": CACHE_TTL_MS, "resources/list": 0, "resources/read": 0}
CACHE_SCOPE = "private"

# HTTP status of a 2026-07-28 request's error, by JSON-RPC code (the transport's table);
# any other code (a tool's internal error) is 200.
_STATUS = {PARSE_ERROR: 400, INVALID_REQUEST: 400, INVALID_PARAMS: 400, HEADER_MISMATCH: 400,
           UNSUPPORTED_PROTOCOL_VERSION: 400, METHOD_NOT_FOUND: 404}
_BASE64 = re.compile(r"^=\?base64\?(.*)\?=$")


def is_modern(message: Any, headers: Mapping[str, str]) -> bool:
    """True when a request speaks 2026-07-28 (or claims a version newer than the handshake's):
    its header names no handshake version, or its `_meta` carries a protocol version."""
    header = headers.get(VERSION_HEADER)
    if header is not None:
        return header not in HANDSHAKE_VERSIONS
    params = message.get("params") if isinstance(message, dict) else None
    meta = params.get("_meta") if isinstance(params, dict) else None
    return isinstance(meta, dict) and PROTOCOL_VERSION_KEY in meta


def envelope(method: str, params: Mapping[str, Any], headers: Mapping[str, str]) -> str:
    """The protocol version of a 2026-07-28 request over HTTP, after the spec's checks in
    its order."""
    meta = params.get("_meta")
    if not isinstance(meta, Mapping):
        raise RpcError(INVALID_PARAMS, f"params._meta must be an object carrying {PROTOCOL_VERSION_KEY!r} "
                                       f"and {CLIENT_CAPABILITIES_KEY!r} (2026-07-28 has no initialize)")
    missing = [key for key in (PROTOCOL_VERSION_KEY, CLIENT_CAPABILITIES_KEY) if key not in meta]
    if missing:
        raise RpcError(INVALID_PARAMS, f"params._meta lacks {', '.join(missing)}")
    version = meta[PROTOCOL_VERSION_KEY]
    # Over HTTP the headers are required: a proxy routes and filters on them, so a request
    # whose headers say one thing and whose body another must not pass.
    if headers.get(VERSION_HEADER) != version:
        raise RpcError(HEADER_MISMATCH, f"the {VERSION_HEADER} header must be sent and match "
                                        "params._meta's protocol version")
    if headers.get(METHOD_HEADER) != method:
        raise RpcError(HEADER_MISMATCH, f"the {METHOD_HEADER} header must be sent and match the method")
    named = NAMED_BY.get(method)
    if named is not None and params.get(named) is not None \
            and _decoded(headers.get(NAME_HEADER) or "") != params.get(named):
        raise RpcError(HEADER_MISMATCH, f"the {NAME_HEADER} header must be sent and match params.{named}")
    if not isinstance(version, str):
        raise RpcError(INVALID_PARAMS, "the protocol version in params._meta must be a string")
    if version not in MODERN_VERSIONS:
        raise unsupported(version)
    return version


def unsupported(version: Any) -> RpcError:
    """UnsupportedProtocolVersion, naming the versions this server speaks."""
    return RpcError(UNSUPPORTED_PROTOCOL_VERSION,
                    f"unsupported protocol version; this server speaks {', '.join(ALL_VERSIONS)}",
                    data={"supported": list(ALL_VERSIONS), "requested": version})


def discover(server_info: dict[str, Any], capabilities: dict[str, Any], instructions: str) -> dict[str, Any]:
    """The answer to server/discover (cacheable, like tools/list)."""
    return {"supportedVersions": list(ALL_VERSIONS), "capabilities": capabilities,
            "serverInfo": server_info, "instructions": instructions}


def cache_hints(method: str) -> dict[str, Any]:
    """ttlMs and cacheScope for a cacheable method's result; nothing for the others."""
    ttl = CACHE_TTLS.get(method)
    return {} if ttl is None else {"ttlMs": ttl, "cacheScope": CACHE_SCOPE}


def http_status(answer: Any) -> int:
    """The HTTP status of a 2026-07-28 answer: the transport's status of its error code."""
    if isinstance(answer, dict) and isinstance(answer.get("error"), dict):
        return _STATUS.get(answer["error"].get("code"), 200)
    return 200


def _decoded(value: str) -> str | None:
    """A header value, or what its `=?base64?...?=` form holds (None when malformed)."""
    found = _BASE64.fullmatch(value)
    if found is None:
        return value
    try:
        return base64.b64decode(found.group(1), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
