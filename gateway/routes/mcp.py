"""/mcp on the gateway: the add-on's own MCP endpoint, forwarded to a worker, so the tools
(names, descriptions, schemas, annotations, behaviour) are the add-on's and never drift.

One MCP session stays on one worker for its whole life, so an agent sees its own changes:
`initialize` opens a session with a fresh Mcp-Session-Id, and every later request that
carries it goes to the worker that id hashes to (the rendezvous routing of sessions, so any
gateway replica agrees without shared state). A client that sends no session id (a
stateless one) stays on the worker its API key hashes to. DELETE ends a session; there is
nothing to clean up, as the add-on's /mcp keeps no state per session."""

from __future__ import annotations

import hashlib
import json
import secrets

from fastapi import APIRouter, Request, Response

from blender_http_addon.protocol import MCP

from ..forwarding.forward import Forward
from .deps import GatewayDep, read_body

SESSION_HEADER = "mcp-session-id"
PARSE_ERROR = -32700

router = APIRouter(tags=["mcp"])


@router.post(MCP, summary="Model Context Protocol (streamable HTTP, JSON answers)")
@router.post(MCP + "/", include_in_schema=False)
async def post_mcp(request: Request, gateway: GatewayDep) -> Response:
    """MCP JSON-RPC for agents: the add-on's tools, served by the worker of this MCP session."""
    body = await read_body(request)
    try:
        message = json.loads(body)
    except (ValueError, RecursionError) as exc:
        error = {"jsonrpc": "2.0", "id": None, "error": {"code": PARSE_ERROR,
                                                         "message": f"the body is not valid JSON: {exc}"}}
        return Response(json.dumps(error), media_type="application/json")
    session = request.headers.get(SESSION_HEADER)
    opening = isinstance(message, dict) and message.get("method") == "initialize"
    if opening or not session:
        session = secrets.token_urlsafe(24) if opening else None
    key = f"mcp:{session}" if session else _caller_key(request)
    response = await gateway.forward(Forward(request, MCP, body=body, session=key))
    if opening and session and response.status_code == 200:
        response.headers["Mcp-Session-Id"] = session
    return response


@router.delete(MCP, summary="End an MCP session", status_code=204)
@router.delete(MCP + "/", include_in_schema=False, status_code=204)
async def end_mcp(request: Request) -> Response:
    """Nothing is kept per MCP session; ending one only tells the client it is over."""
    return Response(status_code=204)


def _caller_key(request: Request) -> str:
    caller = hashlib.sha256(request.headers.get("authorization", "").encode()).hexdigest()
    return f"mcp-caller:{caller}"
