"""Dependencies of the routes: the gateway object comes from the app, so tests can swap it;
the request bodies the routes forward, read within the gateway's limit, and the session they
name (which routes them)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import Depends, Request
from starlette.requests import ClientDisconnect

from blender_http_addon.http.multipart import boundary_of, is_multipart
from blender_http_addon.protocol import JSON, MIB

from ..core import Gateway
from ..errors import GatewayError
from ..forwarding import idempotency
from ..forwarding.forward import Body, Forward
from ..scopes import header


async def get_gateway(request: Request) -> Gateway:
    # async: FastAPI would run a plain function in its thread pool, a thread hop per request.
    gateway: Gateway = request.app.state.gateway
    return gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]

# Bodies the gateway reads whole (exec, jobs, render) stop here; files and imports stream.
MAX_BUFFERED_BODY = 64 * MIB


async def read_body(request: Request, limit: int = MAX_BUFFERED_BODY) -> bytes:
    """The request body, or 413 in the one error shape once it grows past limit."""
    declared = header(request.scope, b"content-length") or ""
    if declared.isdigit() and int(declared) > limit:
        raise _too_big(limit)
    # Straight from the ASGI channel: Starlette's stream() is an async generator, and the
    # body of an exec is one message.
    chunks, size, more = [], 0, True
    while more:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_big(limit)
        chunks.append(chunk)
        more = message.get("more_body", False)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _too_big(limit: int) -> GatewayError:
    return GatewayError(413, f"the body is over the gateway's limit of {limit // MIB} MiB",
                        type="PayloadTooLarge")


# How much of a multipart exec body is read ahead to find the session in its `request` part
# (the client sends that part first); the rest streams through unread.
FORM_PEEK = 64 * 1024


async def exec_body(request: Request) -> tuple[bytes | AsyncIterator[bytes], str | None]:
    """The body of POST /exec or /jobs to forward, and the session it names (None: routing
    reads ?session= instead). A JSON or text body is read whole (under MAX_BUFFERED_BODY);
    a multipart form (binary arguments, up to the worker's own limit) streams through.
    A bad Idempotency-Key is refused first (400): the client need not send the body."""
    idempotency.sent_key(request.scope)
    content_type = header(request.scope, b"content-type")
    if not is_multipart(content_type):
        body = await read_body(request)
        return body, whole_body_session(body, content_type)
    stream = request.stream()
    head = b""
    async for chunk in stream:
        head += chunk
        if len(head) >= FORM_PEEK:
            break

    async def whole() -> AsyncIterator[bytes]:
        yield head
        async for rest in stream:
            yield rest

    return whole(), form_session(head, content_type or "")


def whole_body_session(body: bytes, content_type: str | None) -> str | None:
    """The session an exec body read whole names: a JSON body's, or a form's in its
    `request` part (None: routing reads ?session= instead)."""
    if is_multipart(content_type):
        return form_session(body[:FORM_PEEK], content_type or "")
    return session_in(body, content_type)


def whole_body(forward: Callable[[Request, Body, str | None], Forward]
               ) -> Callable[[Request, bytes], Forward]:
    """A route's forward (request, body, session) for a body read whole before the route
    (the lane's): its session read from the body itself."""
    def whole(request: Request, body: bytes) -> Forward:
        return forward(request, body, whole_body_session(body, header(request.scope, b"content-type")))
    return whole


def form_session(head: bytes, content_type: str) -> str | None:
    """The session in the `request` part of a form's first bytes, if it lies whole there.
    The worker parses the form strictly; this only routes."""
    try:
        boundary = boundary_of(content_type)
    except Exception:  # the worker answers 400 with its own words
        return None
    for part in (b"\r\n" + head).split(b"\r\n--" + boundary)[1:-1]:
        headers, found, data = part.partition(b"\r\n\r\n")
        if found and b'name="request"' in headers:
            return session_in(data, JSON)
    return None


def session_in(body: bytes, content_type: str | None) -> str | None:
    """The `session` of a JSON exec body, read without touching the body that is forwarded."""
    if not content_type or "json" not in content_type or b'"session"' not in body:
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None  # the backend answers 400 with its own words
    session = data.get("session") if isinstance(data, dict) else None
    return session if isinstance(session, str) and session else None
