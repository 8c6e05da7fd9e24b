"""/mcp on the gateway: the add-on's own MCP endpoint, forwarded to a worker, so the tools
(names, descriptions, schemas, annotations, behaviour) are the add-on's and never drift.

An agent sees its own changes: its calls reach one worker, by the rendezvous routing of
sessions (so any gateway replica agrees without shared state), keyed on
- the MCP session (up to 2025-11-25): `initialize` opens one with a fresh Mcp-Session-Id,
  and every later request that carries it (a notifications/cancelled too) goes to the
  worker that id hashes to;
- else the session handle a tool call carries in its `session` argument (2026-07-28 has
  no Mcp-Session-Id: the agent gets a handle from the open_session tool and passes it to
  every call), routed exactly as `?session=` on /exec, so the exec session of that name
  lives on the same worker;
- else the API key, so a client that sends neither stays on one worker too.
Answers stream through (a progress SSE answer too), and a client that hangs up closes the
worker's connection, which cancels the call there. DELETE ends a session; there is nothing
to clean up, as the add-on's /mcp keeps no state per session."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import secrets
from collections.abc import Awaitable
from typing import Any

from fastapi import APIRouter, Request, Response

from blender_http_addon.protocol import MCP, SESSION_NAME_PATTERN

from ..forwarding.forward import Forward
from .deps import GatewayDep, read_body

SESSION_HEADER = "mcp-session-id"
# How often a tools/call waiting on its worker looks whether its client is still there.
HANG_UP_POLL_S = 0.1
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
    handle = _handle(message)
    key = f"mcp:{session}" if session else handle or _caller_key(request)
    forwarding = gateway.forward(Forward(request, MCP, body=body, session=key))
    calling = isinstance(message, dict) and message.get("method") == "tools/call"
    response = await (_unless_hung_up(request, forwarding) if calling else forwarding)
    if opening and session and response.status_code == 200:
        response.headers["Mcp-Session-Id"] = session
    return response


@router.delete(MCP, summary="End an MCP session", status_code=204)
@router.delete(MCP + "/", include_in_schema=False, status_code=204)
async def end_mcp(request: Request) -> Response:
    """Nothing is kept per MCP session; ending one only tells the client it is over."""
    return Response(status_code=204)


async def _unless_hung_up(request: Request, forwarding: Awaitable[Response]) -> Response:
    """forwarding's response; if the client hangs up first, the forward is dropped, which
    closes the worker's connection: the worker cancels the call (how a 2026-07-28 client
    cancels, since it posts no notifications/cancelled)."""
    task = asyncio.ensure_future(forwarding)
    while not task.done():
        await asyncio.wait({task}, timeout=HANG_UP_POLL_S)
        if not task.done() and await request.is_disconnected():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return Response(status_code=499)  # nobody reads it
    return task.result()


def _handle(message: Any) -> str | None:
    """The session handle a tools/call carries (its `session` argument), if any."""
    if not isinstance(message, dict) or message.get("method") != "tools/call":
        return None
    params = message.get("params")
    arguments = params.get("arguments") if isinstance(params, dict) else None
    handle = arguments.get("session") if isinstance(arguments, dict) else None
    return handle if isinstance(handle, str) and SESSION_NAME_PATTERN.fullmatch(handle) else None


def _caller_key(request: Request) -> str:
    caller = hashlib.sha256(request.headers.get("authorization", "").encode()).hexdigest()
    return f"mcp-caller:{caller}"
