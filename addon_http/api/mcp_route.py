"""POST /mcp: the Model Context Protocol over streamable HTTP, one JSON answer per POST.
The protocol is in mcp/jsonrpc.py and the tools in mcp/calls.py; this route only checks
the HTTP side (media types) and never answers 500 for a malformed message."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import json_text
from ..config import Config, ConfigError
from ..errors import HttpError
from ..http.request import Request
from ..http.response import Response
from ..mcp import calls, jsonrpc, profile, tools
from ..protocol import JSON
from .exec_request import media_type

if TYPE_CHECKING:
    from ..service import Service


def offered(config: Config) -> tools.Selection:
    """The tools /mcp offers under config; a tool name that is no tool's is refused (the
    server does not start)."""
    try:
        return tools.choose(config.mcp_read_only, config.mcp_tools, config.mcp_exclude_tools)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def post_mcp(service: Service, req: Request) -> Response:
    """MCP JSON-RPC: initialize, ping, tools/list, tools/call; notifications get 202."""
    kind, _ = media_type(req.content_type)
    if kind and kind != JSON:
        raise HttpError(415, f"Content-Type {kind!r} is not supported on /mcp; send application/json")
    version = req.headers.get("MCP-Protocol-Version")
    if version is not None and version not in jsonrpc.VERSIONS:
        raise HttpError(400, f"MCP-Protocol-Version {jsonrpc.echo(version)} is not one this server speaks: "
                             f"{', '.join(jsonrpc.VERSIONS)}")
    accept = req.headers.get("Accept", "")
    if accept and not any(t in accept for t in (JSON, "*/*", "application/*")):
        raise HttpError(406, "/mcp answers application/json; accept it", type="NotAcceptable")
    offered = profile.for_request(service.mcp_tools, req.headers)
    answer = jsonrpc.handle(req.body(), req.headers,
                            lambda name, arguments: calls.call_tool(service, name, arguments,
                                                                    inline=req.inline, offered=offered),
                            server_version=service.health()["addon"], offered=offered,
                            files=service.files)
    if answer is None:
        return Response(status=202)
    return Response(body=json_text.utf8(answer, default=str), content_type=JSON)
